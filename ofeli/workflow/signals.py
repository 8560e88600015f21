"""Signals other parts listen to (public search index, partner flows).

``offer_changed`` is sent after commit whenever what is published for a formation may have
changed: a change request accepted, a formation or session archived or reactivated, a
partner flow imported. Receivers get ``formation_ids`` (a list)."""

from django.db import transaction
from django.dispatch import Signal

offer_changed = Signal()


def send_offer_changed(formation_ids):
    ids = list(formation_ids)
    if ids:
        transaction.on_commit(lambda: offer_changed.send(sender=None, formation_ids=ids))

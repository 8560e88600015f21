"""When a change is accepted (or anything else named by ``offer_changed``), the sessions
that just appeared in the published offer are recorded with the moment of their
publication (``digest.record_publications``); the nightly sweep catches the rest."""

import logging

from django.dispatch import receiver
from django.utils import timezone

from ofeli.workflow.signals import offer_changed

logger = logging.getLogger(__name__)


@receiver(offer_changed, dispatch_uid="alerts_first_publication")
def on_offer_changed(sender, formation_ids, **kwargs):
    from .digest import record_publications

    try:
        record_publications(timezone.now(), formation_ids=formation_ids)
    except Exception:  # noqa: BLE001 - the decision is made; the nightly sweep records them
        logger.exception("Alertes : premières publications non enregistrées pour %s", list(formation_ids)[:20])

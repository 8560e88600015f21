"""Keep the public index (indexing.py) in step with the published offer.

- ``offer_changed`` (ofeli.workflow.signals), sent after commit whenever what is published
  for some formations may have changed: their rows are rebuilt at once.
- Edits made outside a change request that the index repeats: an organisme's name or state
  (Carif staff, C3), a place's address or geolocation (address book, F6), a certification
  (referentials). The formations concerned are rebuilt after the transaction commits.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ofeli.formations.models import Formation
from ofeli.referentials.models import Certification
from ofeli.structures.models import Lieu, Structure
from ofeli.workflow.signals import offer_changed

from .indexing import rebuild
from .models import PublishedFormation, PublishedSession

STRUCTURE_FIELDS = {"nom", "etat", "etat_id", "raison_sociale"}
LIEU_FIELDS = {"nom", "adresse", "code_postal", "ville", "code_insee", "latitude", "longitude"}


@receiver(offer_changed, dispatch_uid="public_index_offer_changed")
def on_offer_changed(sender, formation_ids, **kwargs):
    rebuild(formation_ids)


def _later(formation_ids_query):
    transaction.on_commit(lambda: rebuild(list(formation_ids_query())))


def _relevant(update_fields, fields):
    return update_fields is None or bool(set(update_fields) & fields)


@receiver(post_save, sender=Structure, dispatch_uid="public_index_structure")
def on_structure_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw or created or not _relevant(update_fields, STRUCTURE_FIELDS):
        return
    _later(lambda: Formation.objects.filter(structure=instance.pk).values_list("pk", flat=True))


@receiver(post_save, sender=Lieu, dispatch_uid="public_index_lieu")
def on_lieu_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw or created or not _relevant(update_fields, LIEU_FIELDS):
        return
    _later(lambda: PublishedSession.objects.filter(lieu=instance.pk).values_list("formation_id", flat=True))


@receiver(post_save, sender=Certification, dispatch_uid="public_index_certification")
def on_certification_saved(sender, instance, created, raw=False, **kwargs):
    if raw or created:
        return
    _later(lambda: PublishedFormation.objects.filter(certification=instance.pk).values_list("pk", flat=True))

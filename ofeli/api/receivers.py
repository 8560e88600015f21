"""Keep the API's read model (offer.py) in step with the published offer: after every
``offer_changed`` and after the edits made outside a change request that its documents
repeat (an organisme's record, a place, a contact, a certification)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ofeli.formations.models import Formation
from ofeli.referentials.models import Certification
from ofeli.structures.models import Contact, Lieu, Structure
from ofeli.workflow.signals import offer_changed

from .offer import sync


@receiver(offer_changed, dispatch_uid="api_offer_changed")
def on_offer_changed(sender, formation_ids, **kwargs):
    sync(formation_ids)


def _later(formations):
    transaction.on_commit(lambda: sync(list(formations.values_list("pk", flat=True).distinct())))


@receiver(post_save, sender=Structure, dispatch_uid="api_structure")
def on_structure_saved(sender, instance, created, raw=False, **kwargs):
    if not (raw or created):
        _later(Formation.objects.filter(structure=instance.pk))


@receiver(post_save, sender=Lieu, dispatch_uid="api_lieu")
def on_lieu_saved(sender, instance, created, raw=False, **kwargs):
    if not (raw or created):
        _later(Formation.objects.filter(live_version__sessions__places__lieu=instance.pk))


@receiver(post_save, sender=Contact, dispatch_uid="api_contact")
def on_contact_saved(sender, instance, created, raw=False, **kwargs):
    if not (raw or created):
        _later(Formation.objects.filter(structure=instance.structure_id))


@receiver(post_save, sender=Certification, dispatch_uid="api_certification")
def on_certification_saved(sender, instance, created, raw=False, **kwargs):
    if not (raw or created):
        _later(Formation.objects.filter(live_version__certification=instance.pk))

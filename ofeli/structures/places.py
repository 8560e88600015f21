"""Places (lieux) derived from a structure's own address (F3, F6).

A place is created only in a structure the user holds rights on (K1): when the session's
organisme formateur is another structure, its place at its own address is used if it has
one, else the place is created in the address book of the structure the session belongs to
(« home »), and the creation is written in that structure's history."""

from django.db.models import F, Q

from ofeli.core.models import next_reference

from .models import Lieu


def _complete_address(structure):
    address = structure.live_version
    if address is not None and address.adresse and address.code_postal and address.ville:
        return address
    return None


def at_address_of(structure_ids):
    """Q of the places of ``structure_ids`` that are at their structure's published address:
    what F6 shows of an organisme formateur's address book (the address is public, its other
    places are not needed to default the session's place to the trainer's address)."""
    return Q(
        structure_id__in=structure_ids,
        adresse=F("structure__live_version__adresse"),
        code_postal=F("structure__live_version__code_postal"),
    ) & ~Q(adresse="")


def trainer_lieu(structure, user=None, *, home=None, any_place=False):
    """The place at ``structure``'s own address: its place there, else one created from its
    published coordonnées in ``home`` (default: ``structure`` itself; the caller passes a
    structure the user holds rights on). With ``any_place``, an existing place of the
    structure is preferred to creating one. None when nothing fits (incomplete address, no
    place)."""
    home = home or structure
    address = _complete_address(structure)
    if address is not None:
        for book in dict.fromkeys((structure, home)):
            existing = (
                book.lieux.filter(adresse=address.adresse, code_postal=address.code_postal).order_by("pk").first()
            )
            if existing is not None:
                return existing
    if address is None or any_place:
        # another structure's places away from its address are not ours to pick
        first = structure.lieux.order_by("pk").first() if home == structure else None
        if first is not None or address is None:
            return first
    lieu = Lieu.objects.create(
        reference=next_reference("L"),
        structure=home,
        nom=structure.nom,
        adresse=address.adresse,
        complement=address.complement,
        code_postal=address.code_postal,
        ville=address.ville,
        code_insee=address.code_insee,
        latitude=address.latitude,
        longitude=address.longitude,
        created_by=user,
    )
    from ofeli.workflow.enums import HistoryAction
    from ofeli.workflow.history import record

    origin = "" if home == structure else f" à l'adresse de {structure.nom}"
    record(HistoryAction.PLACE_CHANGED, user, structure=home, details=f"Lieu {lieu.reference} créé{origin} : {lieu}")
    return lieu

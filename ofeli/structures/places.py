"""Places (lieux) derived from a structure's own address (F3, F6)."""

from ofeli.core.models import next_reference

from .models import Lieu


def trainer_lieu(structure, user=None, *, any_place=False):
    """The place at a structure's own address: its place there, else one created from
    its published coordonnées. With ``any_place``, an existing place of the structure is
    preferred to creating one. None when nothing fits (incomplete address, no place)."""
    address = structure.live_version
    complete = address is not None and address.adresse and address.code_postal and address.ville
    if complete:
        existing = structure.lieux.filter(adresse=address.adresse, code_postal=address.code_postal).first()
        if existing:
            return existing
    if any_place or not complete:
        first = structure.lieux.order_by("pk").first()
        if first or not complete:
            return first
    return Lieu.objects.create(
        reference=next_reference("L"),
        structure=structure,
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

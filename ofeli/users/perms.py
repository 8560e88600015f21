"""Permission checks as plain functions: one place to read who may do what."""

from django.core.exceptions import PermissionDenied


def is_carif(user):
    return user.is_authenticated and user.is_carif


def is_superviseur(user):
    return user.is_authenticated and user.is_superviseur


def can_access_structure(user, structure):
    """OF users reach only the structures they hold rights on; Carif staff reach all."""
    if not user.is_authenticated:
        return False
    if user.is_carif:
        return True
    return structure.memberships.filter(user=user).exists()


def accessible_structures(user):
    """The same rule as a queryset: the structures ``user`` reaches."""
    from ofeli.structures.models import Structure

    if not user.is_authenticated:
        return Structure.objects.none()
    if user.is_carif:
        return Structure.objects.all()
    return Structure.objects.filter(memberships__user=user)


def can_edit_formation(user, formation):
    """OF users edit the formations of their structures, except partner-fed offer (E5)."""
    if not user.is_authenticated:
        return False
    if user.is_carif:
        return True
    if formation.is_partner_fed:
        return False
    return can_access_structure(user, formation.structure)


def require(condition):
    if not condition:
        raise PermissionDenied

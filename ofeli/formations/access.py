"""Loading formations and sessions for a request, with the permission checks (an OF
user reaches only the formations of structures they hold rights on)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from ofeli.users.perms import can_access_structure, can_edit_formation
from ofeli.workflow.services import open_change_request

from .models import Formation, SessionVersion


class FormationContext:
    """What a formation screen needs: the formation, its open change request, the
    version to show (the draft when there is an open request, else the published one)
    and whether the user may edit it now."""

    def __init__(self, request, formation, may_edit):
        self.formation = formation
        self.change = open_change_request(formation=formation)
        self.version = self.change.formation_version if self.change else formation.live_version
        self.may_edit = may_edit
        self.staff_correction = bool(self.change and self.change.is_staff_correction(request.user))
        self.editing = bool(may_edit and self.change and self.change.is_editable_by(request.user))


def get_formation(request, reference):
    formation = get_object_or_404(
        Formation.objects.select_related("structure", "structure__etat", "live_version"), reference=reference
    )
    # Who may edit may see: the rights on the structure are looked up once.
    may_edit = can_edit_formation(request.user, formation)
    if not may_edit and not can_access_structure(request.user, formation.structure):
        raise PermissionDenied
    return FormationContext(request, formation, may_edit)


def get_session_version(ctx, session_reference):
    if ctx.version is None:
        raise PermissionDenied
    return get_object_or_404(
        SessionVersion.objects.select_related("session", "formation_version"),
        formation_version=ctx.version,
        session__reference=session_reference,
    )

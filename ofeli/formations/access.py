"""Loading formations and sessions for a request, with the permission checks (an OF
user reaches only the formations of structures they hold rights on)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from ofeli.users.perms import can_access_structure, can_edit_formation
from ofeli.workflow.enums import EDITABLE_STATUSES, ChangeStatus
from ofeli.workflow.services import open_change_request

from .models import Formation, SessionVersion


class FormationContext:
    """What a formation screen needs: the formation, its open change request, the
    version to show (the draft when there is an open request, else the published one)
    and whether the user may edit it now."""

    def __init__(self, request, formation):
        self.formation = formation
        self.change = open_change_request(formation=formation)
        self.version = self.change.formation_version if self.change else formation.live_version
        self.may_edit = can_edit_formation(request.user, formation)
        # Carif staff may correct a submitted request before accepting it (G2).
        self.staff_correction = bool(
            self.change and request.user.is_carif and self.change.status == ChangeStatus.SUBMITTED
        )
        self.editing = bool(
            self.may_edit and self.change and (self.change.status in EDITABLE_STATUSES or self.staff_correction)
        )


def get_formation(request, reference):
    formation = get_object_or_404(
        Formation.objects.select_related("structure", "structure__etat", "live_version"), reference=reference
    )
    if not can_access_structure(request.user, formation.structure):
        raise PermissionDenied
    return FormationContext(request, formation)


def get_session_version(ctx, session_reference):
    if ctx.version is None:
        raise PermissionDenied
    return get_object_or_404(
        SessionVersion.objects.select_related("session", "formation_version"),
        formation_version=ctx.version,
        session__reference=session_reference,
    )

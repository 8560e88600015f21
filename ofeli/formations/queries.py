"""Queries on formations shared by the dashboard (B3), the search screen (D) and exports."""

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from ofeli.workflow.enums import OPEN_STATUSES, ChangeStatus
from ofeli.workflow.models import ChangeRequest

from .models import Financement, Formation, SessionVersion


def with_open_change(queryset):
    """Annotate ``open_status`` (status of the open change request, or None) and
    ``open_change_id``."""
    open_changes = ChangeRequest.objects.filter(formation=OuterRef("pk"), status__in=OPEN_STATUSES)
    return queryset.annotate(
        open_status=Subquery(open_changes.values("status")[:1]),
        open_change_id=Subquery(open_changes.values("pk")[:1]),
    )


def published_sessions():
    """Session versions that are online: the live version of a non-archived formation of a
    diffused structure, the session itself not archived."""
    return SessionVersion.objects.filter(
        formation_version__live_of__isnull=False,
        formation_version__live_of__archived_at__isnull=True,
        formation_version__live_of__structure__etat__is_diffused=True,
        session__archived_at__isnull=True,
    )


def public_funds_filter():
    return Exists(
        Financement.objects.filter(
            session_version__formation_version=OuterRef("live_version"), dispositif__is_public_funds=True
        )
    )


def dashboard_counters(structure):
    """Counters of B3 for one structure, in one query."""
    qs = with_open_change(Formation.objects.filter(structure=structure)).annotate(public_funds=public_funds_filter())
    published = Q(live_version__isnull=False, archived_at__isnull=True)
    return qs.aggregate(
        en_creation=Count("pk", filter=Q(live_version__isnull=True, open_status=ChangeStatus.DRAFT)),
        brouillons=Count("pk", filter=Q(live_version__isnull=False, open_status=ChangeStatus.DRAFT)),
        diffusees=Count("pk", filter=published),
        fonds_publics=Count("pk", filter=published & Q(public_funds=True)),
        en_attente=Count("pk", filter=Q(open_status=ChangeStatus.SUBMITTED)),
        complement=Count("pk", filter=Q(open_status=ChangeStatus.NEEDS_INFO)),
        non_diffusees=Count("pk", filter=Q(archived_at__isnull=False)),
        erreur_liens=Count("pk", filter=~Q(link_error="")),
    )


STATE_LABELS = {
    "creation": "En cours de création",
    "brouillon": "Brouillon",
    "attente": "En attente de validation",
    "complement": "En attente complément d'information",
    "diffusion": "Diffusion",
    "archive": "Archive",
    "refusee": "Refusée",
}


def formation_state(formation, open_status):
    if formation.archived_at:
        return "archive"
    if open_status == ChangeStatus.SUBMITTED:
        return "attente"
    if open_status == ChangeStatus.NEEDS_INFO:
        return "complement"
    if open_status == ChangeStatus.DRAFT:
        return "brouillon" if formation.live_version_id else "creation"
    if formation.live_version_id:
        return "diffusion"
    return "refusee"

"""The « Formations » search screen of the OF user and the Carif (SPEC D1-D4)."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from ofeli.core.decorators import structure_required
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest

from .models import Formation
from .queries import STATE_LABELS, formation_state, with_open_change

# --- search (D1-D3, essentials; the full search screen is issue « Search and exports ») ---


@structure_required
def search(request):
    structure = request.current_structure
    reference = request.GET.get("reference", "").strip().upper()
    etat = request.GET.get("etat", "")
    formations = with_open_change(
        Formation.objects.filter(structure=structure).select_related("live_version", "structure")
    ).order_by("-created_at")
    if reference:
        formations = formations.filter(Q(reference=reference) | Q(sessions__reference=reference)).distinct()
    state_filters = {
        "creation": Q(live_version__isnull=True, open_status=ChangeStatus.DRAFT),
        "brouillon": Q(live_version__isnull=False, open_status=ChangeStatus.DRAFT),
        "diffusion": Q(live_version__isnull=False, archived_at__isnull=True),
        "attente": Q(open_status=ChangeStatus.SUBMITTED),
        "complement": Q(open_status=ChangeStatus.NEEDS_INFO),
        "archive": Q(archived_at__isnull=False),
        "erreur_liens": ~Q(link_error=""),
    }
    if etat in state_filters:
        formations = formations.filter(state_filters[etat])
    page = Paginator(formations, 25).get_page(request.GET.get("page"))
    rows = []
    drafts = {
        c.formation_id: c.formation_version
        for c in ChangeRequest.objects.filter(
            pk__in=[f.open_change_id for f in page if f.open_change_id]
        ).select_related("formation_version")
    }
    for formation in page:
        version = drafts.get(formation.pk) or formation.live_version
        state = formation_state(formation, formation.open_status)
        rows.append({"formation": formation, "version": version, "state": state, "state_label": STATE_LABELS[state]})
    return render(
        request,
        "formations/search.html",
        {
            "page_obj": page,
            "rows": rows,
            "reference": reference,
            "etat": etat,
            "states": [
                (k, STATE_LABELS[k]) for k in ("creation", "brouillon", "diffusion", "attente", "complement", "archive")
            ],
            "page_title": "Formations",
        },
    )

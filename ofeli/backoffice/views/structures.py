"""Structures seen by the Carif: the list (with the filters that also choose the recipients
of a message), identity and organisation (C3, C5), archiving of formations and sessions
(G4)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ofeli.core.decorators import carif_required
from ofeli.formations.models import Formation, Session
from ofeli.structures.models import Structure
from ofeli.workflow import services as workflow

from .. import queries, services
from ..forms import StructureFilterForm, StructureIdentityForm


@carif_required
def structure_list(request):
    form = StructureFilterForm(request.GET or None)
    rows = queries.structures(form.values())
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/structure_list.html",
        {
            "form": form,
            "page_obj": page,
            "query": request.GET.urlencode(),
            "page_title": "Structures",
        },
    )


@carif_required
def structure_identity(request, reference):
    structure = get_object_or_404(Structure.objects.select_related("type", "etat", "parent"), reference=reference)
    form = StructureIdentityForm(request.POST or None, instance=structure)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {name: data[name] for name in StructureIdentityForm.Meta.fields}
        values["parent"] = data["parent_reference"]
        changes = services.update_structure_identity(
            structure, request.user, values, attach=data["attach"], detach=data["detach"]
        )
        if changes:
            messages.success(
                request, "Identité et organisation enregistrées : la modification est inscrite à l'historique."
            )
        else:
            messages.info(request, "Aucune modification.")
        return redirect("structures:detail", reference)
    if request.method == "POST":
        structure.refresh_from_db()  # the invalid form has set what was typed on the instance
    return render(
        request,
        "backoffice/structure_identity.html",
        {
            "structure": structure,
            "form": form,
            "children": structure.children.select_related("type", "etat").order_by("nom"),
            "page_title": f"Identité et organisation de {structure.nom}",
        },
    )


# --- archiving (G4) -------------------------------------------------------------------------------


def _set_archived(request, obj, noun, set_archived, formation_reference):
    """Archive or reactivate a formation or a session (``noun``), as the button asked."""
    action = request.POST.get("action")
    if action not in ("archive", "reactivate"):
        messages.error(request, "Action inconnue.")
    elif (action == "archive") == obj.is_archived:
        messages.info(request, f"La {noun} est déjà " + ("archivée." if obj.is_archived else "diffusée."))
    else:
        set_archived(obj, request.user, action == "archive")
        if action == "archive":
            messages.success(request, f"{noun.capitalize()} {obj.reference} archivée : elle n'est plus diffusée.")
        else:
            messages.success(request, f"{noun.capitalize()} {obj.reference} réactivée.")
    return redirect(reverse("formations:detail", args=[formation_reference]) + "#carif-actions")


@carif_required
@require_POST
def formation_archive(request, reference):
    formation = get_object_or_404(Formation, reference=reference)
    return _set_archived(request, formation, "formation", workflow.set_formation_archived, formation.reference)


@carif_required
@require_POST
def session_archive(request, reference):
    session = get_object_or_404(Session.objects.select_related("formation"), reference=reference)
    return _set_archived(request, session, "session", workflow.set_session_archived, session.formation.reference)

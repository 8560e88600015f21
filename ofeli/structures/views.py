"""The structure record « Fiche organisme » (SPEC C1-C9)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from ofeli.formations.models import Formation
from ofeli.users.perms import can_access_structure
from ofeli.workflow import services
from ofeli.workflow.enums import EDITABLE_STATUSES

from .forms import CoordonneesForm
from .models import Structure


def _get_structure(request, reference):
    structure = get_object_or_404(
        Structure.objects.select_related(
            "type", "etat", "parent", "live_version", "created_by", "admin_updated_by", "of_updated_by"
        ),
        reference=reference,
    )
    if not can_access_structure(request.user, structure):
        raise PermissionDenied
    return structure


@login_required
def detail(request, reference):
    structure = _get_structure(request, reference)
    change = services.open_change_request(structure=structure)
    editing = bool(change and change.status in EDITABLE_STATUSES)
    version = change.structure_version if change else structure.live_version
    form = CoordonneesForm(instance=version) if editing else None
    problems = []
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "request_change" and not change:
            services.start_structure_change(structure, request.user)
            return redirect("structures:detail", reference)
        if not editing:
            raise PermissionDenied
        if action == "cancel":
            services.cancel(change, request.user)
            messages.success(request, "Votre demande est supprimée : la fiche publiée reste inchangée.")
            return redirect("structures:detail", reference)
        form = CoordonneesForm(request.POST, instance=version)
        if form.is_valid():
            form.save()
            services.save_draft(change, request.user)
            if action == "submit":
                try:
                    services.submit(change, request.user)
                except services.SubmissionBlocked as blocked:
                    problems = blocked.problems
                    messages.error(request, str(blocked))
                else:
                    messages.success(request, "Votre demande de modification est envoyée à l'équipe OFeli.")
                    return redirect("structures:detail", reference)
            else:
                messages.success(request, "Brouillon sauvegardé.")
                return redirect("structures:detail", reference)
    return render(
        request,
        "structures/detail.html",
        {
            "structure": structure,
            "change": change,
            "editing": editing,
            "version": version,
            "form": form,
            "problems": problems,
            "contacts": structure.contacts.all(),
            "children": structure.children.select_related("type", "etat", "live_version"),
            "parents": [structure.parent] if structure.parent else [],
            "formations_responsable": Formation.objects.filter(structure=structure).select_related("live_version")[
                :100
            ],
            "formations_formateur": Formation.objects.filter(live_version__sessions__trainers__structure=structure)
            .exclude(structure=structure)
            .select_related("live_version")
            .distinct()[:100],
            "documents": structure.documents.all(),
            "history": structure.history.select_related("author")[:30],
            "page_title": f"Fiche organisme {structure.reference}",
        },
    )

"""Carif screens of the change requests: the queue (G1, G2) and the review (G2, G3)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from ofeli.core.decorators import carif_required

from . import services
from .compare import compare_formations, compare_structures
from .enums import ChangeKind, ChangeStatus
from .models import ChangeRequest


@carif_required
def queue(request):
    status = request.GET.get("etat", ChangeStatus.SUBMITTED)
    if status not in (ChangeStatus.SUBMITTED, ChangeStatus.NEEDS_INFO, ChangeStatus.DRAFT):
        status = ChangeStatus.SUBMITTED
    kind = request.GET.get("objet", "")
    rows = (
        ChangeRequest.objects.filter(status=status)
        .select_related("structure", "formation", "formation_version", "assigned_to", "created_by")
        .order_by("submitted_at", "created_at")
    )
    if kind in ChangeKind.values:
        rows = rows.filter(kind=kind)
    if request.GET.get("moi"):
        rows = rows.filter(assigned_to=request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "workflow/queue.html",
        {
            "page_obj": page,
            "status": status,
            "kind": kind,
            "page_title": "Demandes à valider",
            "statuses": [
                (s, ChangeStatus(s).label)
                for s in (ChangeStatus.SUBMITTED, ChangeStatus.NEEDS_INFO, ChangeStatus.DRAFT)
            ],
            "kinds": ChangeKind.choices,
        },
    )


@carif_required
def review(request, pk):
    change = get_object_or_404(
        ChangeRequest.objects.select_related(
            "structure",
            "formation",
            "formation_version",
            "structure_version",
            "created_by",
            "assigned_to",
            "decided_by",
        ),
        pk=pk,
    )
    if request.method == "POST":
        action = request.POST.get("action")
        comment = request.POST.get("comment", "").strip()
        try:
            if action == "accept":
                services.accept(change, request.user, comment)
                messages.success(request, "Demande acceptée : la nouvelle version est publiée.")
            elif action == "needs_info":
                services.request_info(change, request.user, comment)
                messages.success(request, "Demande renvoyée au demandeur : en attente complément d'information.")
            elif action == "refuse":
                services.refuse(change, request.user, comment)
                messages.success(request, "Demande refusée.")
            elif action == "assign":
                services.assign(change, request.user)
                messages.success(request, "Demande assignée à vous-même.")
                return redirect("workflow:review", pk=change.pk)
            return redirect("workflow:queue")
        except services.WorkflowError as error:
            messages.error(request, str(error))
    if change.kind == ChangeKind.FORMATION:
        published = (
            change.formation.versions.filter(pk=change.base_version_id).first() if change.base_version_id else None
        )
        fields, sessions = (
            compare_formations(published, change.formation_version) if change.formation_version else ([], [])
        )
    else:
        published = (
            change.structure.versions.filter(pk=change.base_version_id).first() if change.base_version_id else None
        )
        fields, sessions = compare_structures(published, change.structure_version), []
    history = change.formation.history.all() if change.formation else change.structure.history.all()
    return render(
        request,
        "workflow/review.html",
        {
            "change": change,
            "fields": fields,
            "sessions": sessions,
            "is_new": published is None,
            "history": history.select_related("author")[:30],
            "page_title": f"Demande n°{change.pk}",
        },
    )

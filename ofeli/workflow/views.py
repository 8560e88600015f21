"""Carif screens of the change requests: the queue (G1, G2), the review (G2, G3) and the
history of a structure or a formation with its versions (C9, G3)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ofeli.backoffice import queries
from ofeli.backoffice import services as backoffice
from ofeli.backoffice.forms import DecisionForm, QueueFilterForm
from ofeli.core.decorators import carif_required
from ofeli.formations.models import Formation
from ofeli.formations.rules import PLAIN_FIELDS, stale_dates_problems
from ofeli.structures.models import Structure

from . import services
from .compare import (
    compare_formations,
    compare_structures,
    formation_content,
    session_summary,
    structure_content,
)
from .enums import ChangeKind, ChangeStatus
from .models import ChangeRequest, HistoryEntry
from .working_hours import TARGET_HOURS, age_of


@carif_required
def queue(request):
    """« Demandes à valider »: oldest first, each with its age in working hours against the
    48-hour target. A fixed number of queries whatever the number of rows."""
    form = QueueFilterForm(request.GET or None)
    values = form.values()
    now = timezone.now()
    rows = queries.queue(values, request.user, now)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for change in page:
        change.age = age_of(change.submitted_at, now) if change.status == ChangeStatus.SUBMITTED else None
    context = {
        "form": form,
        "page_obj": page,
        "status": values["etat"],
        "status_label": ChangeStatus(values["etat"]).label,
        "order_label": "les plus récentes d'abord" if values["tri"] == "recentes" else "les plus anciennes d'abord",
        "late": queries.late_count(now),
        "target": TARGET_HOURS,
        "next": request.get_full_path(),
        "page_title": "Demandes à valider",
    }
    template = "workflow/_queue_results.html" if request.htmx else "workflow/queue.html"
    return render(request, template, context)


def _back(request, change):
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)  # a path of the site only: « abc » is no view name to reverse (K1)
    return redirect("workflow:review", pk=change.pk)


@carif_required
@require_POST
def assign(request, pk):
    """« M'assigner la demande » (from the queue or the review screen), or give it back."""
    change = get_object_or_404(ChangeRequest.objects.select_related("assigned_to"), pk=pk)
    try:
        if request.POST.get("action") == "release":
            backoffice.release(change, request.user)
            messages.success(request, f"Vous ne suivez plus la demande n°{change.pk}.")
        else:
            backoffice.assign_to_self(change, request.user)
            messages.success(request, f"Demande n°{change.pk} attribuée à vous-même.")
    except (services.WorkflowError, backoffice.BackofficeError) as error:
        messages.error(request, str(error))
    return _back(request, change)


def _published_version(change):
    if not change.base_version_id:
        return None
    if change.kind == ChangeKind.FORMATION:
        return change.formation.versions.filter(pk=change.base_version_id).first()
    return change.structure.versions.filter(pk=change.base_version_id).first()


@carif_required
def review(request, pk):
    change = get_object_or_404(
        ChangeRequest.objects.select_related(
            "structure",
            "structure__live_version",
            "formation",
            "formation_version",
            "structure_version",
            "created_by",
            "assigned_to",
            "decided_by",
        ),
        pk=pk,
    )
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("assign", "release"):
            return assign(request, pk)
        form.is_valid()
        comment = form.cleaned_data.get("comment", "").strip()
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
            else:
                messages.error(request, "Action inconnue.")
                return redirect("workflow:review", pk=change.pk)
            return redirect("workflow:queue")
        except services.WorkflowError as error:
            if action in ("needs_info", "refuse") and not comment:
                form.add_error("comment", str(error))
            else:
                messages.error(request, str(error))
                return redirect("workflow:review", pk=change.pk)
    published = _published_version(change)
    if change.kind == ChangeKind.FORMATION:
        version = change.formation_version
        content = formation_content(version) if version else None
        fields, sessions = compare_formations(published, version, content) if version else ([], [])
        live_id = change.formation.live_version_id
        history = HistoryEntry.objects.filter(Q(formation=change.formation) | Q(change_request=change))
    else:
        version = change.structure_version
        fields, sessions = (compare_structures(published, version) if version else []), []
        content = structure_content(version) if version else None
        live_id = change.structure.live_version_id
        history = HistoryEntry.objects.filter(
            Q(structure=change.structure, formation__isnull=True) | Q(change_request=change)
        )
    return render(
        request,
        "workflow/review.html",
        {
            "change": change,
            "date_alerts": _date_alerts(change, version),
            "form": form,
            "fields": fields,
            "sessions": sessions,
            "summary": session_summary(sessions) if change.kind == ChangeKind.FORMATION else "",
            "content": content,
            "is_new": published is None,
            # The published version moved since the request started (a partner flow, another
            # request): the comparison is against the version the request started from.
            "stale": change.is_open and change.base_version_id and live_id != change.base_version_id,
            "is_live": version is not None and live_id == version.pk,
            "age": age_of(change.submitted_at) if change.status == ChangeStatus.SUBMITTED else None,
            "history": history.select_related("author").order_by("-created_at", "-pk")[:50],
            "page_title": f"Demande n°{change.pk}",
        },
    )


def _date_alerts(change, version):
    """F2, F13: sessions of the request whose registration or recruitment dates are past or
    outside the session (a duplicate that kept last year's dates), shown to the reviewer."""
    if change.kind != ChangeKind.FORMATION or version is None or not change.is_open:
        return []
    sessions = version.sessions.select_related("session").prefetch_related("recruitment_slots")
    return [
        {
            "reference": sv.session.reference,
            "anchor": f"id_s-{field}" if field in PLAIN_FIELDS else field,
            "message": message,
        }
        for sv in sessions
        for field, message in stale_dates_problems(sv)
    ]


@carif_required
def object_history(request, kind, reference):
    """History of a formation or a structure (C9, G3): every change request with its
    decision, every accepted version (each can be opened), every history line."""
    if kind == "formation":
        target = get_object_or_404(Formation.objects.select_related("structure", "live_version"), reference=reference)
        changes = ChangeRequest.objects.filter(formation=target, kind=ChangeKind.FORMATION)
        entries = HistoryEntry.objects.filter(formation=target)
        live_id = target.live_version_id
        title = f"Historique de la formation {target.reference}"
    else:
        target = get_object_or_404(Structure, reference=reference)
        changes = ChangeRequest.objects.filter(structure=target, kind=ChangeKind.STRUCTURE)
        entries = HistoryEntry.objects.filter(structure=target)
        live_id = target.live_version_id
        title = f"Historique de la fiche organisme {target.reference}"
    changes = changes.select_related("created_by", "decided_by", "formation_version").order_by("-created_at", "-pk")
    page = Paginator(entries.select_related("author").order_by("-created_at", "-pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "workflow/history.html",
        {
            "kind": kind,
            "target": target,
            "changes": changes,
            "live_id": live_id,
            "page_obj": page,
            "back": reverse("formations:detail" if kind == "formation" else "structures:detail", args=[reference]),
            "page_title": title,
        },
    )

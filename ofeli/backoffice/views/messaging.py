"""Messagerie on the Carif side (I1): one thread per structure, unread counts on both sides,
attachments, one message to every structure of a list or a filter."""

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from ofeli.core.decorators import carif_required
from ofeli.messaging.forms import MessageForm
from ofeli.messaging.models import Message
from ofeli.structures.models import Structure

from .. import queries, services
from ..forms import StructureFilterForm


@carif_required
def threads(request):
    text = request.GET.get("q", "").strip()
    unread_only = request.GET.get("non_lus") == "1"
    rows = queries.threads(text, unread_only)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    totals = Message.objects.filter(read_at__isnull=True, from_carif=False).count()
    return render(
        request,
        "backoffice/threads.html",
        {
            "page_obj": page,
            "q": text,
            "unread_only": unread_only,
            "unread_total": totals,
            "page_title": "Messagerie",
        },
    )


@carif_required
def thread(request, reference):
    """A structure's thread. Opening it marks the organisation's messages as read."""
    structure = get_object_or_404(Structure, reference=reference)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        services.send_message(
            structure,
            request.user,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            attachment=form.cleaned_data.get("attachment"),
        )
        flash.success(request, f"Message envoyé à {structure.nom}.")
        return redirect("backoffice:thread", reference)
    rows = Message.objects.filter(structure=structure).select_related("author")
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    counts = queries.unread_counts(structure)
    messages_shown = list(page)  # shown as new this time, read from now on
    if request.method == "GET":
        Message.objects.filter(structure=structure, from_carif=False, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    return render(
        request,
        "backoffice/thread.html",
        {
            "structure": structure,
            "page_obj": page,
            "messages_shown": messages_shown,
            "form": form,
            "counts": counts,
            "page_title": f"Messagerie — {structure.nom}",
        },
    )


@carif_required
def broadcast(request):
    """Recipients are chosen with the structure filters (in the query string); the message
    goes to every structure they select."""
    filters = StructureFilterForm(request.GET or None)
    values = filters.values()
    recipients = queries.structures(values) if values else Structure.objects.none()
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = services.broadcast(
                recipients,
                request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except services.BackofficeError as error:
            flash.error(request, str(error))
        else:
            flash.success(request, f"Message envoyé à {count} structure{'s' if count > 1 else ''}.")
            return redirect("backoffice:threads")
    count = recipients.count()
    return render(
        request,
        "backoffice/broadcast.html",
        {
            "filters": filters,
            "form": form,
            "count": count,
            "preview": recipients[:20],
            "has_filter": bool(values),
            "action": reverse("backoffice:broadcast") + ("?" + request.GET.urlencode() if request.GET else ""),
            "page_title": "Écrire à plusieurs structures",
        },
    )

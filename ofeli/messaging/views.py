"""Messagerie (I1) and Mémos (B4)."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ofeli.users.perms import can_access_structure

from .forms import MemoForm, MessageForm
from .models import Memo, Message


@login_required
def inbox(request):
    """The messages of the current structure; staff without a current structure see every
    unread message of the organisations."""
    structure = request.current_structure
    if structure is None and not request.user.is_carif:
        return redirect("choose_structure")
    if structure is None:
        rows = Message.objects.filter(from_carif=False).select_related("structure", "author")
        form = None
    else:
        rows = Message.objects.filter(structure=structure).select_related("author")
        form = MessageForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            message = form.save(commit=False)
            message.structure = structure
            message.author = request.user
            message.from_carif = request.user.is_carif
            message.save()
            flash.success(request, "Message envoyé.")
            return redirect("messaging:inbox")
        # Opening the thread marks the other side's messages as read.
        rows.filter(from_carif=not request.user.is_carif, read_at__isnull=True).update(read_at=timezone.now())
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    return render(request, "messaging/inbox.html", {"page_obj": page, "form": form, "page_title": "Messagerie"})


@login_required
def attachment(request, pk):
    message = get_object_or_404(Message, pk=pk)
    if not can_access_structure(request.user, message.structure) or not message.attachment:
        raise Http404
    return FileResponse(
        message.attachment.open("rb"), as_attachment=True, filename=message.attachment.name.rsplit("/", 1)[-1]
    )


@login_required
def memos(request):
    form = MemoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        memo = form.save(commit=False)
        memo.user = request.user
        memo.save()
        flash.success(request, "Mémo ajouté.")
        return redirect("messaging:memos")
    return render(
        request,
        "messaging/memos.html",
        {
            "form": form,
            "memos": request.user.memos.all(),
            "page_title": "Mémos",
        },
    )


@login_required
@require_POST
def memo_action(request, pk):
    memo = get_object_or_404(Memo, pk=pk)
    if memo.user_id != request.user.pk:
        raise PermissionDenied
    if request.POST.get("action") == "delete":
        memo.delete()
    else:
        memo.done = not memo.done
        memo.save(update_fields=["done", "updated_at"])
    return redirect("messaging:memos")

"""Messagerie (I1) and Mémos (B4)."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ofeli.core.private_files import open_private, private_file_response
from ofeli.users.middleware import set_current_structure
from ofeli.users.perms import accessible_structures, can_access_structure

from .forms import MemoForm, MessageForm
from .models import Memo, Message


@login_required
def inbox(request):
    """The messages of the current structure, in both directions (I1). Opening the page
    marks the Carif's messages as read. Carif staff have their own screen: every thread,
    with unread counts on both sides (each structure's thread is one click away)."""
    if request.user.is_carif:
        return redirect("backoffice:threads")
    wanted = request.GET.get("structure", "")
    if wanted and (request.current_structure is None or request.current_structure.reference != wanted):
        # the link of a mail names its structure's thread: switch to it if the user may
        chosen = accessible_structures(request.user).filter(reference=wanted).first()
        if chosen is not None:
            set_current_structure(request, chosen)
    structure = request.current_structure
    if structure is None:
        return redirect("choose_structure")
    rows = Message.objects.filter(structure=structure).select_related("author")
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        message = form.save(commit=False)
        message.structure = structure
        message.author = request.user
        message.from_carif = False
        message.save()
        flash.success(request, "Message envoyé à l'équipe OFeli.")
        return redirect("messaging:inbox")
    unread = rows.filter(from_carif=True, read_at__isnull=True).count()
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    page_messages = list(page)  # shown as unread this time, read from now on
    rows.filter(from_carif=True, read_at__isnull=True).update(read_at=timezone.now())
    return render(
        request,
        "messaging/inbox.html",
        {"page_obj": page, "messages_shown": page_messages, "form": form, "unread": unread, "page_title": "Messagerie"},
    )


@login_required
def attachment(request, pk):
    message = get_object_or_404(Message, pk=pk)
    if not can_access_structure(request.user, message.structure) or not message.attachment:
        raise Http404
    # The name the file was sent with (accents included, RFC 5987 ``filename*``), not the
    # safe name it is stored under.
    return private_file_response(open_private(message.attachment), message.attachment_filename)


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

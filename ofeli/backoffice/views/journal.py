"""The journal of staff actions: every HistoryEntry written by a member of the Carif or by an
import, newest first, with filters."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from ofeli.core.decorators import carif_required
from ofeli.users.enums import Role
from ofeli.workflow.models import HistoryEntry

from ..forms import JournalFilterForm


@carif_required
def journal(request):
    form = JournalFilterForm(request.GET or None)
    rows = HistoryEntry.objects.filter(
        Q(author__role__in=[Role.GESTIONNAIRE, Role.SUPERVISEUR]) | Q(author__isnull=True)
    ).select_related("author", "structure", "formation", "change_request")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            rows = rows.filter(action=data["action"])
        if data["auteur"]:
            rows = rows.filter(author_id=data["auteur"])
        if data["q"].strip():
            text = data["q"].strip()
            rows = rows.filter(Q(details__icontains=text) | Q(comment__icontains=text))
    page = Paginator(rows.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/journal.html",
        {"form": form, "page_obj": page, "page_title": "Journal des actions du Carif"},
    )

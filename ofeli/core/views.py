from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ofeli.core.params import as_id
from ofeli.formations.queries import dashboard_counters
from ofeli.mails.outbox import unsent as unsent_mails
from ofeli.messaging.models import Message
from ofeli.quality.checks import late_requests
from ofeli.quality.watch import open_flags
from ofeli.structures.models import Structure
from ofeli.users.enums import AccountRequestStatus
from ofeli.users.middleware import set_current_structure
from ofeli.users.models import AccountRequest
from ofeli.users.perms import accessible_structures, can_access_structure, require
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest


@login_required
def dashboard(request):
    """« Tableau de bord » (B3): counters of the current structure; staff also see their queues."""
    context = {"page_title": "Tableau de bord"}
    structure = request.current_structure
    if request.user.is_carif:
        context["carif"] = ChangeRequest.objects.aggregate(
            a_valider=Count("pk", filter=Q(status=ChangeStatus.SUBMITTED)),
            complement=Count("pk", filter=Q(status=ChangeStatus.NEEDS_INFO)),
        )
        context["carif"]["comptes"] = AccountRequest.objects.filter(status=AccountRequestStatus.PENDING).count()
        context["carif"]["messages"] = Message.objects.filter(from_carif=False, read_at__isnull=True).count()
        context["carif"]["hors_delai"] = late_requests().count()
        context["carif"]["certifications"] = open_flags().count()
        context["carif"]["mails"] = unsent_mails().count()  # R4
    elif structure is None:
        return redirect("choose_structure")
    if structure is not None:
        context["counters"] = dashboard_counters(structure)
        context["contacts"] = structure.contacts.aggregate(
            total=Count("pk", distinct=True),
            with_rights=Count("pk", filter=Q(user__memberships__structure=structure), distinct=True),
        )
        context["unread"] = Message.objects.filter(structure=structure, from_carif=True, read_at__isnull=True).count()
        context["memos"] = request.user.memos.filter(done=False)[:5]
        context["certifications_to_check"] = open_flags(structure).count()  # Q1
    return render(request, "core/dashboard.html", context)


@login_required
def choose_structure(request):
    """« Espace structure » (B2)."""
    structures = accessible_structures(request.user).select_related("live_version", "type", "etat")
    query = ""
    if request.user.is_carif:
        query = request.GET.get("q", "").strip()
        if query:
            structures = structures.filter(Q(nom__icontains=query) | Q(reference__iexact=query) | Q(siret=query))
        structures = structures[:50]
    return render(
        request,
        "core/choose_structure.html",
        {
            "structures": structures,
            "q": query,
            "page_title": "Espace structure",
        },
    )


@login_required
@require_POST
def set_structure(request):
    structure = get_object_or_404(Structure, pk=as_id(request.POST.get("structure")))  # K1: no 500
    require(can_access_structure(request.user, structure))
    set_current_structure(request, structure)
    return redirect("dashboard")


def page(request, template, title):
    return render(request, template, {"page_title": title})


def error_404(request, exception=None):
    return render(request, "404.html", {"page_title": "Page non trouvée"}, status=404)


def error_403(request, exception=None):
    return render(request, "403.html", {"page_title": "Accès refusé"}, status=403)


def error_400(request, exception=None):
    return render(request, "400.html", {"page_title": "Requête incorrecte"}, status=400)


def error_500(request):
    return render(request, "500.html", {"page_title": "Erreur du serveur"}, status=500)


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", {"page_title": "Session expirée"}, status=403)

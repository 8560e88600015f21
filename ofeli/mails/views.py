"""« Mails non envoyés » (R4): the staff list of mails that failed or wait too long, with
« Renvoyer ». Bodies are never shown (account mails carry secrets and are not even stored)."""

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ofeli.core.decorators import carif_required

from . import outbox
from .models import OutgoingMail


@carif_required
def unsent(request):
    rows = outbox.unsent().select_related("structure").defer("body")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "mails/unsent.html", {"page_obj": page, "page_title": "Mails non envoyés"})


@carif_required
@require_POST
def resend_all(request):
    count = outbox.resend_all(request.user)
    if count:
        flash.success(request, f"{count} mail{'s' if count > 1 else ''} remis en file d'envoi.")
    else:
        flash.info(request, "Aucun mail abandonné à renvoyer.")
    return redirect("mails:unsent")


@carif_required
@require_POST
def resend(request, pk):
    mail = get_object_or_404(OutgoingMail.objects.defer("body"), pk=pk)
    if outbox.resend(mail, request.user):
        mail.refresh_from_db(fields=["status"])
        if mail.status == "sent":
            flash.success(request, f"Mail envoyé à {mail.to}.")
        else:
            flash.success(request, f"Mail remis en file d'envoi pour {mail.to}.")
    else:
        flash.info(request, f"Ce mail a déjà été envoyé à {mail.to}.")
    return redirect("mails:unsent")

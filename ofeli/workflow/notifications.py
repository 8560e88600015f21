"""Each Carif decision reaches the OF user in the messagerie and by e-mail (G3)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from ofeli.messaging.models import Message

from .enums import ChangeKind, ChangeStatus

SUBJECTS = {
    ChangeStatus.ACCEPTED: "Votre demande a été acceptée",
    ChangeStatus.NEEDS_INFO: "Votre demande est en attente de complément d'information",
    ChangeStatus.REFUSED: "Votre demande a été refusée",
}


def describe(change):
    if change.kind == ChangeKind.FORMATION:
        version = change.formation_version
        title = version.intitule if version else ""
        return f"la formation {change.formation.reference} « {title} »"
    return f"la fiche organisme {change.structure.reference} « {change.structure.nom} »"


def decision(change):
    subject = f"{SUBJECTS[change.status]} : {describe(change)}"
    context = {"change": change, "object": describe(change), "site_url": settings.SITE_URL}
    body = render_to_string("workflow/mail_decision.txt", context)
    Message.objects.create(
        structure=change.structure, author=change.decided_by, from_carif=True, subject=subject[:200], body=body
    )
    recipient = change.created_by.email if change.created_by else None
    if recipient:
        transaction.on_commit(lambda: send_mail(subject, body, None, [recipient], fail_silently=True))

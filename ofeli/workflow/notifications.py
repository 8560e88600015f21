"""Each Carif decision reaches the OF user in the messagerie and by e-mail (G3). The mail is
recorded with the decision and sent in the background after the commit (R4,
``ofeli.mails.outbox``): a mail server that is down never undoes nor hides a decision."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from ofeli.mails import outbox
from ofeli.mails.models import MailKind
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


def object_path(change):
    """The page of the object the request is about (the formation, or the structure record)."""
    if change.kind == ChangeKind.FORMATION:
        return reverse("formations:detail", args=[change.formation.reference])
    return reverse("structures:detail", args=[change.structure.reference])


def decision(change):
    subject = f"{SUBJECTS[change.status]} : {describe(change)}"
    path = object_path(change)
    context = {
        "change": change,
        "object": describe(change),
        "site_url": settings.SITE_URL,
        "url": outbox.absolute(path),
    }
    body = render_to_string("workflow/mail_decision.txt", context)
    Message.objects.create(
        structure=change.structure, author=change.decided_by, from_carif=True, subject=subject[:200], body=body
    )
    recipient = change.created_by.email if change.created_by else None
    if recipient:
        outbox.queue(
            recipient,
            subject,
            body,
            kind=MailKind.DECISION,
            user=change.created_by,
            structure=change.structure,
            url=path,
            object_label=f"Demande n°{change.pk} — {describe(change)}",
        )

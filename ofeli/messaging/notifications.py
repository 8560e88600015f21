"""A message of the Carif in a structure's messagerie also reaches the structure's users by
e-mail (I1, R4), like a decision does: one mail per user with rights on the structure, with a
link to the structure's thread. Recorded in the caller's transaction, sent in the background."""

from django.template.loader import render_to_string
from django.urls import reverse

from ofeli.mails import outbox
from ofeli.mails.models import MailKind, OutgoingMail
from ofeli.structures.models import Structure
from ofeli.users.models import Membership


def thread_path(structure_reference):
    return f"{reverse('messaging:inbox')}?structure={structure_reference}"


def carif_messages(messages):
    """Queue the mails of saved Carif ``messages`` (one per structure). Three queries whatever
    the number of structures and users."""
    by_structure = {message.structure_id: message for message in messages}
    if not by_structure:
        return []
    structures = {
        row["pk"]: row for row in Structure.objects.filter(pk__in=by_structure).values("pk", "reference", "nom")
    }
    members = (
        Membership.objects.filter(structure_id__in=by_structure, user__is_active=True)
        .exclude(user__email="")
        .values_list("structure_id", "user_id", "user__email")
        .order_by("structure_id", "user_id")
    )
    mails, bodies = [], {}
    for structure_id, user_id, email in members:
        message, structure = by_structure[structure_id], structures[structure_id]
        path = thread_path(structure["reference"])
        if structure_id not in bodies:
            bodies[structure_id] = render_to_string(
                "messaging/mail_message.txt",
                {"message": message, "structure": structure, "url": outbox.absolute(path)},
            )
        mails.append(
            OutgoingMail(
                kind=MailKind.MESSAGE,
                to=email,
                subject=f"Message de l'équipe OFeli : {message.subject}"[:255],
                body=bodies[structure_id],
                user_id=user_id,
                structure_id=structure_id,
                url=path,
                object_label=f"Messagerie de {structure['reference']} {structure['nom']}"[:200],
            )
        )
    return outbox.queue_many(mails)

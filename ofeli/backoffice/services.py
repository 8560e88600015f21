"""Staff actions of the back office. Like ``ofeli.workflow.services``, every change a staff
screen makes goes through a function here, which checks the role, writes the change and
logs it as a ``HistoryEntry`` (who, when, what).

Where an entry goes:
- on a structure / formation (``structure`` / ``formation`` set): it shows in that object's
  history, which the OF user sees too (C9) — identity changes, archiving;
- on a change request only: internal to the Carif, shown on the review screen
  (assignment, « Attribution »);
- on nothing: the back-office journal (referentials, users and roles, messages sent to one
  or several structures, account refusals, imports).
"""

import uuid

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ofeli.formations.models import Formation
from ofeli.messaging import notifications
from ofeli.messaging.models import Message, original_name, safe_file_name
from ofeli.structures.models import Structure
from ofeli.users import services as user_services
from ofeli.users.enums import Role
from ofeli.users.models import Membership, User
from ofeli.users.perms import is_carif, is_superviseur
from ofeli.workflow import services as workflow
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record
from ofeli.workflow.models import ChangeRequest
from ofeli.workflow.signals import send_offer_changed


class BackofficeError(Exception):
    """A staff action that is not allowed; the message is French."""


def require_carif(user):
    if not is_carif(user):
        raise BackofficeError("Seule l'équipe du Carif peut faire cette action.")


def require_superviseur(user):
    if not is_superviseur(user):
        raise BackofficeError("Seul un superviseur du Carif peut faire cette action.")


def log(staff, details, *, action=HistoryAction.STAFF_EDIT, structure=None, formation=None, change_request=None):
    return record(
        action, staff, structure=structure, formation=formation, change_request=change_request, details=details[:5000]
    )


def _shown(value):
    if value is None or value == "":
        return "(vide)"
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    return str(value)


# --- validation queue ----------------------------------------------------------------------


@transaction.atomic
def assign_to_self(change, staff):
    """« M'assigner la demande »: the request is the staff member's (an internal entry,
    « Attribution », never « Modification par le Carif »: nothing of the request changed)."""
    require_carif(staff)
    previous = change.assigned_to
    workflow.assign(change, staff)
    details = f"Demande attribuée à {staff}"
    if previous is not None and previous.pk != staff.pk:
        details += f" (auparavant {previous})"
    log(staff, details, action=HistoryAction.ASSIGNED, change_request=change)


@transaction.atomic
def release(change, staff):
    """« Ne plus suivre cette demande »: only the staff member it is assigned to."""
    require_carif(staff)
    if not ChangeRequest.objects.filter(pk=change.pk, assigned_to=staff).update(assigned_to=None):
        raise BackofficeError("Cette demande ne vous est pas attribuée.")
    change.assigned_to = None
    log(staff, "Attribution retirée", action=HistoryAction.ASSIGNED, change_request=change)


# --- structures: identity and organisation (C3, C5) ------------------------------------------------

IDENTITY_LABELS = {
    "siret": "SIRET",
    "nda": "NDA",
    "uai": "UAI",
    "raison_sociale": "Raison sociale",
    "nom": "Nom",
    "type": "Type",
    "etat": "État",
    "reseau": "Réseau",
    "parent": "Structure parente",
}


@transaction.atomic
def update_structure_identity(structure, staff, values, *, attach=(), detach=()):
    """Write the identity fields (``values``: name -> new value, ``parent`` included), attach
    and detach child structures. Returns the list of changes (French), logged in the
    history of the structure and of every child that moved."""
    require_carif(staff)
    structure = Structure.objects.select_for_update().get(pk=structure.pk)
    changes = []
    for name, new in values.items():
        old = getattr(structure, name)
        if (old.pk if hasattr(old, "pk") else old) != (new.pk if hasattr(new, "pk") else new):
            changes.append(f"{IDENTITY_LABELS[name]} : {_shown(old)} → {_shown(new)}")
            setattr(structure, name, new)
    if changes:
        structure.save()
    for child in attach:
        if child.parent_id == structure.pk:
            continue
        previous = child.parent
        Structure.objects.filter(pk=child.pk).update(parent=structure)
        note = f"Rattachée à la structure parente {structure}" + (f" (auparavant {previous})" if previous else "")
        log(staff, f"Organisation : {note}", structure=child)
        changes.append(f"Structure rattachée : {child}")
    for child in detach:
        if child.parent_id != structure.pk:
            continue
        Structure.objects.filter(pk=child.pk).update(parent=None)
        log(staff, f"Organisation : détachée de la structure parente {structure}", structure=child)
        changes.append(f"Structure détachée : {child}")
    if changes:
        Structure.objects.filter(pk=structure.pk).update(admin_updated_at=timezone.now(), admin_updated_by=staff)
        log(staff, "Identité et organisation — " + " ; ".join(changes), structure=structure)
        # Name, identifiers and state of the organisme are published with its offer.
        send_offer_changed(Formation.objects.filter(structure=structure).values_list("pk", flat=True))
    return changes


# --- messagerie (I1) ---------------------------------------------------------------------------------


@transaction.atomic
def send_message(structure, staff, *, subject, body, attachment=None):
    """A message of the Carif in a structure's thread."""
    require_carif(staff)
    message = Message.objects.create(
        structure=structure,
        author=staff,
        from_carif=True,
        subject=subject,
        body=body,
        attachment=attachment or "",
        attachment_name=original_name(attachment.name) if attachment else "",
    )
    log(staff, f"Message « {subject} » envoyé à {structure}" + (" (avec pièce jointe)" if attachment else ""))
    notifications.carif_messages([message])  # and by e-mail to the structure's users (R4)
    return message


@transaction.atomic
def broadcast(structures, staff, *, subject, body, attachment=None):
    """The same message to every structure of ``structures`` (a queryset): one message per
    thread, the attachment stored once under a safe name; each message keeps the file's
    original name for the download. Returns the number of structures."""
    require_carif(staff)
    ids = list(structures.order_by().values_list("pk", flat=True).distinct())
    if not ids:
        raise BackofficeError("Aucune structure ne correspond à cette sélection : aucun message n'a été envoyé.")
    name = shown = ""
    if attachment:
        shown = original_name(attachment.name)
        name = default_storage.save(
            f"messages/diffusion/{uuid.uuid4().hex}/{safe_file_name(attachment.name)}",
            attachment,
            max_length=Message._meta.get_field("attachment").max_length,
        )
    sent = Message.objects.bulk_create(
        [
            Message(
                structure_id=pk,
                author=staff,
                from_carif=True,
                subject=subject,
                body=body,
                attachment=name,
                attachment_name=shown,
            )
            for pk in ids
        ],
        batch_size=500,
    )
    notifications.carif_messages(sent)  # and by e-mail to each structure's users (R4)
    log(staff, f"Message « {subject} » envoyé à {len(ids)} structure{'s' if len(ids) > 1 else ''}")
    return len(ids)


# --- account requests (A3) ---------------------------------------------------------------------------


def refuse_account_request(account_request, staff, reason):
    """Refusal with its reason (mailed by ``ofeli.users.services``), written in the journal."""
    require_carif(staff)
    with transaction.atomic():
        user_services.refuse_account_request(account_request, staff, reason)
        log(
            staff,
            f"Demande de compte refusée : {account_request.email} (SIRET {account_request.siret}). Motif : {reason}",
            action=HistoryAction.ACCOUNT,
        )
    return account_request


# --- referentials (superviseur) -----------------------------------------------------------------------


@transaction.atomic
def save_referential(form, staff, title):
    """Save a referential row from its (valid) ModelForm and log what changed."""
    require_superviseur(staff)
    created = form.instance.pk is None
    before = {name: form.initial.get(name) for name in form.changed_data}
    instance = form.save()
    if created:
        details = f"Référentiel « {title} » : création de {instance}"
    else:
        parts = []
        for name in form.changed_data:
            label = form.fields[name].label
            parts.append(
                f"{label} : {_shown(_value_label(form, name, before[name]))} → {_shown(form.cleaned_data[name])}"
            )
        details = f"Référentiel « {title} » : modification de {instance}" + (" — " + " ; ".join(parts) if parts else "")
    log(staff, details)
    return instance


def _value_label(form, name, value):
    field = form.fields[name]
    if hasattr(field, "queryset") and value not in (None, ""):
        return field.queryset.filter(pk=value).first() or value
    if getattr(field, "choices", None) and not hasattr(field, "queryset"):
        return dict(field.choices).get(value, value)
    return value


# --- users and roles (superviseur) ----------------------------------------------------------------------


@transaction.atomic
def create_user(staff, *, email, first_name, last_name, phone="", role=Role.OF):
    """A new account; the activation key is mailed (A4)."""
    require_superviseur(staff)
    user = User.objects.create_user(email, first_name=first_name, last_name=last_name, phone=phone, role=role)
    log(staff, f"Compte créé : {user.email} ({user.get_role_display()}) ; clé d'activation envoyée")
    user_services.send_activation_mail(user)  # recorded now, sent after the commit (R4)
    return user


@transaction.atomic
def update_user(staff, user, form, *, add_structures=(), remove_structures=()):
    """Role, state and rights on structures of an account (from a valid UserEditForm)."""
    require_superviseur(staff)
    changes = []
    for name in form.changed_data:
        if name in ("add_structures", "remove_memberships"):
            continue
        old = form.initial.get(name)
        new = form.cleaned_data[name]
        if name == "role":
            old, new = Role(old).label, Role(new).label
        changes.append(f"{form.fields[name].label} : {_shown(old)} → {_shown(new)}")
    form.save()
    for structure in add_structures:
        _, created = Membership.objects.get_or_create(user=user, structure=structure)
        if created:
            changes.append(f"droits de saisie donnés sur {structure}")
            log(staff, f"Droits de saisie donnés à {user.email}", structure=structure)
    for structure in remove_structures:
        if Membership.objects.filter(user=user, structure=structure).delete()[0]:
            changes.append(f"droits de saisie retirés sur {structure}")
            log(staff, f"Droits de saisie retirés à {user.email}", structure=structure)
    if changes:
        log(staff, f"Compte {user.email} — " + " ; ".join(changes))
    return changes

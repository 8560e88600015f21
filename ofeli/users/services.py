"""Processing of account requests by the Carif (A3) and activation mails (A4)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ofeli.core.identifiers import nda_is_in_region
from ofeli.core.models import next_reference
from ofeli.mails import outbox
from ofeli.mails.models import MailKind
from ofeli.referentials.models import StructureState, StructureType
from ofeli.structures.models import Contact, Structure, StructureVersion
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record

from .enums import AccountRequestStatus, Role
from .models import AccountRequest, Membership, User


class AccountRequestError(Exception):
    pass


def activation_url(user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("users:activate", args=[uid, token])


def activation_body(user):
    """The activation mail, with a fresh key: rendered when the mail is sent, never stored."""
    return render_to_string("users/mail_activation.txt", {"user": user, "url": activation_url(user)})


def password_reset_body(user):
    """The « Mot de passe oublié » mail, with a fresh link: rendered when sent, never stored."""
    context = {
        "user": user,
        "email": user.email,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "site_url": settings.SITE_URL,
    }
    return render_to_string("users/mail_password_reset.txt", context)


def send_activation_mail(user):
    """Record the activation mail (sent in the background after the commit, R4)."""
    outbox.queue(
        user.email,
        "Activez votre compte OFeli",
        kind=MailKind.ACTIVATION,
        user=user,
        object_label=f"Compte {user.email}",
    )


def send_password_reset_mail(user, subject):
    outbox.queue(user.email, subject, kind=MailKind.PASSWORD_RESET, user=user, object_label=f"Compte {user.email}")


@transaction.atomic
def accept_account_request(account_request, staff, *, raison_sociale="", nom=""):
    updated = AccountRequest.objects.filter(pk=account_request.pk, status=AccountRequestStatus.PENDING).update(
        status=AccountRequestStatus.ACCEPTED, processed_by=staff, processed_at=timezone.now()
    )
    if not updated:
        raise AccountRequestError("Cette demande de compte a déjà été traitée.")
    structure = Structure.objects.filter(siret=account_request.siret).first()
    created_structure = structure is None
    if created_structure:
        in_region = nda_is_in_region(account_request.nda)
        structure = Structure.objects.create(
            reference=next_reference("P"),
            siret=account_request.siret,
            nda=account_request.nda,
            raison_sociale=raison_sociale,
            nom=nom or raison_sociale,
            type=StructureType.objects.filter(code="F1610" if in_region else "F1620").first(),
            etat=StructureState.objects.filter(is_diffused=True).order_by("code").first(),
            created_by=staff,
        )
        version = StructureVersion.objects.create(
            structure=structure, telephone=account_request.phone, email=account_request.email, created_by=staff
        )
        Structure.objects.filter(pk=structure.pk).update(live_version=version)
    user = User.objects.filter(email=account_request.email).first()
    if user is None:
        user = User.objects.create_user(
            account_request.email,
            first_name=account_request.first_name,
            last_name=account_request.last_name,
            phone=account_request.phone,
            role=Role.OF,
        )
    Membership.objects.get_or_create(user=user, structure=structure)
    if not structure.contacts.filter(user=user).exists():
        Contact.objects.create(
            reference=next_reference("C"),
            structure=structure,
            nom=account_request.last_name,
            prenom=account_request.first_name,
            email=account_request.email,
            telephone=account_request.phone,
            user=user,
        )
    AccountRequest.objects.filter(pk=account_request.pk).update(structure=structure, user=user)
    record(
        HistoryAction.ACCOUNT,
        staff,
        structure=structure,
        details=f"Compte accepté pour {user.email}" + (" (structure créée)" if created_structure else ""),
    )
    send_activation_mail(user)  # recorded now, sent after the commit
    account_request.refresh_from_db()
    return account_request


@transaction.atomic
def refuse_account_request(account_request, staff, reason):
    if not reason.strip():
        raise AccountRequestError("Indiquez le motif du refus.")
    updated = AccountRequest.objects.filter(pk=account_request.pk, status=AccountRequestStatus.PENDING).update(
        status=AccountRequestStatus.REFUSED, processed_by=staff, processed_at=timezone.now(), refusal_reason=reason
    )
    if not updated:
        raise AccountRequestError("Cette demande de compte a déjà été traitée.")
    account_request.refresh_from_db()
    body = render_to_string("users/mail_refusal.txt", {"request": account_request})
    outbox.queue(
        account_request.email,
        "Votre demande de compte OFeli",
        body,
        kind=MailKind.ACCOUNT_REFUSAL,
        url=reverse("users:account_request_detail", args=[account_request.pk]),
        object_label=f"Demande de compte n°{account_request.pk} (SIRET {account_request.siret})",
    )
    return account_request


def request_account(form):
    """Save a valid « Créer mon compte » form (A2), answering the same in every case (K1):
    an e-mail that already has an account gets a mail telling its owner, with the link to
    « Mot de passe oublié », and no request; a request already waiting for the same SIRET
    and e-mail is not saved twice."""
    email, siret = form.cleaned_data["email"], form.cleaned_data["siret"]
    owner = User.objects.filter(email__iexact=email).first()
    if owner is not None:
        send_account_exists_mail(owner)
        return None
    if AccountRequest.objects.filter(siret=siret, email=email, status=AccountRequestStatus.PENDING).exists():
        return None
    return form.save()


def send_account_exists_mail(user):
    from ofeli.mails import outbox
    from ofeli.mails.models import MailKind

    body = render_to_string(
        "users/mail_account_exists.txt",
        {"user": user, "reset_url": settings.SITE_URL + reverse("users:password_reset")},
    )
    outbox.queue(
        user.email,
        "Votre compte OFeli existe déjà",
        body,
        kind=MailKind.OTHER,
        user=user,
        object_label=f"Compte {user.email}",
    )

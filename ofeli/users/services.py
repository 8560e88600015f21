"""Processing of account requests by the Carif (A3) and activation mails (A4)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ofeli.core.identifiers import nda_is_in_region
from ofeli.core.models import next_reference
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


def send_activation_mail(user):
    body = render_to_string("users/mail_activation.txt", {"user": user, "url": activation_url(user)})
    send_mail("Activez votre compte OFeli", body, None, [user.email])


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
    transaction.on_commit(lambda: send_activation_mail(user))
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
    transaction.on_commit(lambda: send_mail("Votre demande de compte OFeli", body, None, [account_request.email]))
    return account_request

"""R4: every mail is recorded, sent in the background after the commit, retried with backoff,
visible to staff when it fails (« Mails non envoyés », « Renvoyer »); a mail server that is
down never turns a saved decision into an error page. I1 (issue 10): a message of the Carif
also reaches the structure's users by e-mail, with a link to the structure's thread."""

import datetime
import logging
import os
import re
import socket

import pytest
from django.urls import reverse
from django.utils import timezone

from ofeli.backoffice import services as backoffice
from ofeli.mails import outbox
from ofeli.mails.models import MailKind, MailStatus, OutgoingMail
from ofeli.structures.models import Structure
from ofeli.users import services as user_services
from ofeli.users.models import AccountRequest, User
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import HistoryEntry
from tests.factories import MembershipFactory, StaffFactory, StructureFactory, UserFactory, draft_formation

pytestmark = pytest.mark.django_db


def closed_port():
    """A local TCP port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2
    return settings


def submitted_change():
    change = draft_formation()
    services.submit(change, change.created_by)
    return change


def retry_when_due():
    """Jump to the time of the next attempts (the worker re-checks it when it claims a mail)."""
    OutgoingMail.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    return outbox.retry_due()


def test_r4_decision_mail_is_recorded_then_sent_after_the_commit_with_a_link_to_the_formation(
    django_capture_on_commit_callbacks, mailoutbox
):
    change = submitted_change()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.accept(change, StaffFactory(), "Merci.")
        mail = OutgoingMail.objects.get(kind=MailKind.DECISION)
        assert mail.status == MailStatus.PENDING and not mailoutbox  # nothing sent inside the transaction
    for callback in callbacks:
        callback()
    mail.refresh_from_db()
    assert mail.status == MailStatus.SENT and mail.attempts == 1 and mail.sent_at
    assert mail.to == change.created_by.email and mail.structure == change.structure
    (sent,) = mailoutbox
    formation_url = "http://127.0.0.1:8000" + reverse("formations:detail", args=[change.formation.reference])
    assert mail.url == reverse("formations:detail", args=[change.formation.reference])
    assert formation_url + "\n" in sent.body  # the exact formation, not the site root
    assert sent.subject == mail.subject and "acceptée" in sent.subject


def test_r4_smtp_down_the_decision_is_saved_the_mail_recorded_logged_once_and_retried(
    client, smtp_down, django_capture_on_commit_callbacks, caplog, mailoutbox
):
    change = submitted_change()
    staff = StaffFactory()
    client.force_login(staff)
    caplog.set_level(logging.WARNING, logger="ofeli.mails.outbox")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workflow:review", args=[change.pk]), {"action": "accept", "comment": ""})
    assert response.status_code == 302  # not an error page
    change.refresh_from_db()
    assert change.status == ChangeStatus.ACCEPTED
    mail = OutgoingMail.objects.get(kind=MailKind.DECISION)
    assert mail.status == MailStatus.PENDING and mail.attempts == 1
    assert "Connection" in mail.last_error or "refus" in mail.last_error.lower(), mail.last_error
    assert mail.next_attempt_at > timezone.now()
    failures = [r for r in caplog.records if r.name == "ofeli.mails.outbox"]
    assert len(failures) == 1 and f"Mail n°{mail.pk}" in failures[0].getMessage()
    # not due yet: nothing happens; due: a second attempt, one more log line
    assert outbox.retry_due() == 0
    assert retry_when_due() == 1
    mail.refresh_from_db()
    assert mail.attempts == 2 and mail.status == MailStatus.PENDING
    assert len([r for r in caplog.records if r.name == "ofeli.mails.outbox"]) == 2
    assert mail.next_attempt_at - timezone.now() > datetime.timedelta(minutes=4)  # backoff grows
    # the server is back: the next due attempt sends it
    smtp_down.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retry_when_due()
    mail.refresh_from_db()
    assert mail.status == MailStatus.SENT and mail.last_error == ""
    assert [m.to for m in mailoutbox] == [[change.created_by.email]]


def test_r4_after_the_last_attempt_the_mail_is_listed_for_staff_who_resend_it(
    client, smtp_down, django_capture_on_commit_callbacks, mailoutbox, django_assert_max_num_queries
):
    change = submitted_change()
    with django_capture_on_commit_callbacks(execute=True):
        services.refuse(change, StaffFactory(), "Doublon d'une formation existante.")
    mail = OutgoingMail.objects.get(kind=MailKind.DECISION)
    for _ in range(outbox.max_attempts() + 1):
        retry_when_due()
    mail.refresh_from_db()
    assert mail.status == MailStatus.FAILED and mail.attempts == outbox.max_attempts()
    assert mail.next_attempt_at is None
    assert retry_when_due() == 0  # given up: waits for a person
    # a second failed mail, and a sent one that is not listed
    OutgoingMail.objects.create(kind=MailKind.OTHER, to="x@example.org", subject="Autre", status=MailStatus.FAILED)
    OutgoingMail.objects.create(kind=MailKind.OTHER, to="ok@example.org", subject="Envoyé", status=MailStatus.SENT)

    staff = StaffFactory()
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("mails:unsent"))
    html = page.content.decode()
    assert page.status_code == 200 and "Mails non envoyés" in html
    assert "2 mails non envoyés" in html and "ok@example.org" not in html
    assert mail.to in html and "Non envoyé" in html and "Renvoyer" in html
    assert "Doublon" not in html  # bodies are not shown
    assert f'href="{mail.url}"' in html  # the object the mail is about
    # « Renvoyer » with the server back: sent now, and written in the journal
    smtp_down.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mails:resend", args=[mail.pk]))
    assert response.status_code == 302
    mail.refresh_from_db()
    assert mail.status == MailStatus.SENT and len(mailoutbox) == 1
    assert HistoryEntry.objects.filter(author=staff, details__contains=f"Mail n°{mail.pk} renvoyé").exists()
    assert str(mail.pk) not in re.findall(r'data-mail="(\d+)"', client.get(reverse("mails:unsent")).content.decode())


def test_r4_unsent_mails_are_for_carif_staff_only(client):
    OutgoingMail.objects.create(kind=MailKind.OTHER, to="x@example.org", subject="Autre", status=MailStatus.FAILED)
    mail = OutgoingMail.objects.get()
    client.force_login(MembershipFactory().user)
    assert client.get(reverse("mails:unsent")).status_code == 403
    assert client.post(reverse("mails:resend", args=[mail.pk])).status_code == 403
    assert client.get(reverse("mails:resend", args=[mail.pk])).status_code == 403
    mail.refresh_from_db()
    assert mail.status == MailStatus.FAILED


def test_r4_a_mail_left_sending_by_a_killed_worker_is_sent_again(mailoutbox):
    mail = OutgoingMail.objects.create(
        kind=MailKind.OTHER,
        to="x@example.org",
        subject="Interrompu",
        body="Texte",
        status=MailStatus.SENDING,
        attempts=1,
        claimed_at=timezone.now() - datetime.timedelta(minutes=20),
    )
    assert outbox.retry_due() == 1
    mail.refresh_from_db()
    assert mail.status == MailStatus.SENT and mail.attempts == 2
    assert [m.subject for m in mailoutbox] == ["Interrompu"]
    assert outbox.retry_due() == 0  # never sent twice


def test_r4_activation_key_is_never_stored_and_a_resent_key_works(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    request = AccountRequest.objects.create(
        siret="21860076500018",
        nda="24370369337",
        last_name="THEVENIN",
        first_name="Laure",
        phone="0238778335",
        email="laure@example.org",
        consent_at=timezone.now(),
    )
    StructureFactory(siret="21860076500018")
    with django_capture_on_commit_callbacks(execute=True):
        user_services.accept_account_request(request, StaffFactory())
    mail = OutgoingMail.objects.get(kind=MailKind.ACTIVATION)
    assert mail.body == "" and mail.status == MailStatus.SENT and mail.to == "laure@example.org"
    assert "/activer/" in mailoutbox[0].body
    # the user says it never arrived; staff resend it: a fresh key is made at sending time,
    # and it opens the password form
    OutgoingMail.objects.filter(pk=mail.pk).update(status=MailStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.resend(mail, StaffFactory())
    mail.refresh_from_db()
    assert mail.body == "" and len(mailoutbox) == 2
    link = re.search(r"http://\S+(/ofeli/activer/\S+/)", mailoutbox[1].body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200 and "mot de passe" in response.content.decode().lower()


def test_r4_password_reset_mail_goes_through_the_outbox_without_storing_the_link(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    user = UserFactory(email="marc@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("users:password_reset"), {"email": "marc@example.org"})
    assert response.status_code == 302
    mail = OutgoingMail.objects.get(kind=MailKind.PASSWORD_RESET)
    assert mail.body == "" and mail.user == user and mail.status == MailStatus.SENT
    assert "/mot-de-passe/" in mailoutbox[0].body and mailoutbox[0].subject == mail.subject
    # an unknown address records nothing (and says nothing either)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("users:password_reset"), {"email": "inconnu@example.org"})
    assert OutgoingMail.objects.count() == 1


def test_r4_an_account_mail_to_a_changed_address_is_not_sent_with_a_key(mailoutbox):
    user = UserFactory(email="ancien@example.org")
    user_services.send_activation_mail(user)
    User.objects.filter(pk=user.pk).update(email="nouveau@example.org")
    outbox.deliver(list(OutgoingMail.objects.values_list("pk", flat=True)))
    mail = OutgoingMail.objects.get()
    assert mail.status == MailStatus.PENDING and "n'existe plus" in mail.last_error
    assert mailoutbox == []


def test_r4_i1_a_carif_message_is_mailed_to_the_structure_users_with_a_link_to_its_thread(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    structure = StructureFactory(nom="OF présentation OFELI")
    first = MembershipFactory(structure=structure).user
    second = MembershipFactory(structure=structure).user
    other = MembershipFactory(structure=StructureFactory()).structure  # the user has two structures
    MembershipFactory(structure=other, user=first)
    staff = StaffFactory()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("backoffice:thread", args=[structure.reference]),
            {"subject": "Pièces manquantes", "body": "Merci d'envoyer votre NDA."},
        )
    assert response.status_code == 302
    mails = OutgoingMail.objects.filter(kind=MailKind.MESSAGE).order_by("to")
    assert sorted(m.to for m in mails) == sorted([first.email, second.email])
    assert all(m.status == MailStatus.SENT and m.structure == structure for m in mails)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.email, second.email])
    body = mailoutbox[0].body
    assert "Merci d'envoyer votre NDA." in body and "Pièces manquantes" in mailoutbox[0].subject
    link = re.search(r"http://\S+(/ofeli/messagerie/\?structure=\w+)", body).group(1)
    assert link == reverse("messaging:inbox") + f"?structure={structure.reference}"
    # the link opens that structure's thread, even for a user with several structures
    client.force_login(first)
    page = client.get(link)
    assert page.status_code == 200 and "Pièces manquantes" in page.content.decode()
    # a structure the user has no right on is not opened through the link
    client.get(reverse("messaging:inbox") + f"?structure={StructureFactory().reference}")
    assert client.session.get("current_structure_id") == structure.pk


def test_r4_i1_a_message_to_several_structures_mails_each_structure_users(
    django_capture_on_commit_callbacks, mailoutbox, django_assert_max_num_queries
):
    structures = [StructureFactory(nom=f"Organisme {n}") for n in range(3)]
    users = [MembershipFactory(structure=s).user for s in structures]
    MembershipFactory(structure=structures[0])
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        count = backoffice.broadcast(
            Structure.objects.filter(pk__in=[s.pk for s in structures]), staff, subject="Enquête", body="Répondez."
        )
    assert count == 3 and OutgoingMail.objects.filter(kind=MailKind.MESSAGE).count() == 4
    with django_assert_max_num_queries(4 * 5 + 4):  # one claim, read and update per mail
        for callback in callbacks:
            callback()
    assert len(mailoutbox) == 4 and {m.to[0] for m in mailoutbox} >= {u.email for u in users}
    for structure in structures:
        mail = OutgoingMail.objects.filter(structure=structure).first()
        assert mail.url.endswith(f"?structure={structure.reference}")


def test_r4_the_staff_dashboard_counts_unsent_mails(client):
    OutgoingMail.objects.create(kind=MailKind.OTHER, to="x@example.org", subject="Autre", status=MailStatus.FAILED)
    OutgoingMail.objects.create(kind=MailKind.OTHER, to="y@example.org", subject="Envoyé", status=MailStatus.SENT)
    client.force_login(StaffFactory())
    html = client.get(reverse("dashboard")).content.decode()
    assert re.search(r'<span class="app-counter">1</span><br>Mails non envoyés', html)
    assert f'href="{reverse("mails:unsent")}"' in html


def test_r4_renvoyer_tous_gives_every_abandoned_mail_a_new_round(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    for n in range(3):
        OutgoingMail.objects.create(
            kind=MailKind.OTHER, to=f"x{n}@example.org", subject=f"Mail {n}", body="Texte", status=MailStatus.FAILED
        )
    staff = StaffFactory()
    client.force_login(staff)
    assert "Renvoyer tous les mails non envoyés" in client.get(reverse("mails:unsent")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mails:resend_all"))
    assert response.status_code == 302
    assert OutgoingMail.objects.filter(status=MailStatus.SENT).count() == 3 and len(mailoutbox) == 3
    assert HistoryEntry.objects.filter(author=staff, details__contains="3 mail(s)").exists()
    client.force_login(MembershipFactory().user)
    assert client.post(reverse("mails:resend_all")).status_code == 403


def test_r4_with_the_database_task_backend_a_failed_mail_gets_a_deferred_task(
    settings, smtp_down, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    with django_capture_on_commit_callbacks(execute=True):
        mail = outbox.queue("a@example.org", "Sujet", "Texte", kind=MailKind.OTHER)
    (first,) = DBTaskResult.objects.all()
    assert first.args_kwargs["args"] == [[mail.pk]] and first.status == "READY"
    outbox.deliver([mail.pk])  # what the worker runs
    mail.refresh_from_db()
    assert mail.status == MailStatus.PENDING and mail.attempts == 1
    retry = DBTaskResult.objects.exclude(pk=first.pk).get()
    assert retry.run_after == mail.next_attempt_at  # the worker takes it when it is due
    assert retry.run_after - timezone.now() > datetime.timedelta(seconds=50)


def test_r4_send_mails_command_retries_what_is_due_and_forgets_old_sent_mails(mailoutbox):
    from django.core.management import call_command

    old = timezone.now() - datetime.timedelta(days=31)
    OutgoingMail.objects.create(
        kind=MailKind.OTHER, to="a@example.org", subject="Ancien", status=MailStatus.SENT, sent_at=old
    )
    kept = OutgoingMail.objects.create(
        kind=MailKind.OTHER, to="b@example.org", subject="Jamais parti", status=MailStatus.FAILED
    )
    due = OutgoingMail.objects.create(
        kind=MailKind.OTHER,
        to="c@example.org",
        subject="À réessayer",
        body="Texte",
        attempts=1,
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    call_command("send_mails", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert set(OutgoingMail.objects.values_list("pk", flat=True)) == {kept.pk, due.pk}
    due.refresh_from_db()
    assert due.status == MailStatus.SENT and [m.subject for m in mailoutbox] == ["À réessayer"]


def test_r4_no_address_no_mail_and_no_error():
    assert outbox.queue("", "Sujet", "Texte", kind=MailKind.OTHER) is None
    assert not OutgoingMail.objects.exists()

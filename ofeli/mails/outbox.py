"""Sending e-mails without ever losing one silently (R4).

- ``queue()`` / ``queue_many()`` record the mails (``OutgoingMail``) in the caller's
  transaction and, once it commits, enqueue the background task ``tasks.deliver_mails``.
  Nothing is sent inside the request: a mail server that is down never turns a saved
  decision into an error page.
- ``deliver()`` (run by the task) claims each mail with a conditional UPDATE (a mail is never
  sent by two workers at once), sends it, and records the outcome. A failure writes one log
  line, keeps the error and schedules a new attempt with a growing delay (``BACKOFF``); after
  ``MAX_ATTEMPTS`` the mail is « Non envoyé » and waits for a staff member's « Renvoyer ».
- ``retry_due()`` (command ``send_mails``, run by ``nightly`` and by cron every few minutes)
  re-enqueues what is due: retries when the task backend cannot defer, mails whose task was
  lost, and mails left « Envoi en cours » by a worker that died.
"""

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import MailKind, MailStatus, OutgoingMail

logger = logging.getLogger(__name__)

# delay before attempt n+1 after n failed attempts (seconds)
BACKOFF = (60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600)
SENDING_TIMEOUT = timedelta(minutes=15)  # a mail « Envoi en cours » longer than this was lost
RESERVED_HEADERS = frozenset({"to", "from", "cc", "bcc", "subject", "content-type", "mime-version"})


def max_attempts():
    return getattr(settings, "MAIL_MAX_ATTEMPTS", len(BACKOFF) + 1)


def backoff(attempts):
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])


class MailError(Exception):
    """A mail that cannot be built (its account was deleted...)."""


def absolute(path):
    return settings.SITE_URL.rstrip("/") + path if path and path.startswith("/") else path


def queue(to, subject, body="", *, kind, user=None, structure=None, url="", object_label="", headers=None):
    """Record one mail to ``to`` and send it in the background after the commit (None when
    there is no address to write to). ``headers``: extra headers (name -> value)."""
    mails = queue_many(
        [
            OutgoingMail(
                kind=kind,
                to=to,
                subject=subject[:255],
                body=body,
                user=user,
                structure=structure,
                url=url[:500],
                object_label=object_label[:200],
                headers=clean_headers(headers),
            )
        ]
    )
    return mails[0] if mails else None


def clean_headers(headers):
    """Extra headers as stored: text names and values on one line (a line break in a value
    would inject headers); the ones ``EmailMessage`` writes itself are refused."""
    cleaned = {}
    for name, value in (headers or {}).items():
        name, value = str(name).strip(), str(value)
        if not name or any(c in name + value for c in "\r\n") or ":" in name:
            raise ValueError(f"en-tête de mail invalide : {name!r}")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"en-tête de mail réservé : {name!r}")
        cleaned[name] = value
    return cleaned


def queue_many(mails):
    """Record unsaved ``OutgoingMail`` objects (one query) and enqueue one task for them."""
    mails = [mail for mail in mails if mail.to]
    if not mails:
        return []
    for mail in mails:
        mail.headers = clean_headers(mail.headers)
        if mail.has_secret:
            mail.body = ""  # never stored: rendered when sent
    created = OutgoingMail.objects.bulk_create(mails, batch_size=500)
    ids = [mail.pk for mail in created]  # PostgreSQL and SQLite return the new keys
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return created


def enqueue(ids, run_after=None):
    """Ask the task worker to send mails ``ids``. A failure to enqueue is logged and leaves the
    mails « En attente d'envoi » for ``retry_due``: the caller is never interrupted."""
    from django_tasks import task_backends

    from .tasks import deliver_mails

    try:
        task = deliver_mails
        if run_after is not None:
            if not task_backends[task.backend].supports_defer:
                return None  # retry_due sends it when it is due
            task = task.using(run_after=run_after)
        return task.enqueue(list(ids))
    except Exception:  # noqa: BLE001 - the mail stays recorded and is retried
        logger.exception("Mails %s : mise en file d'envoi impossible, nouvel essai par send_mails", list(ids)[:20])
        return None


def deliver(ids):
    """Send the mails ``ids`` that are due (run by the task worker). Returns the number sent."""
    sent = 0
    connection = get_connection()
    try:
        for pk in ids:
            sent += _deliver_one(pk, connection)
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    return sent


def _deliver_one(pk, connection):
    now = timezone.now()
    claimed = (
        OutgoingMail.objects.filter(pk=pk, status=MailStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=MailStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    )
    if not claimed:
        return 0  # already sent, being sent by another worker, or not due yet
    mail = OutgoingMail.objects.select_related("user").get(pk=pk)
    try:
        message = build_message(mail)
        message.connection = connection
        message.send()
    except Exception as error:  # noqa: BLE001 - recorded, logged, retried
        with contextlib.suppress(Exception):
            connection.close()  # the next mail opens a fresh connection
        _record_failure(mail, error)
        return 0
    OutgoingMail.objects.filter(pk=pk, status=MailStatus.SENDING).update(
        status=MailStatus.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
    )
    return 1


def _record_failure(mail, error):
    now = timezone.now()
    text = f"{type(error).__name__} : {error}"[:2000]
    if mail.attempts >= max_attempts():
        OutgoingMail.objects.filter(pk=mail.pk).update(status=MailStatus.FAILED, last_error=text, next_attempt_at=None)
        logger.error(
            "Mail n°%s (%s) non envoyé après %s tentatives, à renvoyer depuis « Mails non envoyés » : %s",
            mail.pk,
            mail.kind,
            mail.attempts,
            text,
        )
        return
    due = now + backoff(mail.attempts)
    OutgoingMail.objects.filter(pk=mail.pk).update(status=MailStatus.PENDING, last_error=text, next_attempt_at=due)
    logger.warning(
        "Mail n°%s (%s) non envoyé (tentative %s sur %s), nouvel essai à %s : %s",
        mail.pk,
        mail.kind,
        mail.attempts,
        max_attempts(),
        timezone.localtime(due).strftime("%d/%m/%Y %H:%M"),
        text,
    )
    enqueue([mail.pk], run_after=due)


def build_message(mail):
    """The ``EmailMessage`` of ``mail``; the secret links of account mails are made now."""
    subject, body = mail.subject, mail.body
    if mail.kind == MailKind.ACTIVATION:
        from ofeli.users.services import activation_body

        body = activation_body(_account(mail))
    elif mail.kind == MailKind.PASSWORD_RESET:
        from ofeli.users.services import password_reset_body

        body = password_reset_body(_account(mail))
    return EmailMessage(subject, body, None, [mail.to], headers=dict(mail.headers or {}))


def _account(mail):
    if mail.user is None or mail.user.email.lower() != mail.to.lower():
        raise MailError("le compte de ce destinataire n'existe plus ou a changé d'adresse e-mail")
    return mail.user


def resend(mail, staff):
    """« Renvoyer »: a new round of attempts, now. Returns False if the mail was sent meanwhile."""
    from ofeli.workflow.enums import HistoryAction
    from ofeli.workflow.history import record

    with transaction.atomic():
        updated = (
            OutgoingMail.objects.filter(pk=mail.pk)
            .exclude(status=MailStatus.SENT)
            .update(status=MailStatus.PENDING, attempts=0, next_attempt_at=None, claimed_at=None)
        )
        if not updated:
            return False
        record(
            HistoryAction.STAFF_EDIT,
            staff,
            structure=None,
            details=f"Mail n°{mail.pk} renvoyé à {mail.to} : {mail.subject}"[:5000],
        )
        transaction.on_commit(lambda: enqueue([mail.pk]), robust=True)
    return True


def resend_all(staff):
    """« Renvoyer tous les mails non envoyés »: a new round for every mail given up. Returns
    the number of mails."""
    from ofeli.workflow.enums import HistoryAction
    from ofeli.workflow.history import record

    with transaction.atomic():
        ids = list(
            OutgoingMail.objects.select_for_update()
            .filter(status=MailStatus.FAILED)
            .values_list("pk", flat=True)[:5000]
        )
        if not ids:
            return 0
        OutgoingMail.objects.filter(pk__in=ids, status=MailStatus.FAILED).update(
            status=MailStatus.PENDING, attempts=0, next_attempt_at=None, claimed_at=None
        )
        record(HistoryAction.STAFF_EDIT, staff, details=f"{len(ids)} mail(s) non envoyé(s) renvoyé(s)")
        for start in range(0, len(ids), 200):
            batch = ids[start : start + 200]
            transaction.on_commit(lambda batch=batch: enqueue(batch), robust=True)
    return len(ids)


def unsent():
    """Mails that are not sent and need a look: given up, failed at least once, or waiting
    longer than they should (no worker running)."""
    late = timezone.now() - SENDING_TIMEOUT
    return OutgoingMail.objects.exclude(status=MailStatus.SENT).filter(
        Q(status=MailStatus.FAILED) | Q(attempts__gt=0) | Q(created_at__lte=late)
    )


def purge_old(now=None):
    """Sent mails are kept ``MAIL_KEEP_SENT_DAYS`` (30) days, for questions (« l'ai-je reçu ? »),
    then deleted with their body (personal data); mails never sent stay until handled."""
    now = now or timezone.now()
    days = getattr(settings, "MAIL_KEEP_SENT_DAYS", 30)
    deleted, _ = OutgoingMail.objects.filter(status=MailStatus.SENT, sent_at__lt=now - timedelta(days=days)).delete()
    return deleted


def retry_due(now=None):
    """Re-enqueue the mails that are due; mails « Envoi en cours » for too long (worker killed
    while sending) go back to « En attente d'envoi ». Returns the number enqueued."""
    now = now or timezone.now()
    lost = OutgoingMail.objects.filter(status=MailStatus.SENDING, claimed_at__lte=now - SENDING_TIMEOUT)
    for mail in lost:
        logger.warning("Mail n°%s (%s) : envoi interrompu (processus arrêté), nouvel essai", mail.pk, mail.kind)
    lost.update(status=MailStatus.PENDING, next_attempt_at=now)
    due = list(
        OutgoingMail.objects.filter(status=MailStatus.PENDING)
        .filter(
            Q(next_attempt_at__isnull=True, created_at__lte=now - timedelta(minutes=2)) | Q(next_attempt_at__lte=now)
        )
        .values_list("pk", flat=True)[:5000]
    )
    for start in range(0, len(due), 200):
        enqueue(due[start : start + 200])
    return len(due)

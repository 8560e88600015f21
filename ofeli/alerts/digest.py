"""The nightly digest of the alerts (P5), run by ``manage.py send_alerts`` (in ``nightly``).

1. ``record_publications``: every session of the published offer
   (``formations.queries.published_sessions``) not yet in ``FirstPublication`` is recorded,
   dated by the best that is known: not before the session was created, nor before its
   formation's last publication, nor before the previous run (it was not in the offer
   then, or that run would have recorded it). Sessions accepted through the workflow are
   recorded at the moment of the decision already (``receivers.py``).
2. Every confirmed alert gets one mail listing the indexed sessions that match its criteria
   (``matching.py``), first published after the alert's ``checked_until`` and up to this
   run, that one can still join (P1); no mail when there is none. ``checked_until`` then
   moves to this run: a session is never mailed twice for an alert.
3. Unconfirmed alerts older than ``ALERT_CONFIRM_DAYS`` are deleted.

Each alert is handled in its own transaction (its mail is recorded in the outbox with the
move of ``checked_until``): a run stopped midway never sends a session twice, and the
next run takes the alerts left over."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ofeli.formations.models import Session
from ofeli.formations.queries import published_sessions
from ofeli.mails import outbox
from ofeli.mails.models import MailKind
from ofeli.public import financing
from ofeli.public.search import MODALITE_SHORT
from ofeli.public.status import status_of_row

from . import criteria as criteria_module
from . import services
from .matching import joinable, matching_sessions
from .models import Alert, DigestRun, FirstPublication

logger = logging.getLogger(__name__)
MAX_LISTED = 20  # sessions listed in one mail; the others through « Voir la recherche »


def record_publications(now, since=None, formation_ids=None):
    """Record the published sessions not recorded yet (of ``formation_ids`` only, when
    given). ``since``: the previous run, before which an unrecorded session was not
    published. Returns the number recorded."""
    live = published_sessions()
    if formation_ids is not None:
        live = live.filter(session__formation_id__in=list(formation_ids))
    ids = live.values("session_id")
    fresh = Session.objects.filter(pk__in=ids).exclude(pk__in=FirstPublication.objects.values("session_id"))
    rows = []
    for pk, created, published in fresh.values_list("pk", "created_at", "formation__published_at"):
        moment = max(d for d in (created, published, since) if d is not None)
        rows.append(FirstPublication(session_id=pk, published_at=min(moment, now)))
    FirstPublication.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def run(now=None, today=None):
    """One digest run; returns its ``DigestRun``."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    previous = DigestRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    digest = DigestRun.objects.create(started_at=now)
    digest.new_sessions = record_publications(now, since=previous.started_at if previous else None)
    pending = Alert.objects.filter(confirmed_at__isnull=False, checked_until__lt=now).order_by("pk")
    oldest = pending.order_by("checked_until").values_list("checked_until", flat=True).first()
    anything_new = (
        oldest is not None and FirstPublication.objects.filter(published_at__gt=oldest, published_at__lte=now).exists()
    )
    for alert in pending.iterator(chunk_size=500):
        digest.alerts += 1
        if anything_new:
            try:
                digest.mails += _digest_one(alert, now, today)
            except Exception:  # noqa: BLE001 - one broken alert never stops the others
                logger.exception("Alerte n°%s : envoi impossible", alert.pk)
        else:
            Alert.objects.filter(pk=alert.pk, checked_until__lt=now).update(checked_until=now)
    digest.purged = services.purge_unconfirmed(now)
    digest.finished_at = timezone.now()
    digest.save()
    return digest


def new_sessions(alert, now, today):
    """The indexed sessions of the alert's criteria first published in (checked_until, now]
    that one can still join, soonest first; None when its criteria no longer validate."""
    data = criteria_module.cleaned(alert.criteria)
    if data is None:
        return None
    window = FirstPublication.objects.filter(published_at__gt=alert.checked_until, published_at__lte=now)
    qs = joinable(matching_sessions(data, today).filter(session_id__in=window.values("session_id")), today)
    rows = list(
        qs.select_related("formation").order_by(F("date_debut").asc(nulls_last=True), "numero_carif")[: MAX_LISTED + 1]
    )
    return [row for row in rows if status_of_row(row, today).joinable]


def _digest_one(alert, now, today):
    with transaction.atomic():
        locked = Alert.objects.select_for_update().filter(pk=alert.pk, checked_until__lt=now).first()
        if locked is None:
            return 0  # unsubscribed meanwhile, or already handled by another run
        rows = new_sessions(locked, now, today)
        sent = 0
        if rows is None:
            logger.warning("Alerte n°%s : critères devenus invalides, aucune session envoyée", locked.pk)
        elif rows:
            _queue_digest(locked, rows, today)
            sent = 1
        Alert.objects.filter(pk=locked.pk).update(checked_until=now, last_sent_at=now if sent else F("last_sent_at"))
        return sent


def _queue_digest(alert, rows, today):
    more = len(rows) > MAX_LISTED
    rows = rows[:MAX_LISTED]
    unsubscribe = services.unsubscribe_url(alert)
    sessions = [
        {
            "row": row,
            "status": status_of_row(row, today),
            "modalite": MODALITE_SHORT.get(row.modalite, ""),
            "financements": [
                financing.SHORT_LABELS[kind] for kind, _ in financing.KINDS if getattr(row, financing.field(kind))
            ],
            "url": outbox.absolute(
                reverse("public:formation", args=[row.formation.reference, row.formation.slug])
                + f"#session-{row.numero_carif}"
            ),
        }
        for row in rows
    ]
    count = len(rows)
    subject = (
        f"{'Plus de ' if more else ''}{count} nouvelle{'s' if count > 1 else ''} session{'s' if count > 1 else ''}"
        f" pour votre alerte {criteria_module.title(alert.criteria)}"
    )
    body = render_to_string(
        "alerts/mail/digest.txt",
        services._context(
            alert,
            sessions=sessions,
            more=more,
            unsubscribe_url=unsubscribe,
            manage_url=services.manage_url(alert),
        ),
    )
    outbox.queue(
        alert.email,
        subject,
        body,
        kind=MailKind.ALERT_DIGEST,
        object_label=alert.label,
        headers={
            # RFC 2369 and RFC 8058: the mail client's own « Se désabonner » posts
            # « List-Unsubscribe=One-Click » to this address, without cookie.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"Alertes {settings.PUBLIC_SITE_NAME} <alertes.{_host()}>",
            "Auto-Submitted": "auto-generated",
        },
    )


def _host():
    from urllib.parse import urlsplit

    return urlsplit(settings.SITE_URL).hostname or "localhost"

"""What a visitor does with alerts (P5); the views only call these.

- ``subscribe``: an unconfirmed alert and its confirmation mail (double opt-in). The answer
  is the same whatever alerts the address already has (no enumeration); nothing else is
  sent before the link is followed.
- ``confirm``: the alert starts: sessions first published from now on are « new » for it.
- ``unsubscribe``: the alert is deleted, with the mails of it the outbox still holds; when
  the address has no alert left, every alert mail to it goes as well.
- ``send_manage_link``: « Gérer mes alertes » by e-mail, only to an address that has alerts
  (the page says the same thing either way).
- ``purge_unconfirmed``: alerts never confirmed are deleted after ``ALERT_CONFIRM_DAYS``."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ofeli.mails import outbox
from ofeli.mails.models import MailKind, OutgoingMail

from . import criteria as criteria_module
from . import tokens
from .models import Alert, mail_label

ALERT_KINDS = (MailKind.ALERT_CONFIRMATION, MailKind.ALERT_DIGEST, MailKind.ALERT_MANAGE)
MANAGE_LABEL = "Gérer mes alertes"


class AlertLimit(Exception):
    """The address already has ``ALERT_MAX_PER_EMAIL`` confirmed alerts."""


def normalise_email(email):
    return (email or "").strip().lower()


def link(name, token):
    return outbox.absolute(reverse(name, args=[token]))


def unsubscribe_url(alert):
    return link("alerts:unsubscribe", tokens.make(alert, tokens.UNSUBSCRIBE))


def manage_url(alert):
    return link("alerts:manage", tokens.make(alert, tokens.MANAGE))


def search_url(criteria):
    query = criteria_module.query_string(criteria)
    return outbox.absolute(reverse("public:search")) + (f"?{query}" if query else "")


def _context(alert, **extra):
    return {
        "alert": alert,
        "criteria": criteria_module.describe(alert.criteria),
        "search_url": search_url(alert.criteria),
        "site_name": settings.PUBLIC_SITE_NAME,
        "site_url": settings.SITE_URL,
        "confirm_days": settings.ALERT_CONFIRM_DAYS,
        "manage_days": settings.ALERT_MANAGE_LINK_DAYS,
        **extra,
    }


@transaction.atomic
def subscribe(email, criteria):
    """Record an unconfirmed alert and queue its confirmation mail."""
    alert = Alert.objects.create(email=normalise_email(email), criteria=criteria)
    body = render_to_string(
        "alerts/mail/confirmation.txt",
        _context(alert, confirm_url=link("alerts:confirm", tokens.make(alert, tokens.CONFIRM))),
    )
    outbox.queue(
        alert.email,
        f"Confirmez votre alerte sur {settings.PUBLIC_SITE_NAME}",
        body,
        kind=MailKind.ALERT_CONFIRMATION,
        object_label=alert.label,
    )
    return alert


@transaction.atomic
def confirm(alert, now=None):
    """Start the alert (nothing when it already started). Returns (alert, already): an
    identical confirmed alert of the same address replaces a new one. Raises ``AlertLimit``."""
    now = now or timezone.now()
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.is_confirmed:
        return alert, True
    others = Alert.objects.filter(email=alert.email, confirmed_at__isnull=False).exclude(pk=alert.pk)
    same = next((other for other in others if other.criteria == alert.criteria), None)
    if same is not None:
        _delete([alert])
        return same, True
    if others.count() >= settings.ALERT_MAX_PER_EMAIL:
        raise AlertLimit
    alert.confirmed_at = alert.checked_until = now
    alert.save(update_fields=["confirmed_at", "checked_until"])
    return alert, False


def _delete(alerts):
    """Delete alerts and their mails; the address's remaining alert mails when it has none left."""
    alerts = list(alerts)
    if not alerts:
        return 0
    emails = {alert.email for alert in alerts}
    OutgoingMail.objects.filter(kind__in=ALERT_KINDS, object_label__in=[mail_label(a.pk) for a in alerts]).delete()
    count, _ = Alert.objects.filter(pk__in=[a.pk for a in alerts]).delete()
    remaining = set(Alert.objects.filter(email__in=emails).values_list("email", flat=True))
    gone = emails - remaining
    if gone:
        OutgoingMail.objects.filter(kind__in=ALERT_KINDS, to__in=gone).delete()
    return count


@transaction.atomic
def unsubscribe(alert):
    return _delete([alert])


@transaction.atomic
def unsubscribe_all(email):
    return _delete(Alert.objects.filter(email=normalise_email(email)))


def alerts_of(email):
    return list(Alert.objects.filter(email=normalise_email(email)).order_by("created_at", "pk"))


@transaction.atomic
def send_manage_link(email):
    """Mail the « Gérer mes alertes » link when the address has a confirmed alert (the
    oldest one anchors the link). Returns the mail, or None; the caller answers the same."""
    anchor = Alert.objects.filter(email=normalise_email(email), confirmed_at__isnull=False).order_by("pk").first()
    if anchor is None:
        return None
    body = render_to_string(
        "alerts/mail/manage.txt",
        _context(anchor, manage_url=manage_url(anchor), alerts=alerts_of(anchor.email)),
    )
    return outbox.queue(
        anchor.email,
        f"Vos alertes sur {settings.PUBLIC_SITE_NAME}",
        body,
        kind=MailKind.ALERT_MANAGE,
        object_label=MANAGE_LABEL,
    )


@transaction.atomic
def purge_unconfirmed(now=None):
    """Alerts never confirmed within ``ALERT_CONFIRM_DAYS`` are deleted (and their mails)."""
    now = now or timezone.now()
    limit = now - timedelta(days=settings.ALERT_CONFIRM_DAYS)
    return _delete(Alert.objects.filter(confirmed_at__isnull=True, created_at__lt=limit))

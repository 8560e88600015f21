"""Signed links of the alert mails (nothing stored: Django's signing with SECRET_KEY).

Each token names one alert by its id and its creation time, so a link never reaches an
alert created later under a reused id. Confirmation links last ``ALERT_CONFIRM_DAYS``,
« Gérer mes alertes » links ``ALERT_MANAGE_LINK_DAYS``, unsubscribe links as long as the
alert exists (a mail read months later still unsubscribes)."""

from datetime import timedelta

from django.conf import settings
from django.core import signing

CONFIRM, UNSUBSCRIBE, MANAGE = "confirm", "unsubscribe", "manage"


def _salt(purpose):
    return f"ofeli.alerts.{purpose}"


def _stamp(alert):
    return int(alert.created_at.timestamp() * 1_000_000)


def make(alert, purpose):
    return signing.dumps([alert.pk, _stamp(alert)], salt=_salt(purpose))


def max_age(purpose):
    if purpose == CONFIRM:
        return timedelta(days=settings.ALERT_CONFIRM_DAYS)
    if purpose == MANAGE:
        return timedelta(days=settings.ALERT_MANAGE_LINK_DAYS)
    return None


def read(token, purpose):
    """The alert named by a valid token, or None (bad, expired, or the alert is gone)."""
    from .models import Alert

    try:
        pk, stamp = signing.loads(str(token)[:300], salt=_salt(purpose), max_age=max_age(purpose))
        pk, stamp = int(pk), int(stamp)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None or _stamp(alert) != stamp:
        return None
    return alert

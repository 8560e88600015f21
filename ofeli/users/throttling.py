"""Brute-force protection (K1, A5): failed logins are throttled by django-axes, anonymous
forms (« Créer mon compte », « Mot de passe oublié ») by a counter in Django's cache.

Both work across processes: axes keeps its attempts in the database (AxesDatabaseHandler,
table ``axes_accessattempt``), the counters live in the shared cache (the database table
``ofeli_cache`` or Redis, ``config/settings/base.py``). Neither ever tells whether an account
exists: attempts are counted on the typed address, known or not, and every account, OF or
staff, has the same limit (a lower limit for staff would tell a stranger which addresses are
staff accounts). See README « Sécurité des connexions »."""

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Q
from django.shortcuts import render
from django.utils import timezone


def client_ip(request):
    """The client's address: REMOTE_ADDR, or, behind ``OFELI_TRUSTED_PROXIES`` reverse
    proxies, the address the outermost trusted proxy saw (X-Forwarded-For read from the
    right, so that a client cannot choose its own address by sending the header)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return forwarded[0] if forwarded else remote


def login_username(request, credentials):
    """The typed address as the login compares it (case and spaces do not make a new count)."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = request.POST.get("username", "")
    return str(value or "").strip().lower()[:255]


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, first in AUTHENTICATION_BACKENDS. Logins made without a request
    (commands, the shell) are not brute-force attempts: they are not counted."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _minutes(delta):
    return max(1, math.ceil(delta.total_seconds() / 60))


def _wait_text(minutes):
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def login_wait(request, credentials=None):
    """How long the login stays blocked for this address and this client."""
    username = get_client_username(request, credentials)
    ip = get_client_ip_address(request)
    last = AccessAttempt.objects.filter(Q(username=username) | Q(ip_address=ip)).aggregate(last=Max("attempt_time"))[
        "last"
    ]
    cool_off = settings.AXES_COOLOFF_TIME
    if last is None:
        return cool_off
    return max(last + cool_off - timezone.now(), timedelta(seconds=1))


def login_locked_out(request, original_response=None, credentials=None):
    """The login page again, with what was typed (but the password) and the time to wait."""
    from .forms import LoginForm

    minutes = _minutes(login_wait(request, credentials))
    form = LoginForm(request, data={"username": request.POST.get("username", "")})
    form.errors.clear()
    form.add_error(
        None,
        "Trop de tentatives de connexion infructueuses : par sécurité, la connexion est bloquée. "
        f"Réessayez dans {_wait_text(minutes)}, ou utilisez « Mot de passe oublié ».",
    )
    response = render(
        request,
        "users/login.html",
        {"form": form, "page_title": "Connexion", "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response


# --- anonymous forms -------------------------------------------------------------------


class RateLimit:
    """At most ``limit`` submissions per ``period`` for one key (a fixed window)."""

    def __init__(self, scope, limit, period):
        self.scope, self.limit, self.period = scope, limit, period

    def _key(self, value, window):
        return f"ofeli-rate:{self.scope}:{window}:{value}"

    def hit(self, value):
        """Count one submission; returns the time to wait (timedelta) if over the limit, else None."""
        seconds = int(self.period.total_seconds())
        now = timezone.now().timestamp()
        window = int(now // seconds)
        key = self._key(value, window)
        cache.add(key, 0, timeout=seconds + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=seconds + 60)
            count = 1
        if count <= self.limit:
            return None
        return timedelta(seconds=(window + 1) * seconds - now)


def account_request_limits():
    return [RateLimit("account-request-ip", settings.ACCOUNT_REQUEST_RATE_LIMIT, timedelta(hours=1))]


def password_reset_limits():
    return [
        RateLimit("password-reset-ip", settings.PASSWORD_RESET_RATE_LIMIT, timedelta(hours=1)),
        RateLimit("password-reset-email", settings.PASSWORD_RESET_EMAIL_RATE_LIMIT, timedelta(hours=1)),
    ]


def throttle(request, limits, values):
    """Count this submission under every limit; the message to show when one is exceeded."""
    waits = [wait for limit, value in zip(limits, values, strict=True) if value and (wait := limit.hit(value))]
    if not waits:
        return None
    minutes = _minutes(max(waits))
    return (
        "Trop de demandes ont été envoyées : par sécurité, ce formulaire est momentanément bloqué. "
        f"Réessayez dans {_wait_text(minutes)}."
    )

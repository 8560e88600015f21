"""Who may call the partner API and how often (J3).

A partner authenticates with its LHEO-flow token in ``Authorization: Bearer <token>`` (never
in the URL); ``exports.partners.partner_for_token`` compares the hashed secret in constant
time. ``ApiAccess`` may restrict a partner to some resources and set its own rate; every
call is counted per partner per day (``ApiUsage``). Resources listed in
``settings.API_PUBLIC_RESOURCES`` (none by default) need no token.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from ofeli.exports.partners import bearer_token, partner_for_token

from .models import ApiAccess, ApiUsage, all_resources

WINDOW = 60  # seconds


class ApiProblem(Exception):
    """An error answered as RFC 9457 problem+json."""

    def __init__(self, status, title, detail="", *, headers=None, errors=None):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.errors = errors


def resource_of(request):
    """The resource a request reads: the first path segment after /api/v1/."""
    prefix = "/api/v1/"
    path = request.path
    return path[len(prefix) :].split("/", 1)[0] if path.startswith(prefix) else ""


def _allowed(partner):
    access = ApiAccess.objects.filter(partner=partner).first()
    if access is None:
        return all_resources(), settings.API_RATE_LIMIT
    return access.resources, access.rate_limit or settings.API_RATE_LIMIT


def _count(partner, *, refused=False):
    day = timezone.localdate()
    field = "refused" if refused else "calls"
    if not ApiUsage.objects.filter(partner=partner, day=day).update(**{field: F(field) + 1}):
        usage, created = ApiUsage.objects.get_or_create(partner=partner, day=day)
        ApiUsage.objects.filter(pk=usage.pk).update(**{field: F(field) + 1})


def _throttle(partner, limit):
    """Fixed one-minute windows in the shared cache (database or Redis in production, so
    every web process counts the same calls)."""
    now = time.time()
    window = int(now // WINDOW)
    key = f"api-rate:{partner.pk}:{window}"
    cache.add(key, 0, WINDOW + 5)
    try:
        calls = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW + 5)
        calls = 1
    if calls > limit:
        retry = max(1, int((window + 1) * WINDOW - now) + 1)
        raise ApiProblem(
            429,
            "Trop de requêtes",
            f"Limite de {limit} appels par minute atteinte : réessayez dans {retry} secondes.",
            headers={"Retry-After": str(retry)},
        )


def authenticate(request):
    """The partner calling (or None for a public resource); raises ApiProblem otherwise."""
    resource = resource_of(request)
    token = bearer_token(request)
    if not token and resource in settings.API_PUBLIC_RESOURCES:
        return None
    partner = partner_for_token(token) if token else None
    if partner is None:
        raise ApiProblem(
            401,
            "Authentification requise",
            "Jeton partenaire absent ou invalide : envoyez-le dans l'en-tête « Authorization: Bearer <jeton> ».",
            headers={"WWW-Authenticate": 'Bearer realm="ofeli-api"'},
        )
    resources, limit = _allowed(partner)
    if resource and resource not in resources:
        _count(partner, refused=True)
        raise ApiProblem(403, "Accès refusé", f"Votre jeton ne donne pas accès à la ressource « {resource} ».")
    try:
        _throttle(partner, limit)
    except ApiProblem:
        _count(partner, refused=True)
        raise
    _count(partner)
    return partner

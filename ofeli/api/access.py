"""Who may call the partner API and how often (J3).

A partner authenticates with its LHEO-flow token in ``Authorization: Bearer <token>`` (never
in the URL); ``exports.partners.partner_for_token`` compares the hashed secret in constant
time. ``ApiAccess`` may restrict a partner to some resources and set its own rate; every
call is counted per partner per day (``ApiUsage``), and the rate limit's one-minute window
lives in the same row: one statement per call counts and limits (rather than cache
transactions), the partner and its access come in one query. Resources listed in
``settings.API_PUBLIC_RESOURCES`` (none by default) need no token.
"""

import time

from django.conf import settings
from django.db import connection
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
    try:
        access = partner.api_access  # read with the partner (select_related)
    except ApiAccess.DoesNotExist:
        access = None
    if access is None:
        return all_resources(), settings.API_RATE_LIMIT
    return access.resources, access.rate_limit or settings.API_RATE_LIMIT


def _refused(partner):
    day = timezone.localdate()
    if not ApiUsage.objects.filter(partner=partner, day=day).update(refused=F("refused") + 1):
        ApiUsage.objects.get_or_create(partner=partner, day=day)
        ApiUsage.objects.filter(partner=partner, day=day).update(refused=F("refused") + 1)


def _count_and_throttle(partner, limit):
    """Count the call in the partner's usage row of the day and apply the rate limit:
    fixed one-minute windows kept in the same row (``minute``, ``minute_calls``), so one
    statement (``UPDATE ... RETURNING``, PostgreSQL and SQLite >= 3.35) both counts and
    limits, in one commit, and every web process counts the same calls. SET expressions
    read the row as it was, so the first call of a new minute starts its window at 1. A
    refused call moves from ``calls`` to ``refused``."""
    now = time.time()
    window = int(now // WINDOW)
    day = timezone.localdate()
    calls = _increment(partner, day, window)
    if calls is None:  # the first call of the day
        ApiUsage.objects.get_or_create(partner=partner, day=day)
        calls = _increment(partner, day, window)
    if calls > limit:
        ApiUsage.objects.filter(partner=partner, day=day).update(calls=F("calls") - 1, refused=F("refused") + 1)
        retry = max(1, int((window + 1) * WINDOW - now) + 1)
        raise ApiProblem(
            429,
            "Trop de requêtes",
            f"Limite de {limit} appels par minute atteinte : réessayez dans {retry} secondes.",
            headers={"Retry-After": str(retry)},
        )


def _increment(partner, day, window):
    """Calls of this minute once this one is counted, or None without a row for the day."""
    quote = connection.ops.quote_name
    table, calls, minute, minute_calls = (
        quote(name) for name in (ApiUsage._meta.db_table, "calls", "minute", "minute_calls")
    )
    sql = (
        f"UPDATE {table} SET {calls} = {calls} + 1, "
        f"{minute_calls} = CASE WHEN {minute} = %s THEN {minute_calls} + 1 ELSE 1 END, {minute} = %s "
        f"WHERE {quote('partner_id')} = %s AND {quote('day')} = %s RETURNING {minute_calls}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [window, window, partner.pk, connection.ops.adapt_datefield_value(day)])
        row = cursor.fetchone()
    return row[0] if row else None


def authenticate(request):
    """The partner calling (or None for a public resource); raises ApiProblem otherwise."""
    resource = resource_of(request)
    token = bearer_token(request)
    if not token and resource in settings.API_PUBLIC_RESOURCES:
        return None
    partner = partner_for_token(token, related=["api_access"]) if token else None
    if partner is None:
        raise ApiProblem(
            401,
            "Authentification requise",
            "Jeton partenaire absent ou invalide : envoyez-le dans l'en-tête « Authorization: Bearer <jeton> ».",
            headers={"WWW-Authenticate": 'Bearer realm="ofeli-api"'},
        )
    resources, limit = _allowed(partner)
    if resource and resource not in resources:
        _refused(partner)
        raise ApiProblem(403, "Accès refusé", f"Votre jeton ne donne pas accès à la ressource « {resource} ».")
    _count_and_throttle(partner, limit)
    return partner

"""Pages of the alerts (P5), on the public site, without account and without JavaScript.

The subscription and « Gérer mes alertes » forms are rate-limited per client address and per
typed e-mail (``users.throttling``, counters in the shared cache) and answer the same
whatever alerts the address has (no enumeration). Pages reached by a signed link (confirm,
unsubscribe, manage) are never cached nor indexed. The unsubscribe address is also the
``List-Unsubscribe`` one of the mails: a POST there (RFC 8058 « List-Unsubscribe=One-Click »,
sent by mail clients without cookie) unsubscribes at once, so it is exempt from CSRF — the
signed token is what authorises it; a GET only shows the button (link checkers of mail
services open links and must not unsubscribe anyone)."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ofeli.core.params import as_id
from ofeli.users import throttling

from . import criteria as criteria_module
from . import services, tokens
from .forms import EmailForm
from .models import Alert


def _limits(scope):
    from datetime import timedelta

    return [
        throttling.RateLimit(f"alert-{scope}-ip", settings.ALERT_RATE_LIMIT, timedelta(hours=1)),
        throttling.RateLimit(f"alert-{scope}-email", settings.ALERT_EMAIL_RATE_LIMIT, timedelta(hours=1)),
    ]


def _throttle(request, scope):
    """Count this request per client address and per typed e-mail (kept in the counter's
    cache key only as a keyed hash, for the hour of the window)."""
    email = services.normalise_email(request.POST.get("email", ""))[:254]
    digest = salted_hmac("ofeli.alerts.rate", email).hexdigest()[:32] if email else ""
    return throttling.throttle(request, _limits(scope), [throttling.client_ip(request), digest])


def private(view):
    """Pages of a signed link: never stored by a cache, never indexed."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


def _hidden(criteria):
    pairs = []
    for name in criteria_module.FIELDS:
        value = criteria.get(name)
        if isinstance(value, list):
            pairs += [(name, v) for v in value]
        elif value:
            pairs.append((name, value))
    return pairs


def _alert_context(alert):
    return {
        "alert": alert,
        "criteria": criteria_module.describe(alert.criteria),
        "search_qs": criteria_module.query_string(alert.criteria),
        "title": criteria_module.title(alert.criteria),
    }


@require_http_methods(["GET", "POST"])
def create(request):
    """« Créer une alerte »: the criteria of the search (query string, then hidden fields)
    and an e-mail address."""
    params = request.POST if request.method == "POST" else request.GET
    parsed = criteria_module.Parsed(params)
    form = EmailForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and not parsed.errors:
        blocked = _throttle(request, "create")
        if blocked:
            form.full_clean()
            form.add_error(None, blocked)
            status = 429
        elif form.is_valid():
            services.subscribe(form.cleaned_data["email"], parsed.criteria)
            return redirect("alerts:requested")
    elif parsed.errors:
        status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "criteria": criteria_module.describe(parsed.criteria),
        "criteria_errors": parsed.errors,
        "hidden": _hidden(parsed.criteria),
        # refused criteria: back to the search as typed, where the error shows on its field
        "search_qs": criteria_module.query_string(parsed.criteria)
        if not parsed.errors
        else urlencode([(k, v) for k, values in params.lists() if k in criteria_module.FIELDS for v in values if v]),
        "confirm_days": settings.ALERT_CONFIRM_DAYS,
        "page_title": "Créer une alerte",
    }
    response = render(request, "alerts/create.html", context, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response


@require_GET
def requested(request):
    return render(
        request,
        "alerts/requested.html",
        {"page_title": "Confirmez votre alerte", "confirm_days": settings.ALERT_CONFIRM_DAYS},
    )


def _invalid(request, title, text, status=404):
    return render(
        request,
        "alerts/invalid.html",
        {"page_title": title, "text": text, "form": EmailForm()},
        status=status,
    )


@private
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    alert = tokens.read(token, tokens.CONFIRM)
    if alert is None:
        return _invalid(
            request,
            "Lien de confirmation non valable",
            f"Ce lien de confirmation n'est plus valable : il a expiré (il vaut {settings.ALERT_CONFIRM_DAYS} jours) "
            "ou l'alerte a été supprimée. Créez l'alerte à nouveau depuis les résultats de votre recherche.",
        )
    context = {**_alert_context(alert), "page_title": "Confirmer mon alerte", "token": token}
    if request.method == "POST" or alert.is_confirmed:
        try:
            alert, already = services.confirm(alert) if not alert.is_confirmed else (alert, True)
        except services.AlertLimit:
            context["limit"] = settings.ALERT_MAX_PER_EMAIL
            return render(request, "alerts/confirm.html", context, status=409)
        context.update(_alert_context(alert))
        context.update(
            confirmed=True,
            already=already,
            manage_path=reverse("alerts:manage", args=[tokens.make(alert, tokens.MANAGE)]),
            unsubscribe_path=reverse("alerts:unsubscribe", args=[tokens.make(alert, tokens.UNSUBSCRIBE)]),
            page_title="Alerte confirmée",
        )
    return render(request, "alerts/confirm.html", context)


@private
@csrf_exempt  # RFC 8058: the mail client posts without cookie; the signed token authorises
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    alert = tokens.read(token, tokens.UNSUBSCRIBE)
    if alert is None:
        return _invalid(
            request,
            "Alerte introuvable",
            "Cette alerte n'existe plus : vous en êtes déjà désinscrit, ou le lien est incomplet.",
        )
    if request.method == "POST":
        services.unsubscribe(alert)
        return render(request, "alerts/unsubscribed.html", {"page_title": "Désinscription confirmée"})
    return render(
        request,
        "alerts/unsubscribe.html",
        {**_alert_context(alert), "page_title": "Se désinscrire d'une alerte", "token": token},
    )


@require_http_methods(["GET", "POST"])
def manage_request(request):
    """« Gérer mes alertes »: the link is sent by e-mail to an address that has alerts; the
    answer is the same for any address."""
    form = EmailForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        blocked = _throttle(request, "manage")
        if blocked:
            form.full_clean()
            form.add_error(None, blocked)
            status = 429
        elif form.is_valid():
            services.send_manage_link(form.cleaned_data["email"])
            return redirect("alerts:manage_requested")
    return render(
        request,
        "alerts/manage_request.html",
        {"form": form, "page_title": "Gérer mes alertes", "manage_days": settings.ALERT_MANAGE_LINK_DAYS},
        status=status,
    )


@require_GET
def manage_requested(request):
    return render(
        request,
        "alerts/manage_requested.html",
        {"page_title": "Lien envoyé", "manage_days": settings.ALERT_MANAGE_LINK_DAYS},
    )


@private
@require_http_methods(["GET", "POST"])
def manage(request, token):
    anchor = tokens.read(token, tokens.MANAGE)
    if anchor is None:
        return _invalid(
            request,
            "Lien « Gérer mes alertes » non valable",
            f"Ce lien n'est plus valable : il a expiré (il vaut {settings.ALERT_MANAGE_LINK_DAYS} jours) "
            "ou l'alerte qu'il désignait a été supprimée. Demandez un nouveau lien :",
        )
    email = anchor.email
    if request.method == "POST":
        if request.POST.get("all"):
            count = services.unsubscribe_all(email)
            flash.success(request, f"{count} alerte{'s' if count > 1 else ''} supprimée{'s' if count > 1 else ''}.")
        else:
            pk = as_id(request.POST.get("alert"))
            alert = Alert.objects.filter(pk=pk, email=email).first() if pk else None
            if alert is not None:
                services.unsubscribe(alert)
                flash.success(request, "L'alerte est supprimée : vous ne recevrez plus ses mails.")
        if Alert.objects.filter(pk=anchor.pk).exists():
            return redirect("alerts:manage", token=token)
        successor = Alert.objects.filter(email=email, confirmed_at__isnull=False).order_by("pk").first()
        if successor is not None:
            return redirect("alerts:manage", token=tokens.make(successor, tokens.MANAGE))
        return render(request, "alerts/manage.html", {"page_title": "Mes alertes", "alerts": [], "email": email})
    alerts = [_alert_context(alert) for alert in services.alerts_of(email)]
    return render(
        request,
        "alerts/manage.html",
        {"page_title": "Mes alertes", "alerts": alerts, "email": email, "token": token},
    )

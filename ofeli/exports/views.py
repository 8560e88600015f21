"""Screens of the exports app: « Exporter » from the search screen and its download icon
(D5), the partners' flow downloads (H2) and the staff screen that manages partners."""

import datetime
import logging
from urllib.parse import parse_qs

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ofeli.core.decorators import carif_required
from ofeli.core.params import as_id
from ofeli.quality.transmission import record_download

from .flows import VERSIONS, flow_files
from .jobs import enqueue, recover_stale_exports
from .jobs import relaunch as relaunch_job
from .models import LHEO_VERSION_OF_FORMAT, ExportFormat, ExportJob, ExportStatus, FlowRun, Partner
from .partners import bearer_token, partner_for_token
from .queries import recent_exports
from .selection import MAX_SELECTED

logger = logging.getLogger(__name__)
FORMAT_OF_LHEO_VERSION = {version: fmt for fmt, version in LHEO_VERSION_OF_FORMAT.items()}


def _back(request):
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)  # a path of the site only: « abc » is no view name to reverse (K1)
    return redirect("formations:search")


@login_required
@require_POST
def create(request):
    """« Exporter »: the selected rows, or every result when none is selected."""
    user = request.user
    structure = request.current_structure
    if not user.is_carif and structure is None:
        return redirect("choose_structure")
    kind = request.POST.get("format", "xlsx")
    version = request.POST.get("version", "2.3")
    if kind == "xlsx":
        export_format = ExportFormat.EXCEL
    elif kind == "lheo" and version in FORMAT_OF_LHEO_VERSION:
        export_format = FORMAT_OF_LHEO_VERSION[version]
    else:
        messages.error(request, "Choisissez « Export Excel » ou « LHEO » et la version LHEO (2.2 ou 2.3).")
        return _back(request)
    criteria = {key: values[-1] for key, values in parse_qs(request.POST.get("criteres", "")).items()}
    rows = [] if request.POST.get("tout") else request.POST.getlist("rows")
    job = ExportJob.objects.create(
        user=user,
        # OF users export within their current structure; staff search every structure.
        structure=None if user.is_carif else structure,
        format=export_format,
        criteria=criteria,
        session_ids=rows[:MAX_SELECTED],
    )
    enqueue(job)
    scope = (
        f"{len(rows)} ligne{'s' if len(rows) > 1 else ''} sélectionnée{'s' if len(rows) > 1 else ''}"
        if rows
        else "tous les résultats"
    )
    job.refresh_from_db()
    if job.status == ExportStatus.DONE:
        messages.success(
            request, f"Export prêt ({scope}) : cliquez sur l'icône de téléchargement dans « Mes exports »."
        )
    elif job.status == ExportStatus.FAILED:
        messages.error(request, f"L'export n'a pas pu être produit : {job.error}")
    else:
        messages.success(
            request,
            f"Export demandé ({scope}). Le fichier est préparé en arrière-plan : il apparaîtra dans « Mes exports », "
            "disponible pendant 7 jours.",
        )
    return _back(request)


@login_required
@never_cache
def panel(request):
    """« Mes exports » (refreshed by htmx while a file is being built). A job whose worker
    died is noticed here too (R3): retried, or failed with « Relancer »."""
    recover_stale_exports(user=request.user)
    return render(request, "formations/search_exports.html", {"exports": recent_exports(request.user)})


@login_required
@require_POST
def relaunch(request, pk):
    """« Relancer » a failed export (R3)."""
    job = get_object_or_404(ExportJob, pk=pk, user=request.user)
    if relaunch_job(job, request.user):
        job.refresh_from_db()
        if job.status == ExportStatus.DONE:
            messages.success(request, "Export prêt : cliquez sur l'icône de téléchargement dans « Mes exports ».")
        elif job.status == ExportStatus.FAILED:
            messages.error(request, f"L'export n'a pas pu être produit : {job.error}")
        else:
            messages.success(request, "Export relancé : le fichier est préparé en arrière-plan, dans « Mes exports ».")
    else:
        messages.info(request, "Cet export n'est pas en échec : il n'y a rien à relancer.")
    return _back(request)


@login_required
def download(request, pk):
    """The file of an export: only its requester and Carif staff, only for 7 days."""
    job = get_object_or_404(ExportJob, pk=pk)
    if not job.can_download(request.user) or not job.is_downloadable:
        raise Http404("Export introuvable ou expiré.")
    try:
        stream = job.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("Fichier introuvable.") from exc
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if job.format == ExportFormat.EXCEL
        else "application/xml"
    )
    response = FileResponse(stream, as_attachment=True, filename=job.filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# --- partners (H2) --------------------------------------------------------------------------


def authenticate_partner(request):
    """The active partner whose token the request carries in ``Authorization: Bearer
    <token>``, else None (K1: never ``?token=``, URLs end up in access logs and proxies;
    ``exports.partners`` compares the secret in constant time with the hash)."""
    return partner_for_token(bearer_token(request))


def _unauthorized(request):
    message = "Jeton partenaire absent ou invalide."
    if "token" in request.GET:
        message += " Le jeton s'envoie dans l'en-tête « Authorization: Bearer <jeton> », jamais dans l'adresse."
    response = JsonResponse({"erreur": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="ofeli-flux-lheo"'
    return response


def _send(run, path, sha256):
    if path is None:
        # Nothing at all changed since the previous run (no new, modified or withdrawn
        # session): there is no LHEO document to send (a document holds a formation).
        return HttpResponse(status=204)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/xml")
    response["X-Content-SHA256"] = sha256
    response["Cache-Control"] = "private, no-store"  # K1: a partner's download, never kept by a cache
    response["X-Flux-Numero"] = str(run.sequence or "")
    return response


def _delta_of_day(version, value):
    """The last published run of the day ``value`` (AAAA-MM-JJ, local time), or 404."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise Http404("Date invalide : attendu AAAA-MM-JJ.") from exc
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    run = FlowRun.kept(version).filter(started_at__gte=start, started_at__lt=end).last()
    if run is None:
        raise Http404("Aucun flux des modifications conservé à cette date.")
    return run


@require_GET
@never_cache
def flow(request, version, kind):
    """A partner downloads the latest published flow: ``complet`` (the full offer),
    ``modifications`` (delta since the previous run; ``?date=AAAA-MM-JJ`` or ``?numero=N``
    for an earlier one still kept) or ``manifeste`` (JSON)."""
    partner = authenticate_partner(request)
    if partner is None:
        return _unauthorized(request)
    if version not in VERSIONS or kind not in ("complet", "modifications", "manifeste"):
        raise Http404
    run = FlowRun.latest(version)
    if run is None:
        raise Http404("Aucun flux publié pour cette version.")
    if kind == "modifications" and request.GET.get("numero"):
        try:
            return _delta(request, partner, version, int(request.GET["numero"]))
        except ValueError as exc:
            raise Http404("Numéro de flux invalide.") from exc
    if kind == "modifications" and request.GET.get("date"):
        run = _delta_of_day(version, request.GET["date"])
    files = flow_files(run)
    Partner.objects.filter(pk=partner.pk).update(last_download_at=timezone.now())
    record_download(partner, run, kind)  # Q2: « téléchargée par … le … »
    logger.info("Flux LHEO %s %s n° %s téléchargé par %s", version, kind, run.sequence, partner.slug)
    if kind == "manifeste":
        return FileResponse(files["manifest"].open("rb"), content_type="application/json")
    if kind == "complet":
        return _send(run, files["full"], run.full_sha256)
    return _send(run, files["delta"], run.delta_sha256)


def _delta(request, partner, version, sequence):
    run = FlowRun.kept(version).filter(sequence=sequence).first()
    if run is None:
        raise Http404("Ce flux des modifications n'est plus conservé : rechargez le flux complet.")
    Partner.objects.filter(pk=partner.pk).update(last_download_at=timezone.now())
    record_download(partner, run, "modifications")  # Q2
    logger.info("Flux LHEO %s modifications n° %s téléchargé par %s", version, sequence, partner.slug)
    return _send(run, flow_files(run)["delta"], run.delta_sha256)


@require_GET
@never_cache
def flow_delta(request, version, sequence):
    """A partner downloads the delta number ``sequence`` (H2b: catching up a missed night)."""
    partner = authenticate_partner(request)
    if partner is None:
        return _unauthorized(request)
    if version not in VERSIONS:
        raise Http404
    return _delta(request, partner, version, sequence)


@carif_required
def partners(request):
    """Staff screen: partners, their tokens, and the latest flows."""
    token = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            name = request.POST.get("name", "").strip()[:150]
            slug = slugify(request.POST.get("slug", "") or name)[:50]
            if not name or not slug:
                messages.error(request, "Indiquez le nom du partenaire.")
            elif Partner.objects.filter(slug=slug).exists():
                messages.error(request, f"Un partenaire « {slug} » existe déjà.")
            else:
                partner = Partner(
                    name=name,
                    slug=slug,
                    contact_email=request.POST.get("contact_email", "").strip()[:254],
                    created_by=request.user,
                )
                token = partner.new_token()
                partner.save()
                messages.success(
                    request, f"Partenaire « {name} » créé. Copiez son jeton maintenant : il ne sera plus affiché."
                )
        else:
            partner = get_object_or_404(Partner, pk=as_id(request.POST.get("partner")))
            with transaction.atomic():
                if action == "token":
                    token = partner.new_token()
                    partner.save()
                    messages.success(
                        request,
                        f"Nouveau jeton pour « {partner.name} » : l'ancien ne fonctionne plus. Copiez-le maintenant.",
                    )
                elif action in ("disable", "enable"):
                    partner.is_active = action == "enable"
                    partner.save(update_fields=["is_active"])
                    messages.success(
                        request, f"Partenaire « {partner.name} » {'réactivé' if partner.is_active else 'désactivé'}."
                    )
        if token is None:
            return redirect("exports:partners")
    runs = {version: FlowRun.latest(version) for version in VERSIONS}
    return render(
        request,
        "exports/partners.html",
        {
            "partners": Partner.objects.all(),
            "token": token,
            "runs": runs,
            "recent_runs": FlowRun.objects.all()[:10],
            "versions": VERSIONS,
            "page_title": "Flux partenaires",
        },
    )

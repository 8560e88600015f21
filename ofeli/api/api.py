"""The partner API, /api/v1/ (J1-J3), with django-ninja.

django-ninja rather than DRF + drf-spectacular: the API is read-only and small, its
contract is written once as type-annotated schemas (schemas.py) from which ninja generates
the OpenAPI 3 document and validates every answer; it ships Swagger UI as static files (no
CDN) and adds no second framework of views, serializers and routers to the project.
"""

import base64
import binascii
import hashlib
import json
import logging
import math
from datetime import date, datetime

from csp.decorators import csp_update
from django.db.models import Q, Subquery, Value
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_etags
from django.views.decorators.gzip import gzip_page
from ninja import NinjaAPI, Query, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError, ValidationError
from ninja.security.base import AuthBase
from pydantic import Field

from ofeli.exports.lheo import published_formations
from ofeli.public.communes import resolve
from ofeli.public.text import query_terms
from ofeli.referentials import lheo
from ofeli.referentials.models import Certification as CertificationModel
from ofeli.structures.models import Structure

from . import schemas
from .access import ApiProblem, authenticate
from .models import EntryKind, OfferEntry
from .offer import _certification, _organisme, digits

PAGE_DEFAULT = 100
PAGE_MAX = 500
PROBLEM = "application/problem+json"


class ApiAuth(AuthBase):
    """ninja auth callable: documents the Bearer scheme and delegates to access.py."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = "Jeton partenaire (le même que pour les flux LHEO)."

    def __call__(self, request):
        request.api_partner = authenticate(request)
        return request.api_partner or "public"


api = NinjaAPI(
    title="API de l'offre de formation",
    version="1",
    description=(
        "L'offre de formation publiée (formations, sessions, organismes, certifications, "
        "tables LHEO), en lecture seule, pour les partenaires. Jeton partenaire dans l'en-tête "
        "`Authorization: Bearer <jeton>`. Synchronisation : listez avec `modified_since`, puis "
        "appliquez `/suppressions/?depuis=`. Pagination par curseur (`suivant`). Erreurs au "
        "format RFC 9457 (application/problem+json)."
    ),
    urls_namespace="api",
    auth=ApiAuth(),
    docs_url="/docs/",
    # Swagger UI (vendored by django-ninja) sets style attributes: allowed on this page only.
    docs_decorator=csp_update({"style-src": ["'self'", "'unsafe-inline'"], "img-src": ["'self'", "data:"]}),
    openapi_url="/openapi.json",
)


# --- errors (RFC 9457) ---------------------------------------------------------------------


def problem(request, status, title, detail="", *, headers=None, errors=None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": request.path}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiProblem)
def on_problem(request, exc):
    return problem(request, exc.status, exc.title, exc.detail, headers=exc.headers, errors=exc.errors)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc):
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "path")]
        errors.append({"parametre": ".".join(loc), "message": f"Valeur invalide pour « {'.'.join(loc)} »."})
    names = ", ".join(f"« {e['parametre']} »" for e in errors)
    return problem(request, 400, "Paramètres invalides", f"Vérifiez les paramètres : {names}.", errors=errors)


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    return problem(request, exc.status_code, "Erreur", str(exc))


@api.exception_handler(Exception)
def on_unexpected(request, exc):  # pragma: no cover - a bug: logged by Django, answered as JSON
    logging.getLogger("ofeli.api").exception("API error on %s", request.path)
    return problem(request, 500, "Erreur interne", "Une erreur inattendue s'est produite : réessayez plus tard.")


# --- filters, cursors, ETags ---------------------------------------------------------------


class OfferFilters(Schema):
    q: str | None = Field(None, max_length=200, description="Mots (intitulé, organisme, certification)")
    commune: str | None = Field(None, max_length=100, description="Nom, code postal ou code INSEE d'une commune")
    rayon: int = Field(30, ge=1, le=200, description="Rayon autour de la commune, en km")
    departement: str | None = Field(None, pattern=r"^(\d{2,3}|2[AB])$")
    debut_min: date | None = None
    debut_max: date | None = None
    financeur: str | None = Field(None, max_length=3, pattern=r"^\d{1,3}$", description="Code LHEO dict-financeurs")
    dispositif: str | None = Field(None, max_length=10)
    certification: str | None = Field(None, max_length=15, description="RNCP12345 ou RS1234")
    niveau: str | None = Field(None, max_length=3, pattern=r"^\d{1,3}$", description="Code LHEO dict-niveaux")
    modalite: str | None = Field(None, pattern=r"^[012]$", description="Code LHEO dict-modalites-enseignement")
    modified_since: datetime | None = Field(None, description="Seulement ce qui a changé strictement après cet instant")
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(None, max_length=300)


def _session_filter(filters):
    """Q on session entries for the filters that describe sessions, or None when none does."""
    q = Q()
    used = False
    for term in query_terms(filters.q or ""):
        q &= Q(search_text__contains=f" {term}")
        used = True
    if filters.commune:
        found = resolve(filters.commune)
        if found.commune is None:
            raise ApiProblem(
                400, "Paramètres invalides", found.error, errors=[{"parametre": "commune", "message": found.error}]
            )
        lat, lon, radius = found.commune.latitude, found.commune.longitude, filters.rayon
        dlat = radius / 110.57
        dlon = radius / (111.32 * max(math.cos(math.radians(lat)), 0.01))
        box = Q(latitude__range=(lat - dlat, lat + dlat), longitude__range=(lon - dlon, lon + dlon))
        q &= box | Q(modalite="2")  # fully remote sessions are reachable from anywhere
        used = True
    if filters.departement:
        q &= Q(departements__contains=f"|{filters.departement}|")
        used = True
    if filters.debut_min:
        q &= Q(date_debut__gte=filters.debut_min)
        used = True
    if filters.debut_max:
        q &= Q(date_debut__lte=filters.debut_max)
        used = True
    if filters.financeur:
        q &= Q(financeurs__contains=f"|{filters.financeur}|")
        used = True
    if filters.dispositif:
        q &= Q(dispositifs__contains=f"|{filters.dispositif}|")
        used = True
    if filters.certification:
        code = filters.certification.upper().replace(" ", "")
        number = digits(code)
        if not number:
            raise ApiProblem(
                400,
                "Paramètres invalides",
                "« certification » attend un code RNCP ou RS, par exemple RNCP36395 ou RS5629.",
                errors=[{"parametre": "certification", "message": "Code RNCP ou RS attendu."}],
            )
        q &= Q(code_rs=f"RS{number}") if code.startswith("RS") else Q(code_rncp=f"RNCP{number}")
        used = True
    if filters.niveau:
        q &= Q(niveau_sortie=filters.niveau)
        used = True
    if filters.modalite:
        q &= Q(modalite=filters.modalite)
        used = True
    return q if used else None


def _encode(payload):
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        bound = payload.get("x")
        return (
            int(payload["id"]),
            datetime.fromisoformat(payload["u"]),
            payload.get("m") and datetime.fromisoformat(payload["m"]),
            int(bound) if bound is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, json.JSONDecodeError):
        raise ApiProblem(
            400,
            "Curseur invalide",
            "Le curseur n'est pas reconnu : reprenez la liste depuis le début.",
            errors=[{"parametre": "cursor", "message": "Curseur invalide."}],
        ) from None


# What a page reads of an entry: its stored JSON text and what the status of the day, the
# links and the ETag are made of; never the filter columns nor a decoded document.
ENTRY_COLUMNS = (
    "id",
    "kind",
    "reference",
    "formation_reference",
    "structure_reference",
    "document",
    "digest",
    "modified_at",
    "deleted_at",
    "date_debut",
    "date_fin",
    "entree_permanente",
    "debut_inscription",
    "fin_inscription",
)


def _page(request, queryset, filters, *, order_by_modified):
    """One page by cursor, over a snapshot fixed by the first page (``horodatage``), so that
    an offer published while a partner pages through it is neither skipped nor repeated:
    - without ``modified_since``, entries in id order (ids never change), up to the last id
      of the snapshot: what is published meanwhile comes with the next ``modified_since``;
    - with ``modified_since``, entries in (modified_at, id) order up to the snapshot instant:
      an entry changed meanwhile leaves this pass and comes with the next one.
    Rows are named tuples of ``ENTRY_COLUMNS``."""
    if filters.cursor:
        last_id, until, last_modified, bound = _decode(filters.cursor)
    else:
        last_id, until, last_modified, bound = 0, timezone.now(), None, None
    qs = queryset
    if filters.modified_since:
        qs = qs.filter(modified_at__gt=filters.modified_since)
    if order_by_modified:
        qs = qs.filter(modified_at__lte=until)
        if last_modified:
            qs = qs.filter(Q(modified_at__gt=last_modified) | Q(modified_at=last_modified, id__gt=last_id))
        qs = qs.order_by("modified_at", "id")
    elif bound is None:
        # the first page reads the snapshot's last id in the same statement (a subquery the
        # database evaluates once, in the statement's snapshot, so every row it returns is
        # below it): a page stays one query. Only in the SELECT list: in WHERE, its unknown
        # value made PostgreSQL's planner walk the whole index for filters matching little.
        last_entry = Subquery(OfferEntry.objects.order_by("-id").values("id")[:1])
        qs = qs.filter(id__gt=last_id).annotate(bound=last_entry).order_by("id")
    else:
        qs = qs.filter(id__gt=last_id, id__lte=bound).annotate(bound=Value(bound)).order_by("id")
    columns = ENTRY_COLUMNS if order_by_modified else (*ENTRY_COLUMNS, "bound")
    rows = list(qs.values_list(*columns, named=True)[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    following = None
    if more:
        last = rows[-1]
        payload = {"id": last.id, "u": until.isoformat()}
        if order_by_modified:
            payload["m"] = last.modified_at.isoformat()
        else:
            payload["x"] = last.bound
        params = request.GET.copy()
        params["cursor"] = _encode(payload)
        following = request.build_absolute_uri(request.path + "?" + params.urlencode())
    return rows, following, until


def _etag_of(parts):
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def _not_modified(request, tag):
    """A 304 when If-None-Match names ``tag``, compared weakly (RFC 9110): gzip answers
    carry ``W/"..."`` (GZipMiddleware weakens the tag) and clients send it back."""
    sent = {value.removeprefix("W/") for value in parse_etags(request.headers.get("If-None-Match", ""))}
    if tag in sent or "*" in sent:
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = tag
        return not_modified
    return None


def _etag(request, response, parts):
    tag = _etag_of(parts)
    response = _not_modified(request, tag) or response
    response["ETag"] = tag
    return response


def _dumps(value):
    """JSON text as ``JsonResponse`` writes it (``ensure_ascii=False``, default separators)."""
    return json.dumps(value, ensure_ascii=False)


def _json(payload):
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False}, safe=False)


def _json_text(text):
    return HttpResponse(text.encode(), content_type="application/json")


def status_of(today, start, end, permanent, opens, closes):
    """One status per session, from today's date (the public site's wording, P1)."""
    if end and end < today:
        return "terminee"
    if permanent:
        return "entree_permanente"
    if start and start <= today:
        return "en_cours"
    if closes and closes < today:
        return "inscriptions_closes"
    if opens and opens > today:
        return "a_venir"
    if opens or closes:
        return "inscriptions_ouvertes"
    return "a_venir"


def session_status(data, today=None):
    """``status_of`` from a session document."""

    def day(name):
        return date.fromisoformat(data[name]) if data.get(name) else None

    return status_of(
        today or timezone.localdate(),
        day("date_debut"),
        day("date_fin"),
        bool(data.get("entree_sortie_permanente")),
        day("debut_inscription"),
        day("fin_inscription"),
    )


class EntryWriter:
    """Writes entries as JSON text: the stored document, completed with the status of the
    day (sessions), ``modifie_le`` and ``liens``, exactly the keys of ``schemas.Session`` /
    ``schemas.Formation`` and the text ``JsonResponse`` would write for the decoded document
    plus these keys. The URL patterns are resolved once, not three times per entry."""

    MARKER = "0REF0"

    def __init__(self):
        self.today = timezone.localdate()
        self.urls = {
            name: reverse(f"api:{name}", args=[self.MARKER]).split(self.MARKER)
            for name in ("session", "formation", "organisme")
        }

    def url(self, name, reference):
        before, after = self.urls[name]
        return before + reference + after

    def text(self, row):
        if row.kind == EntryKind.SESSION:
            status = status_of(
                self.today,
                row.date_debut,
                row.date_fin,
                row.entree_permanente,
                row.debut_inscription,
                row.fin_inscription,
            )
            links = {
                "self": self.url("session", row.reference),
                "formation": self.url("formation", row.formation_reference),
                "organisme": self.url("organisme", row.structure_reference),
            }
            tail = f'"statut": "{status}", '
        else:
            links = {
                "self": self.url("formation", row.reference),
                "organisme": self.url("organisme", row.structure_reference),
            }
            tail = ""
        tail += f'"modifie_le": "{row.modified_at.isoformat()}", "liens": {_dumps(links)}}}'
        document = row.document
        return document[:-1] + ", " + tail if len(document) > 2 else "{" + tail


def _page_text(until, following, texts):
    return f'{{"horodatage": "{until.isoformat()}", "suivant": {_dumps(following)}, "resultats": [{", ".join(texts)}]}}'


def _list_entries(request, kind, filters):
    live = OfferEntry.objects.filter(kind=kind, deleted_at__isnull=True)
    session_q = _session_filter(filters)
    if session_q is not None:
        if kind == EntryKind.SESSION:
            live = live.filter(session_q)
        else:
            matching = OfferEntry.objects.filter(session_q, kind=EntryKind.SESSION, deleted_at__isnull=True)
            live = live.filter(reference__in=matching.values("formation_reference"))
    rows, following, until = _page(request, live, filters, order_by_modified=filters.modified_since is not None)
    tag = _etag_of([e.digest + e.modified_at.isoformat() for e in rows] + [following or ""])
    not_modified = _not_modified(request, tag)
    if not_modified:
        return not_modified
    writer = EntryWriter()
    response = _json_text(_page_text(until, following, [writer.text(row) for row in rows]))
    response["ETag"] = tag
    return response


def _one_entry(request, kind, reference):
    entry = (
        OfferEntry.objects.filter(kind=kind, reference=reference[:10]).values_list(*ENTRY_COLUMNS, named=True).first()
    )
    noun = "Session" if kind == EntryKind.SESSION else "Formation"
    if entry is None:
        raise ApiProblem(
            404, f"{noun} inconnue", f"Aucune {noun.lower()} publiée ne porte le numéro « {reference[:20]} »."
        )
    if entry.deleted_at:
        raise ApiProblem(
            410,
            f"{noun} retirée",
            f"Cette {noun.lower()} a été retirée de l'offre le {timezone.localtime(entry.deleted_at):%d/%m/%Y à %H:%M}.",
        )
    tag = _etag_of([entry.digest, entry.modified_at.isoformat()])
    response = _not_modified(request, tag) or _json_text(EntryWriter().text(entry))
    response["ETag"] = tag
    return response


# --- resources -----------------------------------------------------------------------------

GZIP = decorate_view(gzip_page)
ERRORS = {400: schemas.Problem, 401: schemas.Problem, 403: schemas.Problem, 429: schemas.Problem}


@api.get("/sessions/", response={200: schemas.SessionPage, **ERRORS}, url_name="sessions", summary="Sessions publiées")
@GZIP
def list_sessions(request, filters: Query[OfferFilters]):
    return _list_entries(request, EntryKind.SESSION, filters)


@api.get(
    "/sessions/{numero}/",
    response={200: schemas.Session, 404: schemas.Problem, 410: schemas.Problem, **ERRORS},
    url_name="session",
    summary="Une session",
)
@GZIP
def get_session(request, numero: str):
    return _one_entry(request, EntryKind.SESSION, numero)


@api.get(
    "/formations/",
    response={200: schemas.FormationPage, **ERRORS},
    url_name="formations",
    summary="Formations publiées",
)
@GZIP
def list_formations(request, filters: Query[OfferFilters]):
    """Formations ayant au moins une session qui répond aux filtres de session."""
    return _list_entries(request, EntryKind.FORMATION, filters)


@api.get(
    "/formations/{numero}/",
    response={200: schemas.Formation, 404: schemas.Problem, 410: schemas.Problem, **ERRORS},
    url_name="formation",
    summary="Une formation",
)
@GZIP
def get_formation(request, numero: str):
    return _one_entry(request, EntryKind.FORMATION, numero)


class DeletionFilters(Schema):
    depuis: datetime | None = Field(None, description="Suppressions strictement après cet instant")
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(None, max_length=300)


@api.get(
    "/suppressions/",
    response={200: schemas.DeletionPage, **ERRORS},
    url_name="deletions",
    summary="Formations et sessions retirées de l'offre",
)
@GZIP
def list_deletions(request, filters: Query[DeletionFilters]):
    if filters.cursor:
        last_id, until, last_deleted, _ = _decode(filters.cursor)
    else:
        last_id, until, last_deleted = 0, timezone.now(), None
    qs = OfferEntry.objects.filter(deleted_at__isnull=False, deleted_at__lte=until)
    if filters.depuis:
        qs = qs.filter(deleted_at__gt=filters.depuis)
    if last_deleted:
        qs = qs.filter(Q(deleted_at__gt=last_deleted) | Q(deleted_at=last_deleted, id__gt=last_id))
    rows = list(qs.order_by("deleted_at", "id")[: filters.limit + 1])
    following = None
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        params = request.GET.copy()
        params["cursor"] = _encode({"id": rows[-1].id, "u": until.isoformat(), "m": rows[-1].deleted_at.isoformat()})
        following = request.build_absolute_uri(request.path + "?" + params.urlencode())
    payload = {
        "horodatage": until.isoformat(),
        "suivant": following,
        "resultats": [
            {
                "type": e.kind,
                "numero": e.reference,
                "formation": e.formation_reference,
                "supprime_le": e.deleted_at.isoformat(),
            }
            for e in rows
        ],
    }
    return _etag(request, _json(payload), [f"{e.id}:{e.deleted_at.isoformat()}" for e in rows] + [following or ""])


class ListFilters(Schema):
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(None, max_length=300)


def _simple_page(request, queryset, filters, key, serialize):
    """Pages of a small referential ordered by a unique ``key`` (a reference or a code);
    ``serialize`` turns the page's rows into documents at once (a fixed number of queries)."""
    if filters.cursor:
        try:
            after = base64.urlsafe_b64decode(filters.cursor + "=" * (-len(filters.cursor) % 4)).decode()
        except (ValueError, binascii.Error):
            raise ApiProblem(
                400, "Curseur invalide", "Le curseur n'est pas reconnu : reprenez la liste depuis le début."
            ) from None
        queryset = queryset.filter(**{f"{key}__gt": after})
    rows = list(queryset.order_by(key)[: filters.limit + 1])
    following = None
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        params = request.GET.copy()
        params["cursor"] = base64.urlsafe_b64encode(getattr(rows[-1], key).encode()).decode().rstrip("=")
        following = request.build_absolute_uri(request.path + "?" + params.urlencode())
    results = serialize(rows)
    payload = {"horodatage": timezone.now().isoformat(), "suivant": following, "resultats": results}
    return _etag(request, _json(payload), [json.dumps(results, sort_keys=True, default=str), following or ""])


def _publishing_structures():
    return Structure.objects.filter(formations__in=published_formations()).distinct().select_related("live_version")


def _organisme_out(structure):
    data = _organisme(structure)
    data["formations"] = sorted(structure.published_refs)
    data["liens"] = {"self": reverse("api:organisme", args=[structure.reference])}
    return data


def _with_published_refs(structures):
    refs = {}
    for ref, formation_ref in (
        published_formations().filter(structure__in=structures).values_list("structure__reference", "reference")
    ):
        refs.setdefault(ref, []).append(formation_ref)
    for structure in structures:
        structure.published_refs = refs.get(structure.reference, [])
    return structures


@api.get(
    "/organismes/",
    response={200: schemas.OrganismePage, **ERRORS},
    url_name="organismes",
    summary="Organismes qui publient",
)
@GZIP
def list_organismes(request, filters: Query[ListFilters]):
    def serialize(structures):
        return [_organisme_out(structure) for structure in _with_published_refs(structures)]

    return _simple_page(request, _publishing_structures(), filters, "reference", serialize)


@api.get(
    "/organismes/{reference}/",
    response={200: schemas.Organisme, 404: schemas.Problem, **ERRORS},
    url_name="organisme",
    summary="Un organisme",
)
@GZIP
def get_organisme(request, reference: str):
    structure = _publishing_structures().filter(reference=reference[:10]).first()
    if structure is None:
        raise ApiProblem(
            404, "Organisme inconnu", f"Aucun organisme publiant ne porte la référence « {reference[:20]} »."
        )
    data = _organisme_out(_with_published_refs([structure])[0])
    return _etag(request, _json(data), [json.dumps(data, sort_keys=True)])


def _used_certifications():
    return CertificationModel.objects.filter(formation_versions__live_of__in=published_formations()).distinct()


@api.get(
    "/certifications/",
    response={200: schemas.CertificationPage, **ERRORS},
    url_name="certifications",
    summary="Certifications de l'offre publiée",
)
@GZIP
def list_certifications(request, filters: Query[ListFilters]):
    def serialize(certifications):
        return [_certification(cert) for cert in certifications]

    return _simple_page(request, _used_certifications(), filters, "code_certifinfo", serialize)


@api.get(
    "/certifications/{code_certifinfo}/",
    response={200: schemas.Certification, 404: schemas.Problem, **ERRORS},
    url_name="certification",
    summary="Une certification",
)
@GZIP
def get_certification(request, code_certifinfo: str):
    cert = _used_certifications().filter(code_certifinfo=code_certifinfo[:10]).first()
    if cert is None:
        raise ApiProblem(
            404, "Certification inconnue", f"Aucune certification de l'offre n'a le code « {code_certifinfo[:20]} »."
        )
    data = _certification(cert)
    return _etag(request, _json(data), [json.dumps(data, sort_keys=True, default=str)])


@api.get("/tables/", response={200: list[str], **ERRORS}, url_name="tables", summary="Tables de codes LHEO")
@GZIP
def list_tables(request):
    return _etag(request, _json(sorted(lheo.tables())), [",".join(sorted(lheo.tables()))])


@api.get(
    "/tables/{nom}/",
    response={200: schemas.Table, 404: schemas.Problem, **ERRORS},
    url_name="table",
    summary="Une table",
)
@GZIP
def get_table(request, nom: str):
    if nom not in lheo.tables():
        raise ApiProblem(404, "Table inconnue", f"Aucune table LHEO ne s'appelle « {nom[:60]} ».")
    entries = [{"code": code, "libelle": label} for code, label in lheo.entries(nom)]
    data = {"nom": nom, "entrees": entries}
    return _etag(request, _json(data), [json.dumps(data, sort_keys=True)])

"""The « Formations » search screen of the OF user and the Carif (SPEC D1-D5).

One row per session, a formation without sessions once. The row shows the version the user
works on: the draft when a change request is open for the formation, else the published
version. OF users see the formations of their current « Espace structure »; Carif staff see
every structure.

Everything is computed in SQL on the rows of the current versions (``FormationVersion`` LEFT
JOIN ``SessionVersion``), with annotations for the columns, so that criteria, column filters,
sorting, counts and pagination cost a fixed number of queries whatever the number of rows:

1. the counts (« N formations / M sessions », and the number of rows for the pager);
2. the rows of the page;
3. the financements of the sessions of the page (Dispositif column, coloured dots);
4. the dispositifs for the « Mesure » type-ahead;
5. the user's recent exports (« Exporter », D5).

Criteria live in the URL (GET), so they survive pagination and the back button; htmx only
swaps the results without reloading the page.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date

from ofeli.exports.queries import recent_exports  # the exports app builds the files (D5)
from ofeli.referentials.models import Dispositif
from ofeli.workflow.enums import OPEN_STATUSES, ChangeStatus
from ofeli.workflow.models import ChangeRequest

from .enums import FinancementEtat
from .models import Financement, FormationVersion, SessionPlace, SessionTrainer, SessionVersion
from .queries import STATE_LABELS

PER_PAGE_CHOICES = (10, 25, 50, 100)
DEFAULT_PER_PAGE = 25

# The ten columns of the guide: key, label.
COLUMNS = (
    ("ref", "Référence"),
    ("intitule", "Intitulé"),
    ("session", "N° session"),
    ("debut", "Date de début"),
    ("fin", "Date de fin"),
    ("formateur", "OF Formateur"),
    ("dispositif", "Dispositif"),
    ("etat", "État"),
    ("dpt", "Dpt"),
    ("ville", "Ville"),
)
COLUMN_KEYS = [key for key, _ in COLUMNS]
DEFAULT_SORT = "intitule"

# « État » criterion (D2) and the dashboard's links (B3).
STATE_CRITERIA = (
    ("creation", "Formations en cours de création"),
    ("brouillon", "Brouillons"),
    ("diffusion", "Diffusion"),
    ("fonds_publics", "Formations fonds publics diffusées"),
    ("attente", "En attente de validation"),
    ("complement", "En attente complément d'information"),
    ("archive", "Archive (non diffusées)"),
    ("refusee", "Refusée"),
    ("erreur_liens", "Erreur liens site internet"),
)
# « État » column filter: the state shown in the column.
ROW_STATES = ("creation", "brouillon", "diffusion", "attente", "complement", "archive", "refusee")
# Sorting the État column by its label.
STATE_RANK = {state: rank for rank, state in enumerate(sorted(ROW_STATES, key=lambda s: STATE_LABELS[s]))}

# Diffusion dots (D4): state -> label of its text alternative.
DOT_LABELS = {"diffusion": "Diffusion", "attente": "En attente", "archive": "Archive"}
FINANCEMENT_DOTS = {
    FinancementEtat.DIFFUSION: "diffusion",
    FinancementEtat.ATTENTE: "attente",
    FinancementEtat.ARCHIVE: "archive",
}

TEXT_FILTERS = ("ref", "intitule", "session", "formateur", "dispositif", "dpt", "ville")
MAX_TEXT = 100


def _text(value):
    return (value or "").strip()[:MAX_TEXT]


def _date(value):
    value = _text(value)
    if not value:
        return None
    try:
        return parse_date(value) or datetime.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        return None


@dataclass
class SearchParams:
    """The criteria of the screen, read from the URL (or from an export job)."""

    reference: str = ""
    ref_type: str = ""  # "F" formation, "S" session, "" either
    etat: str = ""
    mesure: str = ""  # dispositif code
    marche: str = ""
    organisme: str = ""  # Carif staff only: structure name, reference or SIRET
    filters: dict = field(default_factory=dict)  # column key -> value
    sort: str = DEFAULT_SORT
    descending: bool = False
    per_page: int = DEFAULT_PER_PAGE
    select_all: bool = False

    @classmethod
    def from_query(cls, query):
        """``query``: a QueryDict or a plain dict (criteria stored with an export job)."""

        def get(name):
            value = query.get(name, "")
            if isinstance(value, list):
                value = value[0] if value else ""
            return str(value)

        params = cls(
            reference=_text(get("reference")).upper(),
            ref_type=get("type_reference") if get("type_reference") in ("F", "S") else "",
            etat=get("etat") if get("etat") in dict(STATE_CRITERIA) else "",
            mesure=_text(get("mesure")).split(" - ", 1)[0].strip(),
            marche=_text(get("marche")),
            organisme=_text(get("organisme")),
        )
        for key in TEXT_FILTERS:
            value = _text(get(f"f_{key}"))
            if value:
                params.filters[key] = value
        for key in ("debut", "fin"):
            value = _date(get(f"f_{key}"))
            if value:
                params.filters[key] = value
        if get("f_etat") in ROW_STATES:
            params.filters["etat"] = get("f_etat")
        sort = get("tri")
        if sort.lstrip("-") in COLUMN_KEYS:
            params.sort, params.descending = sort.lstrip("-"), sort.startswith("-")
        try:
            per_page = int(get("par_page") or DEFAULT_PER_PAGE)
        except ValueError:
            per_page = DEFAULT_PER_PAGE
        params.per_page = per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE
        params.select_all = get("sel") == "tout"
        return params

    def criteria(self):
        """The criteria as URL parameters (no page, no selection): kept with an export job."""
        values = {
            "reference": self.reference,
            "type_reference": self.ref_type,
            "etat": self.etat,
            "mesure": self.mesure,
            "marche": self.marche,
            "organisme": self.organisme,
            "tri": self.tri,
            "par_page": str(self.per_page),
        }
        for key, value in self.filters.items():
            values[f"f_{key}"] = value.isoformat() if isinstance(value, datetime.date) else value
        return {k: v for k, v in values.items() if v}

    @property
    def tri(self):
        return f"{'-' if self.descending else ''}{self.sort}"

    @property
    def has_criteria(self):
        return bool(self.reference or self.etat or self.mesure or self.marche or self.organisme or self.filters)


# --- the rows ---------------------------------------------------------------------------


def first_of_session(model, value, order=("-is_principal", "pk")):
    """``value`` of the row's first ``model`` row (principal first): a subquery per row."""
    return Subquery(model.objects.filter(session_version=OuterRef("sv_id")).order_by(*order).values(value)[:1])


def current_versions(user, structure=None):
    """The version each formation is worked on: the draft of its open change request, else
    its published version (a formation refused at creation keeps its refused version).
    OF users: the formations of ``structure``; Carif staff: every structure's, or only
    ``structure``'s when one is given."""
    open_change = ChangeRequest.objects.filter(formation=OuterRef("formation_id"), status__in=OPEN_STATUSES)
    qs = FormationVersion.objects.annotate(has_open=Exists(open_change)).filter(
        Q(change_request__status__in=OPEN_STATUSES)
        | Q(live_of__isnull=False, has_open=False)
        | Q(formation__live_version__isnull=True, has_open=False, change_request__status=ChangeStatus.REFUSED)
    )
    if not user.is_carif:
        if structure is None:
            return qs.none()
        qs = qs.filter(formation__structure=structure)
    elif structure is not None:
        qs = qs.filter(formation__structure=structure)
    return qs


def rows_queryset(user, structure, params):
    """Every row matching ``params`` (unordered, not paginated), as an annotated queryset of
    ``FormationVersion`` LEFT JOIN its sessions. Session columns are annotations, so that
    filters on them reuse the one join."""
    qs = current_versions(user, structure).annotate(
        sv_id=F("sessions__pk"),
        s_id=F("sessions__session_id"),
        s_ref=F("sessions__session__reference"),
        s_archived=F("sessions__session__archived_at"),
        debut=F("sessions__date_debut"),
        fin=F("sessions__date_fin"),
        # The row's version is the draft of the open change request when there is one: its
        # status is the formation's open status (a join, not a subquery per row).
        open_status=Case(
            When(change_request__status__in=OPEN_STATUSES, then=F("change_request__status")),
            default=Value(None),
            output_field=CharField(),
        ),
    )
    qs = qs.annotate(
        formateur=first_of_session(SessionTrainer, "structure__nom"),
        code_postal=first_of_session(SessionPlace, "lieu__code_postal"),
        ville=first_of_session(SessionPlace, "lieu__ville"),
        s_published=Exists(
            SessionVersion.objects.filter(
                formation_version_id=OuterRef("formation__live_version_id"), session_id=OuterRef("s_id")
            )
        ),
    )
    qs = qs.annotate(
        etat=Case(
            When(Q(formation__archived_at__isnull=False) | Q(s_archived__isnull=False), then=Value("archive")),
            When(open_status=ChangeStatus.SUBMITTED, then=Value("attente")),
            When(open_status=ChangeStatus.NEEDS_INFO, then=Value("complement")),
            When(open_status=ChangeStatus.DRAFT, formation__live_version__isnull=False, then=Value("brouillon")),
            When(open_status=ChangeStatus.DRAFT, then=Value("creation")),
            When(formation__live_version__isnull=False, then=Value("diffusion")),
            default=Value("refusee"),
            output_field=CharField(),
        ),
    )
    qs = _criteria(qs, user, params)
    return _column_filters(qs, params.filters)


def _financement_exists(**lookups):
    return Exists(Financement.objects.filter(session_version=OuterRef("sv_id"), **lookups))


def _criteria(qs, user, params):
    if params.reference:
        by_formation = Q(formation__reference__icontains=params.reference)
        by_session = Q(s_ref__icontains=params.reference)
        qs = qs.filter({"F": by_formation, "S": by_session}.get(params.ref_type, by_formation | by_session))
    if params.mesure:  # a code picked in the list, or a few letters of the libellé
        qs = qs.filter(
            _financement_exists(dispositif__code__iexact=params.mesure)
            | _financement_exists(dispositif__libelle__icontains=params.mesure)
        )
    if params.marche:
        qs = qs.filter(_financement_exists(numero_marche__icontains=params.marche))
    if params.organisme and user.is_carif:
        term = params.organisme
        qs = qs.filter(
            Q(formation__structure__nom__icontains=term)
            | Q(formation__structure__reference__iexact=term)
            | Q(formation__structure__siret=term.replace(" ", ""))
        )
    etat = params.etat
    if etat in ("creation", "brouillon", "attente", "complement", "archive", "refusee"):
        qs = qs.filter(etat=etat)  # the state the row shows
    elif etat in ("diffusion", "fonds_publics"):  # online, even while a change is open
        qs = qs.filter(
            formation__live_version__isnull=False, formation__archived_at__isnull=True, s_archived__isnull=True
        )
        if etat == "fonds_publics":
            qs = qs.filter(_financement_exists(dispositif__is_public_funds=True))
    elif etat == "erreur_liens":
        qs = qs.exclude(formation__link_error="")
    return qs


def _column_filters(qs, filters):
    for key, value in filters.items():
        if key == "ref":
            qs = qs.filter(Q(formation__reference__icontains=value) | Q(s_ref__icontains=value))
        elif key == "intitule":
            qs = qs.filter(intitule__icontains=value)
        elif key == "session":
            qs = qs.filter(s_ref__icontains=value)
        elif key == "debut":
            qs = qs.filter(debut__gte=value)
        elif key == "fin":
            qs = qs.filter(fin__lte=value)
        elif key == "formateur":
            qs = qs.filter(formateur__icontains=value)
        elif key == "dispositif":
            qs = qs.filter(
                _financement_exists(dispositif__libelle__icontains=value)
                | _financement_exists(dispositif__code__icontains=value)
            )
        elif key == "etat":
            qs = qs.filter(etat=value)
        elif key == "dpt":
            qs = qs.filter(code_postal__startswith=value)
        elif key == "ville":
            qs = qs.filter(ville__icontains=value)
    return qs


def ordered(qs, params):
    """Sort by the chosen column, then by formation and session so that pages are stable."""
    key = params.sort
    if key == "dispositif":
        qs = qs.annotate(
            dispositif=first_of_session(Financement, "dispositif__libelle", order=("pk",)),
        )
    if key == "etat":
        qs = qs.annotate(
            etat_rank=Case(
                *[When(etat=state, then=Value(rank)) for state, rank in STATE_RANK.items()],
                output_field=IntegerField(),
            )
        )
    sort_field = {
        "ref": "formation__reference",
        "intitule": "intitule",
        "session": "s_ref",
        "debut": "debut",
        "fin": "fin",
        "formateur": "formateur",
        "dispositif": "dispositif",
        "etat": "etat_rank",
        "dpt": "code_postal",
        "ville": "ville",
    }[key]
    expression = F(sort_field).desc(nulls_last=True) if params.descending else F(sort_field).asc(nulls_last=True)
    tie = [F("formation__reference").asc(), F("debut").asc(nulls_last=True), F("s_ref").asc(nulls_last=True)]
    if key == "ref":
        tie = [F("s_ref").desc(nulls_last=True) if params.descending else F("s_ref").asc(nulls_last=True)]
    return qs.order_by(expression, *tie, "pk")


ROW_FIELDS = (
    "pk",
    "formation_id",
    "formation__reference",
    "formation__source",
    "formation__archived_at",
    "formation__live_version_id",
    "formation__structure__nom",
    "formation__structure__etat__code",
    "formation__structure__etat__is_diffused",
    "intitule",
    "sv_id",
    "s_id",
    "s_ref",
    "s_archived",
    "s_published",
    "debut",
    "fin",
    "formateur",
    "code_postal",
    "ville",
    "open_status",
    "etat",
)


def row_key(row):
    """The identifier of a row in a selection: « formation version:session version »."""
    return f"{row['pk']}:{row['sv_id'] or ''}"


def departement(code_postal):
    code_postal = code_postal or ""
    return code_postal[:3] if code_postal.startswith("97") else code_postal[:2]


def structure_dot(code, is_diffused):
    if is_diffused:
        return "diffusion"
    return "archive" if (code or "").upper().startswith("AR") else "attente"


def decorate(rows, financement_fields=()):
    """Display values of the rows of a page, and their financements (one query; the export
    asks for more ``financement_fields``)."""
    by_sv = {row["sv_id"]: row for row in rows if row["sv_id"]}
    detail = reverse("formations:detail", args=["REF"]).replace("REF", "{}")
    session = reverse("formations:session", args=["REF", "SREF"]).replace("REF", "{}", 1).replace("SREF", "{}")
    for row in rows:
        row["key"] = row_key(row)
        row["url"] = detail.format(row["formation__reference"])
        row["session_url"] = session.format(row["formation__reference"], row["s_ref"]) if row["s_ref"] else ""
        row["debut_label"] = row["debut"].strftime("%d/%m/%Y") if row["debut"] else ""
        row["fin_label"] = row["fin"].strftime("%d/%m/%Y") if row["fin"] else ""
        row["dpt"] = departement(row["code_postal"])
        row["state_label"] = STATE_LABELS.get(row["etat"], "")
        row["financements"] = []
        row["pencil"] = row["open_status"] == ChangeStatus.DRAFT
        row["pending"] = row["open_status"] == ChangeStatus.SUBMITTED
        if row["sv_id"] is None:
            row["session_dot"] = ""
        elif row["s_archived"] or row["formation__archived_at"]:
            row["session_dot"] = "archive"
        else:
            row["session_dot"] = "diffusion" if row["s_published"] else "attente"
        row["structure_dot"] = structure_dot(
            row["formation__structure__etat__code"], row["formation__structure__etat__is_diffused"]
        )
        row["session_dot_label"] = DOT_LABELS.get(row["session_dot"], "")
        row["structure_dot_label"] = DOT_LABELS[row["structure_dot"]]
    if by_sv:
        for fin in (
            Financement.objects.filter(session_version_id__in=list(by_sv))
            .order_by("pk")
            .values("session_version_id", "dispositif__libelle", "etat", *financement_fields)
        ):
            fin["dot"] = FINANCEMENT_DOTS.get(fin["etat"], "attente")
            fin["dot_label"] = DOT_LABELS[fin["dot"]]
            by_sv[fin["session_version_id"]]["financements"].append(fin)
    return rows


class _Rows:
    """The rows of a search for the paginator: the count comes from the summary query, a
    slice is one query."""

    def __init__(self, qs, count):
        self.qs = qs
        self._count = count

    def count(self):
        return self._count

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        return decorate(list(self.qs.values(*ROW_FIELDS)[index]))


def summary(qs):
    """« N formations / M sessions » and the number of rows, in one query."""
    return qs.aggregate(
        formations=Count("formation_id", distinct=True),
        sessions=Count("sv_id"),
        empty=Count("pk", filter=Q(sv_id__isnull=True)),
    )


def search_results(user, structure, params, page_number=1):
    qs = rows_queryset(user, structure, params)
    counts = summary(qs)
    total = counts["sessions"] + counts["empty"]
    paginator = Paginator(_Rows(ordered(qs, params), total), params.per_page)
    page = paginator.get_page(page_number)
    return counts, page


# --- the view -----------------------------------------------------------------------------


def _sort_links(params, base):
    """For each column: the URL that sorts by it (toggling the direction) and aria-sort."""
    links = []
    for key, label in COLUMNS:
        active = params.sort == key
        descending = active and not params.descending
        query = dict(base)
        query["tri"] = f"{'-' if descending else ''}{key}"
        aria = ("descending" if params.descending else "ascending") if active else "none"
        links.append({"key": key, "label": label, "url": "?" + urlencode(query), "aria_sort": aria, "active": active})
    return links


@login_required
def search(request):
    structure = request.current_structure
    user = request.user
    if not user.is_carif and structure is None:
        return redirect("choose_structure")
    params = SearchParams.from_query(request.GET)
    scope = None if user.is_carif else structure  # staff search every structure
    counts, page = search_results(user, scope, params, request.GET.get("page"))
    base = params.criteria()
    context = {
        "params": params,
        "counts": counts,
        "page_obj": page,
        "rows": page.object_list,
        "columns": _sort_links(params, base),
        "states": STATE_CRITERIA,
        "row_states": [(state, STATE_LABELS[state]) for state in ROW_STATES],
        "per_page_choices": PER_PAGE_CHOICES,
        "dispositifs": Dispositif.objects.order_by("code").values_list("code", "libelle"),
        "select_all_url": "?" + urlencode({**base, "sel": "tout"}),
        "unselect_url": "?" + urlencode(base),
        "criteria_query": urlencode(base),
        "exports": recent_exports(user),
        "is_carif": user.is_carif,
        "page_title": "Formations",
    }
    template = "formations/search_results.html" if request.htmx else "formations/search.html"
    return render(request, template, context)

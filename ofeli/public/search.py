"""The public search (SPEC H1) on the read model: words, place and distance, dates, facets
(département, financing, certification, level, modality) with their counts, sort, pages.

A page costs a fixed number of SQL queries, whatever the criteria: the town (when one is
typed), one aggregate for the total and every facet count, one for the page of results.
Facet counts are « disjunctive »: the count beside an option is what the results would be
with that option added to the other filters (its own group's choices left out).
"""

import math
import re
from dataclasses import dataclass, field
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, Count, F, FloatField, IntegerField, Max, Min, Q, Value, When, Window
from django.db.models.functions import ASin, Cos, Power, Radians, RowNumber, Sin, Sqrt
from django.utils import timezone

from ofeli.core.regions import DEPARTEMENT_NAMES

from . import facets, financing, snapshot, spelling
from .communes import resolve_place
from .models import PublishedSession
from .status import status_of_row, status_rank_expression
from .text import query_terms, query_words

PER_PAGE = 20
SESSIONS_PER_GROUP = 3
REMOTE = "2"  # modalité « À distance »
VIEWS = [("formations", "Par formation"), ("sessions", "Par session")]
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
RAYONS = [5, 10, 20, 30, 50, 100]
DEFAULT_RAYON = 30
SEARCH_CONFIG = "ofeli_fr"

# The départements of the instance's region (S2; all 101 on a national instance).
DEPARTEMENTS = [(code, f"{DEPARTEMENT_NAMES[code]} ({code})") for code in settings.REGION_DEPARTEMENTS]
MODALITES = [("0", "En présentiel"), ("1", "Mixte (présentiel et à distance)"), ("2", "À distance")]
MODALITE_SHORT = {"0": "Présentiel", "1": "Mixte", "2": "À distance"}
CERTIFICATIONS = [
    ("rncp", "Diplôme ou titre (RNCP)"),
    ("rs", "Certification ou habilitation (RS)"),
    ("aucune", "Formation non certifiante"),
]
NIVEAUX = [
    ("1", "Sans niveau spécifique"),
    ("11", "Niveau 1 (savoirs de base)"),
    ("12", "Niveau 2"),
    ("13", "Niveau 3 (CAP, BEP)"),
    ("14", "Niveau 4 (baccalauréat)"),
    ("15", "Niveau 5 (bac + 2)"),
    ("16", "Niveau 6 (bac + 3, bac + 4)"),
    ("17", "Niveau 7 (bac + 5)"),
    ("18", "Niveau 8 (doctorat)"),
]
NIVEAU_LABELS = dict(NIVEAUX)
PAGE_FIELDS = [f.name for f in PublishedSession._meta.concrete_fields] + [
    f"formation__{name}"
    for name in (
        "reference",
        "slug",
        "intitule",
        "organisme",
        "niveau",
        "certification_intitule",
        "code_rncp",
        "code_rs",
    )
]
SORTS = [("pertinence", "Pertinence"), ("date", "Date de début"), ("distance", "Distance")]
NOT_CRITERIA = {"tri", "vue", "page"}

# Facet groups: (parameter, legend, options, value -> condition).
FACETS = [
    ("dpt", "Département", DEPARTEMENTS, lambda v: Q(departement=v)),
    ("fin", "Financement", financing.KINDS, lambda v: Q(**{financing.field(v): True})),
    (
        "certif",
        "Certification",
        CERTIFICATIONS,
        lambda v: Q(certification_type="" if v == "aucune" else v),
    ),
    ("niveau", "Niveau de sortie", NIVEAUX, lambda v: Q(niveau=v)),
    ("modalite", "Modalité", MODALITES, lambda v: Q(modalite=v)),
]
_CODE = re.compile(r"^(?P<kind>rncp|rs)?\s*(?P<code>\d{1,6})$", re.IGNORECASE)
_REFERENCE = re.compile(r"^\d{4,8}[sf]$", re.IGNORECASE)


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Métier, formation, diplôme, organisme",
        required=False,
        max_length=200,
        help_text="Exemples : boucher, comptabilité, BTS assurance, numéro CARIF",
    )
    lieu = forms.CharField(
        label="Ville ou code postal", required=False, max_length=120, help_text="Exemple : Châteauroux (36000)"
    )
    rayon = forms.TypedChoiceField(
        label="Rayon",
        choices=[(r, f"{r} km") for r in RAYONS],
        coerce=int,
        required=False,
        empty_value=DEFAULT_RAYON,
        initial=DEFAULT_RAYON,
        error_messages={"invalid_choice": "Choisissez un rayon de 5, 10, 20, 30, 50 ou 100 km."},
    )
    dpt = forms.MultipleChoiceField(choices=DEPARTEMENTS, required=False)
    fin = forms.MultipleChoiceField(choices=financing.KINDS, required=False)
    certif = forms.MultipleChoiceField(choices=CERTIFICATIONS, required=False)
    niveau = forms.MultipleChoiceField(choices=NIVEAUX, required=False)
    modalite = forms.MultipleChoiceField(choices=MODALITES, required=False)
    debut_min = forms.DateField(
        label="Début à partir du",
        required=False,
        help_text="Format attendu : JJ/MM/AAAA",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": "Saisissez une date valide, par exemple 15/09/2026."},
    )
    debut_max = forms.DateField(
        label="Début au plus tard le",
        required=False,
        help_text="Format attendu : JJ/MM/AAAA",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": "Saisissez une date valide, par exemple 15/09/2026."},
    )
    code = forms.CharField(
        label="Code RNCP ou RS", required=False, max_length=20, help_text="Exemples : RNCP38234, RS5062"
    )
    tri = forms.ChoiceField(label="Trier par", choices=SORTS, required=False)
    vue = forms.ChoiceField(label="Afficher", choices=VIEWS, required=False)
    # Not a criterion: a page out of range shows the first or the last one.
    page = forms.CharField(required=False)

    def clean_page(self):
        value = self.cleaned_data["page"].strip()
        return int(value) if value.isdigit() and len(value) < 7 else 1

    def criteria_errors(self):
        """Errors of the criteria (a wrong sort or view falls back to the default)."""
        return {name: errors for name, errors in self.errors.items() if name not in NOT_CRITERIA}

    def clean_code(self):
        value = self.cleaned_data["code"].strip().replace(" ", "")
        if value and not _CODE.match(value):
            raise forms.ValidationError("Saisissez un code RNCP ou RS, par exemple RNCP38234 ou RS5062.")
        return value

    def clean(self):
        data = super().clean()
        low, high = data.get("debut_min"), data.get("debut_max")
        if low and high and high < low:
            self.add_error("debut_max", "La date doit être postérieure à la date « à partir du ».")
        return data


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    name: str
    legend: str
    options: list


@dataclass
class Group:
    """A formation of the results with its first matching sessions (P2)."""

    formation: object
    sessions: list
    count: int  # its matching sessions

    @property
    def more(self):
        return self.count - len(self.sessions)


@dataclass
class Results:
    total: int = 0  # matching sessions
    count: int = 0  # what is paged: formations (« formations » view) or sessions
    rows: list = field(default_factory=list)  # the sessions shown, in order
    groups: list = field(default_factory=list)  # « formations » view
    view: str = "formations"
    place_text: str = ""
    active_filters: int = 0
    refused: bool = False  # a criterion could not be read: no search was run
    suggestion: str = ""  # « Vouliez-vous dire … ? »
    corrected_from: str = ""  # the words typed, when one typo was corrected (used_text)
    used_text: str = ""
    facets: list = field(default_factory=list)
    page: int = 1
    num_pages: int = 1
    sort: str = "date"
    place: object = None  # communes.Resolution
    rayon: int = DEFAULT_RAYON

    @property
    def has_previous(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.num_pages

    @property
    def first_index(self):
        return (self.page - 1) * PER_PAGE + 1 if self.count else 0

    @property
    def last_index(self):
        return min(self.page * PER_PAGE, self.count)


def distance_expression(latitude, longitude):
    """Great-circle distance in km (haversine) from a point to each row's place."""
    lat0, lon0 = math.radians(latitude), math.radians(longitude)
    half_dlat = (Radians(F("latitude")) - Value(lat0)) / Value(2.0)
    half_dlon = (Radians(F("longitude")) - Value(lon0)) / Value(2.0)
    a = Power(Sin(half_dlat), 2) + Value(math.cos(lat0)) * Cos(Radians(F("latitude"))) * Power(Sin(half_dlon), 2)
    return Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(a, output_field=FloatField()))


def haversine_km(lat1, lon1, lat2, lon2):
    """The same distance computed in Python (display, tests)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def bounding_box(latitude, longitude, km):
    """A box that contains the disc of radius ``km`` (prefilter on indexed columns)."""
    dlat = km / KM_PER_DEGREE * 1.01
    dlon = km / (KM_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01)) * 1.01
    return (latitude - dlat, latitude + dlat), (longitude - dlon, longitude + dlon)


@cache
def facet_values(key):
    """The option values of each facet group that an indexed row has (its ``facets`` key)."""
    row = facets.decode(key)
    return {
        "dpt": frozenset({row["departement"]}),
        "fin": frozenset(kind for kind, _ in financing.KINDS if row[financing.field(kind)]),
        "certif": frozenset({row["certification_type"] or "aucune"}),
        "niveau": frozenset({row["niveau"]}),
        "modalite": frozenset({row["modalite"]}),
    }


def _any(conditions):
    result = Q()
    for condition in conditions:
        result |= condition
    return result


def _all(conditions):
    result = Q()
    for condition in conditions:
        result &= condition
    return result


def _count(condition):
    return Count("pk", filter=condition) if condition else Count("pk")


def text_condition(text):
    """(condition, PostgreSQL query or None, SQLite terms) for the words typed."""
    if connection.vendor == "postgresql":
        tokens = query_words(text)
        if not tokens:
            return None, None, []
        query = SearchQuery(" & ".join(f"{t}:*" for t in tokens), search_type="raw", config=SEARCH_CONFIG)
        condition = Q(formation__search_vector=query)
        terms = tokens
    else:
        query = None
        terms = query_terms(text)
        if not terms:
            return None, None, []
        condition = _all(
            Q(formation__search_text__startswith=term) | Q(formation__search_text__contains=f" {term}")
            for term in terms
        )
    stripped = text.strip()
    if _REFERENCE.match(stripped):
        reference = Q(numero_carif__iexact=stripped) | Q(formation__reference__iexact=stripped)
        condition = reference | condition
    return condition, query, terms


def date_condition(low, high):
    regular = Q(a_la_demande=False, entree_sortie_permanente=False)
    permanent = Q(a_la_demande=True) | Q(entree_sortie_permanente=True)
    condition = Q()
    if low:
        condition &= (regular & Q(date_debut__gte=low)) | (
            permanent & (Q(date_fin__gte=low) | Q(date_fin__isnull=True))
        )
    if high:
        condition &= (regular & Q(date_debut__lte=high)) | (
            permanent & (Q(date_debut__lte=high) | Q(date_debut__isnull=True))
        )
    return condition


def code_condition(value):
    match = _CODE.match(value or "")
    if not match:
        return Q()
    kind, code = (match.group("kind") or "").lower(), match.group("code")
    if kind == "rncp":
        return Q(code_rncp=code)
    if kind == "rs":
        return Q(code_rs=code)
    return Q(code_rncp=code) | Q(code_rs=code)


def refused(form):
    """What the page shows while a criterion is refused (P2): no results, the filters with
    what was chosen, no counts: nothing pretends to apply a criterion it could not read."""
    data = form.data
    results = Results(refused=True)
    results.facets = [
        Facet(name, legend, [FacetOption(v, label, None, v in data.getlist(name)) for v, label in options])
        for name, legend, options, _ in FACETS
    ]
    results.view = data.get("vue") if data.get("vue") in dict(VIEWS) else "formations"
    return results


def place_condition(results, qs):
    """Filter of the place field: a commune and a radius, a département, or the region.
    Sessions fully at a distance (« À distance ») always match a place (P2): no place
    excludes them, the cards say they are remote."""
    results.place = resolve_place(results.place_text)
    place = results.place
    remote = Q(modalite=REMOTE)
    if place.departement:
        return qs, Q(departement=place.departement) | remote, None
    if place.region:
        return qs, Q(), None
    commune = place.commune
    if commune is None:
        return qs, Q(pk__in=[]), None  # an unknown town finds nothing (the page says why)
    (lat_min, lat_max), (lon_min, lon_max) = bounding_box(commune.latitude, commune.longitude, results.rayon)
    distance = distance_expression(commune.latitude, commune.longitude)
    qs = qs.alias(distance=distance)
    near = Q(latitude__range=(lat_min, lat_max), longitude__range=(lon_min, lon_max), distance__lte=results.rayon)
    return qs, near | remote, distance


def search(data, *, today=None, spell=True):
    """Run a search on the cleaned data of a valid ``SearchForm`` (missing keys: no
    criterion). ``vue``: « formations » (default: one group per formation with its matching
    sessions) or « sessions » (one row per session). When the words find nothing, a spelling
    suggestion (spelling.py); one typo in long words is corrected at once."""
    today = today or timezone.localdate()
    results = _search(data, today)
    if spell and not results.total and (data.get("q") or "").strip():
        suggestion, tolerated = spelling.suggest(data["q"])
        if suggestion and tolerated:
            corrected = search({**data, "q": suggestion}, today=today, spell=False)
            if corrected.total:
                corrected.corrected_from, corrected.used_text = data["q"], suggestion
                return corrected
        if suggestion:
            results.suggestion = suggestion
    return results


def _search(data, today):
    results = Results(rayon=data.get("rayon") or DEFAULT_RAYON, view=data.get("vue") or "formations")
    qs = PublishedSession.objects.all()
    base = Q(date_fin__gte=today) | Q(date_fin__isnull=True)

    text_q, pg_query, terms = text_condition(data.get("q") or "")
    if text_q is not None:
        base &= text_q

    distance = None
    if data.get("lieu"):
        results.place_text = data["lieu"]
        qs, condition, distance = place_condition(results, qs)
        base &= condition
    commune = results.place.commune if results.place else None

    base &= date_condition(data.get("debut_min"), data.get("debut_max"))
    base &= code_condition(data.get("code"))
    qs = qs.filter(base)

    selected = {name: [v for v in data.get(name) or [] if v in dict(options)] for name, _, options, _ in FACETS}
    group_q = {name: _any(make(v) for v in selected[name]) for name, _, _, make in FACETS}
    everything = _all(group_q.values())

    # No criterion at all (S3): the counts and the order of the formations come from the
    # day's pre-aggregated snapshot instead of an aggregate over the whole index.
    unfiltered = (
        text_q is None
        and not data.get("lieu")
        and not data.get("debut_min")
        and not data.get("debut_max")
        and not code_condition(data.get("code"))
        and not any(selected.values())
    )
    day_snapshot = snapshot.get(today) if unfiltered and results.view != "sessions" else None

    # One query: the number of sessions per combination of facet values; every count
    # (total, and each option with the other groups' choices) is summed from it.
    tallies = {name: dict.fromkeys(dict(options), 0) for name, _, options, _ in FACETS}
    wanted = {name: set(values) for name, values in selected.items()}
    results.total = 0
    if day_snapshot is not None:
        results.total = day_snapshot.tallies.get("total", 0)
        for name, counted in day_snapshot.tallies.items():
            if name in tallies:
                tallies[name].update(counted)
    rows = qs.values("facets").annotate(n=Count("pk")).order_by() if day_snapshot is None else ()
    for row in rows:
        values = facet_values(row["facets"])
        failing = [name for name, chosen in wanted.items() if chosen and not chosen & values[name]]
        if len(failing) > 1:
            continue  # counts nowhere: two groups exclude it
        if not failing:
            results.total += row["n"]
        # A row counts for a group's options when only that group's own choice excludes it.
        for name in failing or tallies:
            for value in values[name]:
                tallies[name][value] = tallies[name].get(value, 0) + row["n"]
    results.facets = [
        Facet(
            name,
            legend,
            [FacetOption(v, label, tallies[name][v], v in selected[name]) for v, label in options],
        )
        for name, legend, options, _ in FACETS
    ]
    results.active_filters = sum(len(v) for v in selected.values()) + sum(
        1 for key in ("debut_min", "debut_max", "code") if data.get(key)
    )

    sort = data.get("tri") or "pertinence"
    if sort == "distance" and distance is None:
        sort = "date"
    if sort == "pertinence" and text_q is None:
        sort = "distance" if distance is not None else "date"
    results.sort = sort

    page_qs = qs.filter(everything)
    rank = None
    if sort == "pertinence":
        rank = (
            SearchRank(F("formation__search_vector"), pg_query)
            if pg_query is not None
            else sum((_title_match(term) for term in terms), Value(0))
        )
    status_rank = status_rank_expression(today)
    if results.view == "sessions":
        _session_page(results, page_qs, sort, rank, distance, status_rank, data)
    else:
        _formation_page(results, page_qs, sort, rank, distance, status_rank, data, day_snapshot)
    for row in results.rows:
        row.status = status_of_row(row, today)
        row.remote = row.modalite == REMOTE
        row.distance_km = (
            haversine_km(commune.latitude, commune.longitude, row.latitude, row.longitude)
            if commune is not None and row.latitude is not None and not row.remote
            else None
        )
    return results


def _title_match(term):
    return Case(
        When(Q(formation__title_text__startswith=term) | Q(formation__title_text__contains=f" {term}"), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def _pages(results, total, data):
    results.num_pages = max(1, math.ceil(total / PER_PAGE))
    results.page = min(max(1, data.get("page") or 1), results.num_pages)
    return (results.page - 1) * PER_PAGE


def _session_order(sort, status_rank, distance):
    """Order of sessions: the sort's key, then the sessions one can join first (P1), then
    the soonest start."""
    by_date = [status_rank.asc(), F("date_debut").asc(nulls_last=True), "numero_carif"]
    if sort == "pertinence":
        return [F("rank").desc(), *by_date]
    if sort == "distance":
        return [F("distance_km").asc(nulls_last=True), *by_date]
    return by_date


def _session_page(results, page_qs, sort, rank, distance, status_rank, data):
    results.count = results.total
    start = _pages(results, results.total, data)
    if rank is not None:
        page_qs = page_qs.annotate(rank=rank)
    if sort == "distance":
        page_qs = page_qs.annotate(distance_km=distance)
    # The page's keys first (ordering reads only what it needs), then its rows with their formation.
    keys = list(
        page_qs.order_by(*_session_order(sort, status_rank, distance)).values_list("pk", flat=True)[
            start : start + PER_PAGE
        ]
    )
    rows = {
        row.pk: row
        for row in PublishedSession.objects.filter(pk__in=keys).select_related("formation").only(*PAGE_FIELDS)
    }
    results.rows = [rows[key] for key in keys if key in rows]


def _formation_page(results, page_qs, sort, rank, distance, status_rank, data, day_snapshot=None):
    """One group per formation (P2): formations ordered by their best matching session,
    each with its first ``SESSIONS_PER_GROUP`` matching sessions (nearest place and soonest
    start first). Three queries whatever the page: the number of formations, the page's
    formations with their number of matching sessions, their first sessions (a window).
    Without criteria (``day_snapshot``, S3) the number of formations and the page's
    formations are read from the snapshot (snapshot.py): the same order, an index range."""
    if day_snapshot is not None:
        results.count = day_snapshot.formations
        start = _pages(results, results.count, data)
        groups = [{"formation_id": pk, "n": n} for pk, n in snapshot.page(day_snapshot, start, PER_PAGE)]
        return _fill_groups(results, page_qs, groups, distance, status_rank)
    aggregates = {"n": Count("pk"), "best_status": Min(status_rank), "first_start": Min("date_debut")}
    order = [F("best_status").asc(), F("first_start").asc(nulls_last=True), "formation_id"]
    if sort == "pertinence":
        aggregates["best_rank"] = Max(rank)
        order.insert(0, F("best_rank").desc())
    elif sort == "distance":
        aggregates["nearest"] = Min(distance)
        order.insert(0, F("nearest").asc(nulls_last=True))
    # The number of formations comes with the page (a window over the groups): one query.
    grouped = page_qs.values("formation_id").annotate(**aggregates, formations=Window(Count("formation_id")))
    grouped = grouped.order_by(*order)
    start = (max(1, data.get("page") or 1) - 1) * PER_PAGE
    groups = list(grouped[start : start + PER_PAGE])
    if not groups and start:
        # Past the last page: the last one (its number needs the count, only here).
        count = page_qs.values("formation_id").distinct().count()
        start = _pages(results, count, data)
        groups = list(grouped[start : start + PER_PAGE])
    results.count = groups[0]["formations"] if groups else 0
    _pages(results, results.count, {"page": start // PER_PAGE + 1})
    _fill_groups(results, page_qs, groups, distance, status_rank)


def _fill_groups(results, page_qs, groups, distance, status_rank):
    """The first matching sessions of the page's formations (one query, a window)."""
    ids = [g["formation_id"] for g in groups]
    in_group = [status_rank.asc(), F("date_debut").asc(nulls_last=True), "numero_carif"]
    sessions_qs = page_qs.filter(formation_id__in=ids)
    if distance is not None:
        sessions_qs = sessions_qs.annotate(distance_km=distance)
        in_group.insert(0, F("distance_km").asc(nulls_last=True))
    sessions_qs = (
        sessions_qs.annotate(position=Window(RowNumber(), partition_by=[F("formation_id")], order_by=in_group))
        .filter(position__lte=SESSIONS_PER_GROUP)
        .select_related("formation")
        .only(*PAGE_FIELDS)
    )
    by_formation = {}
    for row in sessions_qs:
        by_formation.setdefault(row.formation_id, []).append(row)
    results.groups, results.rows = [], []
    for group in groups:
        rows = sorted(by_formation.get(group["formation_id"], []), key=lambda r: r.position)
        if not rows:
            continue
        results.groups.append(Group(rows[0].formation, rows, group["n"]))
        results.rows += rows

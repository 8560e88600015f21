"""The criteria of an alert: the public search's own (``public.search.SearchForm``), read the
same way, kept as a small JSON object, described in French for the pages and the mails.

Kept: words, place (the commune as resolved, so that the alert means the same town
whatever is added to the communes later), radius (with a commune), département, financing,
certification, level, modality, start dates, RNCP/RS code. Page, sort and view are not
criteria."""

from urllib.parse import urlencode

from django.conf import settings
from django.utils.dateparse import parse_date

from ofeli.public import financing
from ofeli.public.communes import departement_of, resolve_place
from ofeli.public.search import (
    CERTIFICATIONS,
    DEFAULT_RAYON,
    DEPARTEMENTS,
    MODALITES,
    NIVEAUX,
    SearchForm,
)

TEXT_FIELDS = ("q", "lieu", "code")
LIST_FIELDS = ("dpt", "fin", "certif", "niveau", "modalite")
DATE_FIELDS = ("debut_min", "debut_max")
FIELDS = (*TEXT_FIELDS, "rayon", *LIST_FIELDS, *DATE_FIELDS)
OPTIONS = {
    "dpt": dict(DEPARTEMENTS),
    "fin": financing.LABELS,
    "certif": dict(CERTIFICATIONS),
    "niveau": dict(NIVEAUX),
    "modalite": dict(MODALITES),
}
LEGENDS = {
    "dpt": "Département",
    "fin": "Financement",
    "certif": "Certification",
    "niveau": "Niveau de sortie",
    "modalite": "Modalité",
}
NO_CRITERION = "Choisissez au moins un critère de recherche (des mots, un lieu ou un filtre) avant de créer une alerte."


class Parsed:
    """The criteria read from a query string (``params``: a QueryDict): ``criteria`` (the
    JSON to keep) when they are valid, else ``errors`` ({field label: message})."""

    def __init__(self, params):
        self.form = SearchForm(_data(params))
        self.errors = {}
        self.criteria = {}
        if not self.form.is_valid() and (errors := self.form.criteria_errors()):
            self.errors = {self.form[name].label or LEGENDS.get(name, name): " ".join(e) for name, e in errors.items()}
            return
        self.criteria = from_cleaned(self.form.cleaned_data)
        if self.criteria.get("lieu"):
            place = resolve_place(self.criteria["lieu"])
            if place.error:
                self.errors[self.form["lieu"].label] = place.error
                self.criteria = {}
                return
            if place.commune is not None:
                self.criteria["lieu"] = place.commune.label
            else:
                self.criteria.pop("rayon", None)  # a département or the region: no radius
        if not self.criteria:
            self.errors[""] = NO_CRITERION


def _data(params):
    if hasattr(params, "getlist"):
        return {name: params.getlist(name) if name in LIST_FIELDS else params.get(name, "") for name in FIELDS}
    return params


def from_cleaned(data):
    """The JSON kept for the cleaned data of a valid ``SearchForm``: only what is set."""
    criteria = {}
    for name in TEXT_FIELDS:
        value = (data.get(name) or "").strip()
        if value:
            criteria[name] = value
    if criteria.get("lieu"):
        criteria["rayon"] = str(data.get("rayon") or DEFAULT_RAYON)
    for name in LIST_FIELDS:
        values = sorted(set(data.get(name) or []))
        if values:
            criteria[name] = values
    for name in DATE_FIELDS:
        if data.get(name):
            criteria[name] = data[name].isoformat()
    return criteria


def form_data(criteria):
    """The kept criteria as the search form's data (``SearchForm(form_data(c))``)."""
    return {name: criteria.get(name, [] if name in LIST_FIELDS else "") for name in FIELDS}


def cleaned(criteria):
    """The kept criteria read again by the search form: its cleaned data, or None when they
    no longer validate (a value taken out of a list since)."""
    form = SearchForm(form_data(criteria))
    if not form.is_valid() and form.criteria_errors():
        return None
    return form.cleaned_data


def query_string(criteria):
    """The public search of these criteria (« Voir la recherche »)."""
    pairs = []
    for name in FIELDS:
        value = criteria.get(name)
        if isinstance(value, list):
            pairs += [(name, v) for v in value]
        elif value:
            pairs.append((name, value))
    return urlencode(pairs)


def _date(value):
    day = parse_date(value or "")
    return day.strftime("%d/%m/%Y") if day else value


def describe(criteria):
    """[(label, text)]: the criteria in words, in the search form's order."""
    lines = []
    if criteria.get("q"):
        lines.append(("Recherche", f"« {criteria['q']} »"))
    if criteria.get("lieu"):
        lieu = criteria["lieu"]
        if departement_of(lieu):
            code = departement_of(lieu)
            lines.append(("Lieu", f"département {dict(DEPARTEMENTS).get(code, code)}, et les formations à distance"))
        elif "rayon" in criteria:
            lines.append(
                ("Lieu", f"autour de {lieu}, dans un rayon de {criteria['rayon']} km, et les formations à distance")
            )
        else:
            lines.append(("Lieu", f"toute la région {settings.REGION_NAME}"))
    for name in LIST_FIELDS:
        if criteria.get(name):
            labels = [OPTIONS[name].get(v, v) for v in criteria[name]]
            lines.append((LEGENDS[name], ", ".join(labels)))
    if criteria.get("debut_min"):
        lines.append(("Début à partir du", _date(criteria["debut_min"])))
    if criteria.get("debut_max"):
        lines.append(("Début au plus tard le", _date(criteria["debut_max"])))
    if criteria.get("code"):
        lines.append(("Code RNCP ou RS", criteria["code"]))
    return lines


def title(criteria):
    """A short name for the mail subjects: the words, else the first criterion."""
    if criteria.get("q"):
        return f"« {criteria['q'][:60]} »"
    lines = describe(criteria)
    return f"{lines[0][0].lower()} : {lines[0][1][:60]}" if lines else "toutes les formations"

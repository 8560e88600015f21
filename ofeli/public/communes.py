"""Towns of the place search: loading the bundled file, type-ahead, resolving what a
visitor typed (« Châteauroux (36000) », « châteauroux », « 36000 »)."""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from ofeli.core.regions import DEPARTEMENT_NAMES

from .text import fold

# Every French commune (data/README.md); an instance loads those of its region (S2).
DATA_FILE = Path(__file__).parent / "data" / "communes-france.csv"
SUGGESTIONS = 10
_WITH_POSTCODE = re.compile(r"^(?P<nom>.*?)\s*\(\s*(?P<cp>\d{5})\s*\)\s*$")


def normalise(name):
    return " ".join(re.split(r"[^a-z0-9]+", fold(name))).strip()


def read_rows(departements=None):
    """Rows of the file for the instance's départements (settings.REGION_DEPARTEMENTS)."""
    wanted = set(settings.REGION_DEPARTEMENTS if departements is None else departements)
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        yield from (row for row in csv.DictReader(handle) if row["departement"] in wanted)


def load_communes(model=None):
    """Replace the communes by the file's (used by the data migration and load_communes)."""
    if model is None:
        from .models import Commune as model
    rows = [
        model(
            code_insee=row["code_insee"],
            nom=row["nom"],
            nom_normalise=normalise(row["nom"]),
            departement=row["departement"],
            codes_postaux=row["codes_postaux"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            precision=row["precision"],
            population=int(row["population"] or 0),
        )
        for row in read_rows()
    ]
    model.objects.all().delete()
    model.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def suggestions(text, limit=SUGGESTIONS):
    """Labels « Nom (code postal) » for the type-ahead: names starting with the text (or
    one of their words starting with it), or postcodes starting with the digits typed."""
    from .models import Commune

    text = (text or "").strip()
    match = _WITH_POSTCODE.match(text)
    if match:
        text = match.group("nom")
    if re.fullmatch(r"\d{2,5}", text):
        found = Commune.objects.filter(codes_postaux__contains=text).order_by("-population")[: limit * 3]
        labels = [label for c in found for label in c.labels() if label[-6:-1].startswith(text)]
        return labels[:limit]
    key = normalise(text)
    if len(key) < 2:
        return []
    starts = list(Commune.objects.filter(nom_normalise__startswith=key).order_by("-population")[:limit])
    if len(starts) < limit:
        inner = Commune.objects.filter(nom_normalise__contains=f" {key}").exclude(
            code_insee__in=[c.code_insee for c in starts]
        )
        starts += list(inner.order_by("-population")[: limit - len(starts)])
    return [label for c in starts for label in c.labels()][:limit]


def instance_departements():
    """{code: name} of the instance's départements (S2: the region is a setting)."""
    return {code: DEPARTEMENT_NAMES[code] for code in settings.REGION.departements}


def region_names():
    """What a visitor may type for the whole area of the instance (normalised)."""
    region = settings.REGION
    if region.national:
        return {"france", "toute la france", "france entiere"}
    name = normalise(region.name)
    names = {name, f"region {name}"}
    if region.code == "24":
        names |= {"centre", "region centre", "cvl"}
    return names


def departement_of(text):
    """The département code typed in the place field (« Indre », « 36 », « Loiret (45) »,
    « département du Cher »), or ""."""
    key = normalise(text)
    key = re.sub(r"^(departement|dept|dpt)( de l| des| d[eu])? ", "", key)
    match = re.fullmatch(r"(?P<nom>.*?) ?(?P<code>97\d|\d{2}|2[ab])?", key)
    nom, code = match.group("nom").strip(), (match.group("code") or "").upper()
    departements = instance_departements()
    by_name = {normalise(name): c for c, name in departements.items()}
    if nom and nom in by_name and (not code or code == by_name[nom]):
        return by_name[nom]
    if not nom and code in departements:
        return code
    return ""


@dataclass
class Resolution:
    """What the place field resolved to: ``commune`` (or None), other candidates, a message;
    or a whole département (``departement``) or the whole region (``region``)."""

    text: str
    commune: object = None
    candidates: list = field(default_factory=list)
    error: str = ""
    departement: str = ""
    region: bool = False

    @property
    def departement_label(self):
        return f"{DEPARTEMENT_NAMES[self.departement]} ({self.departement})" if self.departement else ""


def resolve_place(text):
    """What the public search's place field means (P2): a département or the whole region
    typed there (« Indre », « 36 », « Centre-Val de Loire »), else a commune (``resolve``)."""
    text = (text or "").strip()
    departement = departement_of(text)
    if departement:
        return Resolution(text=text, departement=departement)
    if text and normalise(text) in region_names():
        return Resolution(text=text, region=True)
    return resolve(text)


def resolve(text):
    """The commune typed (« Châteauroux (36000) », a name, a postcode)."""
    from .models import Commune

    text = (text or "").strip()
    result = Resolution(text=text)
    if not text:
        return result
    match = _WITH_POSTCODE.match(text)
    name, postcode = (match.group("nom"), match.group("cp")) if match else (text, "")
    if not name and re.fullmatch(r"\d{5}", text):
        name, postcode = "", text
    elif re.fullmatch(r"\d{5}", name.strip()):
        name, postcode = "", name.strip()
    key = normalise(name)
    qs = Commune.objects.order_by("-population", "nom")
    if postcode:
        found = [c for c in qs.filter(codes_postaux__contains=postcode) if postcode in c.postcodes]
        if key:
            found = [c for c in found if c.nom_normalise == key] or [
                c for c in found if c.nom_normalise.startswith(key)
            ]
    elif key:
        found = list(qs.filter(nom_normalise=key)) or list(qs.filter(nom_normalise__startswith=key)[:SUGGESTIONS])
        exact = [c for c in found if c.nom_normalise == key]
        if not exact and len(found) > 1:
            result.candidates = found
            result.error = "Plusieurs communes correspondent : précisez laquelle."
            return result
    else:
        found = []
    if not found:
        result.error = f"Commune inconnue {settings.REGION.in_name} : vérifiez le nom ou le code postal."
        return result
    # Several communes share a postcode or a name: the most populated one, the others proposed.
    result.commune, result.candidates = found[0], found[1:SUGGESTIONS]
    return result

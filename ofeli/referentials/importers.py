"""Import of the France Compétences open-data export of the RNCP and the Répertoire
spécifique (``manage.py import_certifications FILE``).

The export is one XML document: a root ``FICHES`` and one ``FICHE`` per certification with
``NUMERO_FICHE`` (RNCP34827 / RS5408), ``INTITULE``, ``ABREGE/{CODE, LIBELLE}``,
``ETAT_FICHE``, ``ACTIF``, ``NOMENCLATURE_EUROPE/{NIVEAU, INTITULE}``,
``DATE_FIN_ENREGISTREMENT``, ``DATE_EFFET`` (dd/mm/yyyy),
``CERTIFICATEURS/CERTIFICATEUR/{SIRET_CERTIFICATEUR, NOM_CERTIFICATEUR}``,
``BLOCS_COMPETENCES/BLOC_COMPETENCES/{CODE, LIBELLE}``, ``NOUVELLE_CERTIFICATION`` /
``ANCIENNE_CERTIFICATION``, ``CODES_NSF/NSF/CODE``, ``CODES_ROME/ROME/CODE``,
``FORMACODES/FORMACODE/CODE``, ``SI_JURY_CA`` (accessible by apprenticeship) and the texts
``ACTIVITES_VISEES`` / ``CAPACITES_ATTESTEES``. A list may hold a single child.

Safety and memory: lxml parses with ``resolve_entities=False``, ``no_network=True``,
``huge_tree=False`` (``ofeli.core.safe_xml``); a document that declares a DTD with entities
is refused. ``iterparse`` reads one ``FICHE`` at a time and frees it once read.

All or nothing: the whole file is read and checked before anything is written, then the
changes are written in one transaction. A malformed file gives a clear error (with its
line) and imports nothing.

Mapping onto ``Certification`` (see docs/backoffice.md):
- a fiche matches the existing certifications with the same RNCP (or RS) code; they are
  updated in place, so formations that use them keep their certification;
- Certifinfo codes: the export has none. Existing rows keep theirs. A fiche unknown here
  gets its France Compétences number as code (``RNCP37949``, ``RS5408``): stable from one
  import to the next, and it cannot collide with a (numeric) Certifinfo code;
- level: ``NIVn`` (European framework) becomes the LHEO code ``1n`` (NIV5 → 15); an RS fiche
  has no level;
- state: ``ACTIF`` = Non → « 1 - Inactives »; a published active fiche → « 0 - Publiées »;
  anything else → « 2 - En cours »;
- ``NOUVELLE_CERTIFICATION`` / ``ANCIENNE_CERTIFICATION`` set « remplacée par »;
- blocs are matched on their code; a bloc that disappeared from the fiche is deleted only if
  no session uses it;
- objectif / contenu are filled from the fiche only when empty (Certifinfo's texts, used to
  prefill formations, are never overwritten); the sigle likewise from ``ABREGE/CODE``.
"""

import datetime
import html
import re
from dataclasses import dataclass, field

from django.db import transaction
from lxml import etree

from ofeli.core.identifiers import compact
from ofeli.core.safe_xml import declares_dtd, safe_iterparse

from .enums import CertificationState
from .models import BlocCompetences, Certification

# European framework level of France Compétences → LHEO dict-niveaux code (2019 nomenclature).
LEVELS = {f"NIV{n}": str(10 + n) for n in range(1, 9)}
NUMERO = re.compile(r"^(RNCP|RS)(\d+)$")
NUMERO_IN_TEXT = re.compile(r"\b(RNCP|RS)\s*(\d+)\b")
TEXT_LIMIT = 3000
MAX_ERRORS = 20


class CertificationImportError(Exception):
    """The file cannot be imported; the message is French and says where."""


@dataclass
class Fiche:
    numero: str
    line: int
    intitule: str = ""
    abrege_code: str = ""
    abrege_libelle: str = ""
    etat_fiche: str = ""
    actif: bool | None = None
    niveau: str = ""
    date_fin_enregistrement: datetime.date | None = None
    date_effet: datetime.date | None = None
    certificateurs: list = field(default_factory=list)  # [(siret, nom)], SIRETs without spaces
    blocs: list = field(default_factory=list)  # [(code, libelle)]
    nouvelles: list = field(default_factory=list)  # numéros of the fiches replacing this one
    anciennes: list = field(default_factory=list)  # numéros of the fiches this one replaces
    codes_nsf: list = field(default_factory=list)
    codes_rome: list = field(default_factory=list)
    formacodes: list = field(default_factory=list)
    acces_apprentissage: bool | None = None
    objectif: str = ""
    contenu: str = ""

    @property
    def register(self):
        return NUMERO.match(self.numero).group(1)

    @property
    def code(self):
        return NUMERO.match(self.numero).group(2)

    @property
    def etat(self):
        if self.actif is False:
            return CertificationState.INACTIVE
        if self.etat_fiche.lower().startswith("publi"):
            return CertificationState.PUBLISHED
        return CertificationState.DRAFT if self.etat_fiche else CertificationState.PUBLISHED

    @property
    def valideurs(self):
        return "\n".join(nom for _, nom in self.certificateurs if nom)


@dataclass
class ImportResult:
    fiches: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    blocs_created: int = 0
    blocs_updated: int = 0
    blocs_deleted: int = 0
    blocs_kept: int = 0  # gone from the fiche but used by a session: kept
    replacements: int = 0
    warnings: list = field(default_factory=list)

    def lines(self):
        lines = [
            f"{self.fiches} fiche(s) lue(s) : {self.created} certification(s) créée(s), "
            f"{self.updated} mise(s) à jour, {self.unchanged} inchangée(s).",
            f"Blocs de compétences : {self.blocs_created} créé(s), {self.blocs_updated} mis à jour, "
            f"{self.blocs_deleted} supprimé(s), {self.blocs_kept} conservé(s) car utilisé(s) par une session.",
            f"Liens de remplacement (ancienne → nouvelle certification) : {self.replacements}.",
        ]
        lines += [f"Attention : {w}" for w in self.warnings]
        return lines


# --- reading --------------------------------------------------------------------------------


def _raw_text(element):
    """Text of an element and its descendants, without unresolved entity references."""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child, etree._Entity):
            parts.append(_raw_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _text(element):
    """Text of an element, whitespace collapsed ("" when the element is absent)."""
    return "" if element is None else " ".join(_raw_text(element).split())


_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/li|/div)\s*/?\s*>", re.IGNORECASE)


def _rich_text(element):
    """The long texts of the export carry escaped HTML: keep the words and the paragraphs."""
    if element is None:
        return ""
    raw = _BREAK.sub("\n", _raw_text(element))
    raw = html.unescape(_TAG.sub(" ", raw))
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    return "\n".join(line for line in lines if line)[:TEXT_LIMIT]


def _items(fiche, container, item):
    """Children ``item`` of ``container`` (a single child is a list of one)."""
    parent = fiche.find(container)
    return [] if parent is None else parent.findall(item)


def _codes(fiche, container, item):
    codes = []
    for element in _items(fiche, container, item):
        code = _text(element.find("CODE")) if element.find("CODE") is not None else _text(element)
        if code and code not in codes:
            codes.append(code)
    return codes


def _numeros(fiche, tag):
    found = []
    for element in fiche.iter(tag):
        for register, number in NUMERO_IN_TEXT.findall(_raw_text(element)):
            numero = f"{register}{int(number)}"
            if numero not in found:
                found.append(numero)
    return found


def _date(value, what, fiche, errors):
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        errors.append(f"fiche {fiche.numero} (ligne {fiche.line}) : {what} « {value} » n'est pas une date jj/mm/aaaa.")
        return None


def _yes_no(value):
    value = value.strip().lower()
    if value in ("oui", "true", "1"):
        return True
    if value in ("non", "false", "0"):
        return False
    return None


def _join(codes, limit):
    """Codes joined like the referential (« C1102, C1107 »), never cut in the middle of one."""
    out = ""
    for code in codes:
        candidate = f"{out}, {code}" if out else code
        if len(candidate) > limit:
            break
        out = candidate
    return out


def read_fiche(element, errors, warnings):
    numero = compact(_text(element.find("NUMERO_FICHE"))).upper()
    line = element.sourceline or 0
    match = NUMERO.match(numero)
    if not match:
        shown = numero or "absent"
        errors.append(f"ligne {line} : NUMERO_FICHE « {shown} » n'est pas un numéro RNCP… ou RS….")
        return None
    fiche = Fiche(numero=f"{match.group(1)}{int(match.group(2))}", line=line)
    fiche.intitule = _text(element.find("INTITULE"))[:500]
    if not fiche.intitule:
        errors.append(f"fiche {fiche.numero} (ligne {line}) : INTITULE manquant.")
    fiche.abrege_code = _text(element.find("ABREGE/CODE"))
    fiche.abrege_libelle = _text(element.find("ABREGE/LIBELLE"))
    fiche.etat_fiche = _text(element.find("ETAT_FICHE"))
    fiche.actif = _yes_no(_text(element.find("ACTIF")))
    level = compact(_text(element.find("NOMENCLATURE_EUROPE/NIVEAU"))).upper()
    if level:
        fiche.niveau = LEVELS.get(level, "")
        if not fiche.niveau:
            warnings.append(f"fiche {fiche.numero} : niveau « {level} » inconnu, laissé vide.")
    fiche.date_fin_enregistrement = _date(
        _text(element.find("DATE_FIN_ENREGISTREMENT")), "DATE_FIN_ENREGISTREMENT", fiche, errors
    )
    fiche.date_effet = _date(_text(element.find("DATE_EFFET")), "DATE_EFFET", fiche, errors)
    seen = set()
    for certificateur in _items(element, "CERTIFICATEURS", "CERTIFICATEUR"):
        siret = compact(_text(certificateur.find("SIRET_CERTIFICATEUR")))
        nom = _text(certificateur.find("NOM_CERTIFICATEUR"))
        if siret and (not siret.isdigit() or len(siret) != 14):
            warnings.append(f"fiche {fiche.numero} : SIRET de certificateur « {siret} » incorrect.")
        key = siret or nom
        if key and key not in seen:
            seen.add(key)
            fiche.certificateurs.append((siret, nom))
    for bloc in _items(element, "BLOCS_COMPETENCES", "BLOC_COMPETENCES"):
        code = compact(_text(bloc.find("CODE")))
        libelle = _text(bloc.find("LIBELLE"))[:500]
        if not code:
            errors.append(f"fiche {fiche.numero} (ligne {bloc.sourceline}) : bloc de compétences sans CODE.")
            continue
        if code not in dict(fiche.blocs):
            fiche.blocs.append((code[:30], libelle or code))
    fiche.nouvelles = [n for n in _numeros(element, "NOUVELLE_CERTIFICATION") if n != fiche.numero]
    fiche.anciennes = [n for n in _numeros(element, "ANCIENNE_CERTIFICATION") if n != fiche.numero]
    fiche.codes_nsf = _codes(element, "CODES_NSF", "NSF")
    fiche.codes_rome = _codes(element, "CODES_ROME", "ROME")
    fiche.formacodes = _codes(element, "FORMACODES", "FORMACODE")
    jury_ca = element.find("SI_JURY_CA")
    fiche.acces_apprentissage = None if jury_ca is None else bool(_yes_no(_text(jury_ca)))
    fiche.objectif = _rich_text(element.find("ACTIVITES_VISEES"))
    fiche.contenu = _rich_text(element.find("CAPACITES_ATTESTEES"))
    return fiche


def parse(source):
    """Read the export (a path or a binary file object); returns ({numero: Fiche}, warnings).
    Raises CertificationImportError on a malformed or unexpected document."""
    errors, warnings, fiches = [], [], {}
    depth = 0
    try:
        events = safe_iterparse(source, events=("start", "end"), remove_comments=True, remove_pis=True)
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    if declares_dtd(element):
                        raise CertificationImportError(
                            "Le fichier déclare une DTD interne (entités XML) : il est refusé par sécurité. "
                            "L'export France Compétences n'en contient pas."
                        )
                    if element.tag != "FICHES":
                        raise CertificationImportError(
                            f"Ce fichier n'est pas un export France Compétences : l'élément racine est "
                            f"« {element.tag} » au lieu de « FICHES »."
                        )
                continue
            depth -= 1
            if depth == 1 and element.tag == "FICHE":
                fiche = read_fiche(element, errors, warnings)
                if fiche is not None:
                    if fiche.numero in fiches:
                        warnings.append(
                            f"fiche {fiche.numero} présente deux fois (lignes {fiches[fiche.numero].line} et "
                            f"{fiche.line}) : la dernière est retenue."
                        )
                    fiches[fiche.numero] = fiche
                if len(errors) >= MAX_ERRORS:
                    break
                # Free what has been read: the document is never held whole in memory.
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        line = error.position[0] if error.position else error.lineno
        raise CertificationImportError(
            f"Le fichier n'est pas un XML bien formé (ligne {line}) : {error.msg}. Aucune certification n'a été importée."
        ) from error
    except OSError as error:
        raise CertificationImportError(f"Impossible de lire le fichier : {error}.") from error
    if errors:
        shown = "\n- ".join(errors[:MAX_ERRORS])
        raise CertificationImportError(
            f"Le fichier contient des erreurs ; aucune certification n'a été importée :\n- {shown}"
        )
    if depth == 0 and not fiches:
        raise CertificationImportError("Le fichier ne contient aucune fiche (élément FICHE).")
    return fiches, warnings


# --- writing -------------------------------------------------------------------------------------

# Filled only when empty (Certifinfo's values win); the export owns the other fields of
# ``_values``, written at every import.
FILLED_FIELDS = ["sigle", "objectif", "contenu", "formacodes"]


def _values(fiche):
    values = {
        "intitule": fiche.intitule,
        "code_rncp": fiche.code if fiche.register == "RNCP" else "",
        "code_rs": fiche.code if fiche.register == "RS" else "",
        "etat": fiche.etat,
        "niveau_sortie": fiche.niveau,
        "date_fin_enregistrement": fiche.date_fin_enregistrement,
        "date_effet": fiche.date_effet,
        "valideurs": fiche.valideurs,
        "codes_nsf": _join(fiche.codes_nsf, 100),
        "codes_rome": _join(fiche.codes_rome, 200),
        "sigle": fiche.abrege_code[:50],
        "objectif": fiche.objectif,
        "contenu": fiche.contenu,
        "formacodes": _join(fiche.formacodes, 100),
    }
    if fiche.acces_apprentissage is not None:
        values["acces_apprentissage"] = fiche.acces_apprentissage
    return values


def _apply(certification, values):
    """Set the values on an existing row; returns the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if name in FILLED_FIELDS and getattr(certification, name):
            continue
        if getattr(certification, name) != value:
            setattr(certification, name, value)
            changed.append(name)
    search_text = Certification.search_text_of(certification.__dict__)
    if certification.search_text != search_text:
        certification.search_text = search_text
        changed.append("search_text")
    return changed


def _chunks(items, size=500):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _numero(register, code):
    return f"{register}{int(code)}" if code.isdigit() else f"{register}{code}"


def _write(fiches, result):
    existing = {}
    for certification in Certification.objects.exclude(code_rncp="", code_rs=""):
        if certification.code_rncp:
            existing.setdefault(_numero("RNCP", certification.code_rncp), []).append(certification)
        if certification.code_rs:
            existing.setdefault(_numero("RS", certification.code_rs), []).append(certification)
    taken_codes = set(Certification.objects.values_list("code_certifinfo", flat=True))
    to_create, to_update, changed_fields = [], [], set()
    by_numero = {}
    for fiche in fiches.values():
        values = _values(fiche)
        rows = existing.get(fiche.numero, [])
        if not rows:
            code = fiche.numero
            if code in taken_codes:  # a row with this code lost its RNCP/RS code: reuse it
                row = Certification.objects.get(code_certifinfo=code)
                rows = [row]
            else:
                row = Certification(code_certifinfo=code, **values)
                row.search_text = Certification.search_text_of(row.__dict__)
                to_create.append(row)
                by_numero[fiche.numero] = [row]
                continue
        for row in rows:
            changed = _apply(row, values)
            if changed:
                to_update.append(row)
                changed_fields.update(changed)
            else:
                result.unchanged += 1
        by_numero[fiche.numero] = rows
    Certification.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Certification.objects.bulk_update(to_update, sorted(changed_fields), batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    if any(row.pk is None for row in to_create):  # backends that return no ids
        created = {c.code_certifinfo: c for c in Certification.objects.filter(code_certifinfo__in=fiches)}
        for numero, rows in by_numero.items():
            by_numero[numero] = [created.get(r.code_certifinfo, r) if r.pk is None else r for r in rows]
    _write_replacements(fiches, {**existing, **by_numero}, result)
    _write_blocs(fiches, by_numero, result)


def _write_replacements(fiches, by_numero, result):
    """``by_numero``: rows of every fiche of the file, and of the certifications already
    known (a fiche may name one imported earlier)."""
    wanted = {}  # old certification row -> replacing certification id
    for fiche in fiches.values():
        for numero in fiche.nouvelles:
            if numero in by_numero:
                for old in by_numero[fiche.numero]:
                    wanted[old] = by_numero[numero][0].pk
        for numero in fiche.anciennes:
            if numero in by_numero:
                for old in by_numero[numero]:
                    wanted.setdefault(old, by_numero[fiche.numero][0].pk)
    changed = []
    for old, new_id in wanted.items():
        if old.pk != new_id and old.replaced_by_id != new_id:
            old.replaced_by_id = new_id
            changed.append(old)
    Certification.objects.bulk_update(changed, ["replaced_by"], batch_size=500)
    result.replacements = len(wanted)


def _write_blocs(fiches, by_numero, result):
    certification_ids = [row.pk for rows in by_numero.values() for row in rows]
    existing = {}
    for ids in _chunks(certification_ids):
        for bloc in BlocCompetences.objects.filter(certification_id__in=ids):
            existing[(bloc.certification_id, bloc.code)] = bloc
    through = BlocCompetences.sessionblocs_set.through
    used = set(through.objects.values_list("bloccompetences_id", flat=True).distinct())
    to_create, to_update, wanted_keys = [], [], set()
    for numero, fiche in fiches.items():
        for row in by_numero[numero]:
            for code, libelle in fiche.blocs:
                key = (row.pk, code)
                wanted_keys.add(key)
                bloc = existing.get(key)
                if bloc is None:
                    to_create.append(BlocCompetences(certification_id=row.pk, code=code, libelle=libelle))
                elif bloc.libelle != libelle:
                    bloc.libelle = libelle
                    to_update.append(bloc)
    gone = [bloc for key, bloc in existing.items() if key not in wanted_keys]
    to_delete = [bloc.pk for bloc in gone if bloc.pk not in used]
    BlocCompetences.objects.bulk_create(to_create, batch_size=500)
    BlocCompetences.objects.bulk_update(to_update, ["libelle"], batch_size=500)
    for ids in _chunks(to_delete):
        BlocCompetences.objects.filter(pk__in=ids).delete()
    result.blocs_created, result.blocs_updated = len(to_create), len(to_update)
    result.blocs_deleted, result.blocs_kept = len(to_delete), len(gone) - len(to_delete)


def import_certifications(source, *, author=None, dry_run=False):
    """Import the export at ``source`` (path or binary file). Returns an ImportResult;
    raises CertificationImportError without writing anything when the file is wrong.
    With ``dry_run`` the changes are computed, then rolled back."""
    from ofeli.workflow.enums import HistoryAction
    from ofeli.workflow.history import record

    fiches, warnings = parse(source)
    result = ImportResult(fiches=len(fiches), warnings=warnings)
    with transaction.atomic():
        _write(fiches, result)
        if dry_run:
            transaction.set_rollback(True)
        else:
            record(
                HistoryAction.IMPORTED,
                author,
                details="Certifications France Compétences : " + " ".join(result.lines()[:2]),
            )
    return result

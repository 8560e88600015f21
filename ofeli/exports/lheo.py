"""LHEO 2.2 / 2.3 export of the published offer (SPEC H2, D5).

What is exported is what the public sees: ``Formation.live_version`` (never a draft or a
pending change), of formations not archived whose organisme responsable is in a diffused
state, with the sessions of that version that are not archived. One of our formations is one
``<formation>``; each session is one ``<action>`` holding one ``<session>``.

Streaming: formations are read by chunks of ``chunk_size`` primary keys (keyset
pagination); each chunk is loaded in a fixed number of queries that return plain values
(``values_list``, no model instances), grouped by session version in dictionaries. Each
formation is built as one small element tree, written with ``lxml.etree.xmlfile`` and
flushed; a chunk is released before the next one is read, so memory is bounded by one chunk
whatever the size of the offer. Sub-trees that recur within a chunk (addresses, contacts,
organisme responsable, organismes formateurs) are built once and copied.

The mapping, the identifiers and the defaults used for required elements we do not collect
are documented in docs/lheo-mapping.md.
"""

import datetime
import hashlib
import itertools
import queue
import re
import textwrap
import threading
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, connections
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from lxml import etree

from ofeli.formations.enums import FinancementEtat, ModalitePedagogique, RythmeCode
from ofeli.formations.models import (
    Cycle,
    Equipement,
    Financement,
    Formation,
    FormationVersion,
    RecruitmentSlot,
    SessionBlocs,
    SessionContact,
    SessionPlace,
    SessionTrainer,
    SessionVersion,
)
from ofeli.formations.queries import published_sessions
from ofeli.referentials import formacode, lheo
from ofeli.referentials.enums import TrainingKind
from ofeli.structures.models import Contact, StructureVersion

from .files import replacing
from .kept import attach as attach_kept
from .kept import exportable as exportable_offer
from .kept import restore as restore_kept
from .models import ContentStamp

VERSIONS = ("2.2", "2.3")
# The target namespaces of the official schemas (ofeli/exports/xsd): 2.2 is www.lheo.org.
NAMESPACES = {"2.2": "http://www.lheo.org/2.2", "2.3": "http://lheo.gouv.fr/2.3"}
DEFAULT_CHUNK_SIZE = 500

# Defaults for required elements we do not collect (docs/lheo-mapping.md).
# code-public-vise is required: when no dispositif of the session names a public, « 83056 -
# Tout public » (the session sets no restriction); overridable: settings.LHEO_DEFAULT_PUBLIC_VISE.
MAX_PUBLICS = 10
COUNTRY = "FR"  # pays of our addresses (ISO 3166, LHEO table of countries)
# Sessions ended more than this many days ago leave the exported offer (docs/lheo-mapping.md).
DEFAULT_ENDED_SESSIONS_DAYS = 90
ETAT_FERME = "2"
DEFAULT_PARCOURS = "1"  # en groupe
DEFAULT_NIVEAU_ENTREE = "0"  # information non communiquée
DEFAULT_RESULTATS = "Attestation de fin de formation."
DEFAULT_CONTENU = "Contenu détaillé disponible auprès de l'organisme de formation."
DEFAULT_RYTHME = "Rythme à préciser auprès de l'organisme de formation."
DEFAULT_ALTERNANCE = "Sans objet."
DEFAULT_CONDITIONS = "Aucune."
UNKNOWN_NDA = "00000000000"
UNKNOWN_START = "00000000"  # LHEO: date unknown
UNKNOWN_END = "99999999"  # LHEO: no end date

# Code lists of each schema (enumerations of the XSDs).
NIVEAUX = {
    "2.2": {str(c) for c in range(9)},
    "2.3": {str(c) for c in range(9)} | {str(c) for c in range(11, 19)},
}
# 2019 levels (Niveau 1..8) -> the 2.2 nomenclature (VI, V bis, V, IV, III, II, I).
NIVEAUX_2019_TO_22 = {"11": "2", "12": "3", "13": "4", "14": "5", "15": "6", "16": "7", "17": "8", "18": "8"}
FINANCEURS = {
    "2.2": {str(c) for c in range(18)},
    "2.3": {str(c) for c in range(21)},
}
# Financeurs added in 2.3 (LADOM, ministère de l'intérieur, OFII): « État - Autre » in 2.2.
FINANCEURS_23_TO_22 = {"18": "13", "19": "13", "20": "13"}
NO_FUNDING_CODES = {"0", "10"}  # « Autre », « Bénéficiaire de l'action »
TYPE_CONTACT = {str(c) for c in range(15)}
OBJECTIF_GENERAL = {"1", "2", "3", "4", "5", "6", "7", "8", "9"}
PARCOURS = {"1", "2", "3", "4"}
MODALITES_ENSEIGNEMENT = {"0", "1", "2"}
ETATS_RECRUTEMENT = ("1", "3", "2")  # ouvert wins over suspendu over fermé
MODALITES_RECRUTEMENT = {str(c) for c in range(10)}
PERIMETRES = {str(c) for c in range(7)}
TYPES_EQUIPEMENT = {str(c) for c in range(12)}
VALIDATION_BLOCS = {"0", "1", "2"}
TYPES_CYCLE = {"0", "1"}
TYPES_ALTERNANCE = {"0", "1", "2"}
INFO_COLLECTIVE = "9"
MAX_FINANCEURS = 8
MAX_DATES_INFORMATION = 3
MAX_WARNINGS = 200

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile("[\u00a0\u202f\u2007]")
_FORMACODE = re.compile(r"(?<![0-9])[0-9]{5}(?![0-9])")
_ROME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][0-9]{4}(?![0-9])")
_NSF = re.compile(r"(?<![0-9])[0-9]{3}(?![0-9])")
_MOBILE = re.compile(r"^(?:0|\+33|0033)[67]")
_NOT_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s")
_PHONE_SEPARATORS = re.compile(r"[\s.\-]")
_SUBELEMENT = etree.SubElement


_LOGISTIQUE = (
    ("restauration", "restauration"),
    ("hebergement", "hebergement"),
    ("transport", "transport"),
    ("acces-handicapes", "acces_handicapes"),
)


class EmptyOffer(ValueError):
    """Nothing to export: an LHEO document needs at least one formation."""


@dataclass
class ExportStats:
    version: str
    formations: int = 0
    actions: int = 0
    sessions: int = 0
    truncated: Counter = field(default_factory=Counter)  # LHEO element -> texts cut to fit
    skipped: Counter = field(default_factory=Counter)  # reason -> count (left out or replaced)
    warnings: list = field(default_factory=list)  # first MAX_WARNINGS details
    # Sub-tree builds being recorded (see LheoWriter.cached): their warnings are replayed.
    _recorders: list = field(default_factory=list, repr=False, compare=False)

    @property
    def truncated_total(self):
        return sum(self.truncated.values())

    def warn(self, reason, reference):
        self.skipped[reason] += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{reference} : {reason}")
        for recorder in self._recorders:
            recorder.append((reason, reference))

    def cut(self, element, length=None, limit=None):
        """A text of ``length`` characters cut to the ``limit`` of ``element`` (the readiness
        panel, Q3, lists them; the export only counts them)."""
        self.truncated[element] += 1
        for recorder in self._recorders:
            recorder.append((element, None, length, limit))

    def replay(self, recorded):
        """Count again what building a cached sub-tree counted (cut texts, warnings)."""
        for what, reference, *details in recorded:
            if reference is None:
                self.cut(what, *details)
            else:
                self.warn(what, reference)


def clean(value):
    """Text as XML accepts it: no control characters, normalised line breaks, stripped."""
    if not value:
        return ""
    text = value if value.__class__ is str else str(value)
    if text.isprintable():  # nothing XML forbids, no special spaces: the common case
        return text.strip()
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _NOT_XML.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _hour(value):
    """A time as LHEO writes it: « 10h00 »."""
    return f"{value.hour:02d}h{value.minute:02d}"


def lheo_date(value):
    if value is None:
        return None
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _digits(value):
    return _NOT_DIGIT.sub("", value or "")


def _code(value, prefix=""):
    """A register code without its prefix and spaces (« RNCP 38234 » -> « 38234 »)."""
    value = _SPACE.sub("", value or "")
    if prefix and value.upper().startswith(prefix):
        value = value[len(prefix) :]
    return value


def _rs(value):
    """A code of the Répertoire spécifique as LHEO writes it: « RS » then digits (« RS5629 »)."""
    digits = _code(value, "RS")
    return f"RS{digits}" if digits else ""


def _unique(values, limit):
    out = []
    for value in values:
        if value not in out:
            out.append(value)
        if len(out) == limit:
            break
    return out


def _label(code, enum):
    try:
        return enum(code).label.split(" - ", 1)[-1]
    except ValueError:
        return ""


def _delay(days):
    """A number of days as a readable delay, rounded to the unit that fits."""
    if days >= 365 and round(days / 365.25 * 2) % 2 == 0:
        years = round(days / 365.25)
        return f"{years} an{'s' if years > 1 else ''}"
    if days >= 56:
        return f"{round(days / 30.44)} mois"
    if days >= 14:
        return f"{round(days / 7)} semaines"
    return f"{days} jour{'s' if days > 1 else ''}"


def _address_ok(addr):
    if addr is None:
        return False
    code_postal = addr["code_postal"] or ""
    return len(code_postal) == 5 and code_postal.isdigit() and bool(clean(addr["ville"]))


def _departement(code_postal, code_insee):
    cp = code_insee or code_postal
    if not cp:
        return ""
    return cp[:3] if cp.startswith("97") else cp[:2]


# --- reading: plain values, grouped in dictionaries ---------------------------------------

ADDRESS_FIELDS = ("adresse", "complement", "code_postal", "ville", "code_insee", "latitude", "longitude")
STRUCTURE_FIELDS = ("reference", "siret", "nda", "uai", "nom", "raison_sociale", "live_version_id")
STRUCTURE_VERSION_FIELDS = (*ADDRESS_FIELDS, "telephone", "telephone_secondaire", "email", "site_web")
CONTACT_FIELDS = ("reference", "structure_id", "civilite", "nom", "prenom", "telephone", "email", "types")
LIEU_FIELDS = ("reference", "nom", "siret", *ADDRESS_FIELDS)
VERSION_FIELDS = (
    "intitule",
    "objectif",
    "contenu",
    "resultats_attendus",
    "niveau_entree",
    "niveau_sortie",
    "objectif_general",
    "formacodes",
    "codes_rome",
    "site_web",
    "duree_cycle",
    "certification_id",
)
CERTIFICATION_FIELDS = (
    "code_rncp",
    "code_rs",
    "code_certifinfo",
    "intitule",
    "objectif",
    "contenu",
    "niveau_sortie",
    "formacodes",
    "codes_rome",
    "codes_nsf",
)
SESSION_FIELDS = (
    "kind",
    "date_debut",
    "date_fin",
    "a_la_demande",
    "entree_sortie_permanente",
    "modalite_enseignement",
    "commentaire_financement",
    "conditions_prise_en_charge",
    "duree_centre",
    "duree_entreprise",
    "duree_totale",
    "duree_hebdomadaire",
    "commentaire_duree",
    "prerequis",
    "type_parcours",
    "rythme",
    "commentaire_rythme",
    "modalites_pedagogiques",
    "commentaire_modalites_pedagogiques",
    "debut_inscription",
    "fin_inscription",
    "commentaire_inscription",
    "hebergement",
    "restauration",
    "transport",
    "acces_handicapes",
)
SLOT_FIELDS = (
    "modalite",
    "date",
    "heure_debut",
    "heure_fin",
    "nb_places",
    "lien_web",
    "commentaire",
    "perimetre",
    "commentaire_perimetre",
    "a_distance",
)


def _paths(prefix, names):
    return [f"{prefix}{name}" for name in names]


# A structure and its published record, read through ``structure`` (ChunkReader.structure).
STRUCTURE_PATHS = (
    *_paths("structure__", STRUCTURE_FIELDS),
    *_paths("structure__live_version__", STRUCTURE_VERSION_FIELDS),
)


class ChunkReader:
    """Reads the published offer chunk by chunk as dictionaries, in a fixed number of
    queries per chunk (9 in 2.2, 11 in 2.3) whatever the chunk holds."""

    def __init__(self, v23, sessions=None, session_versions=None):
        self.v23 = v23
        self.sessions = sessions
        # The session versions read (None: the published offer, ``offer_sessions``).
        self.session_versions = session_versions
        self.structures = {}
        self.lieux = {}
        self.contacts = {}
        self.addresses = {}

    # -- shared records of the chunk (one dict per structure / lieu / contact) --

    def address(self, key, values, offset):
        """The address dict of ``values[offset:offset + 7]`` (ADDRESS_FIELDS), one per key."""
        addr = self.addresses.get(key)
        if addr is None:
            addr = dict(zip(ADDRESS_FIELDS, values[offset : offset + 7], strict=True))
            addr["key"] = key
            addr["departement"] = _departement(addr["code_postal"], addr["code_insee"])
            self.addresses[key] = addr
        return addr

    def structure(self, pk, values, offset):
        """The structure dict from ``values[offset:]`` = STRUCTURE_FIELDS then
        STRUCTURE_VERSION_FIELDS of its published version."""
        structure = self.structures.get(pk)
        if structure is None:
            n = len(STRUCTURE_FIELDS)
            structure = dict(zip(STRUCTURE_FIELDS, values[offset : offset + n], strict=True))
            structure["pk"] = pk
            version_offset = offset + n
            if structure["live_version_id"] is None:
                structure["addr"] = None
                structure["telephone"] = structure["telephone_secondaire"] = ""
                structure["email"] = structure["site_web"] = ""
            else:
                structure["addr"] = self.address(("sv", structure["live_version_id"]), values, version_offset)
                (
                    structure["telephone"],
                    structure["telephone_secondaire"],
                    structure["email"],
                    structure["site_web"],
                ) = values[version_offset + 7 : version_offset + 11]
            structure["contacts"] = []
            self.structures[pk] = structure
        return structure

    def lieu(self, pk, values, offset):
        lieu = self.lieux.get(pk)
        if lieu is None:
            lieu = {"pk": pk, "reference": values[offset], "nom": values[offset + 1], "siret": values[offset + 2]}
            lieu["addr"] = self.address(("lieu", pk), values, offset + 3)
            self.lieux[pk] = lieu
        return lieu

    def contact(self, pk, values, offset):
        contact = self.contacts.get(pk)
        if contact is None:
            contact = dict(zip(CONTACT_FIELDS, values[offset : offset + len(CONTACT_FIELDS)], strict=True))
            contact["pk"] = pk
            self.contacts[pk] = contact
        return contact

    # -- the chunk --

    FORMATION_NAMES = ("pk", "reference", "created_at", "published_at", "live_version_id", "source", "source_id")

    def _formations(self, rows):
        """The formation dicts of ``rows`` (FORMATION_NAMES, VERSION_FIELDS, CERTIFICATION_FIELDS,
        the structure's pk then STRUCTURE_PATHS), with the shared records of a new chunk."""
        names = self.FORMATION_NAMES
        n_names, n_version, n_cert = len(names), len(VERSION_FIELDS), len(CERTIFICATION_FIELDS)
        # New maps for each chunk: the previous chunk may still be in use (prefetching).
        self.structures, self.lieux, self.contacts, self.addresses = {}, {}, {}, {}
        formations = []
        for row in rows:
            formation = dict(zip(names, row[:n_names], strict=True))
            formation.update(zip(VERSION_FIELDS, row[n_names : n_names + n_version], strict=True))
            if formation["certification_id"] is None:
                formation["cert"] = None
            else:
                offset = n_names + n_version
                formation["cert"] = dict(zip(CERTIFICATION_FIELDS, row[offset : offset + n_cert], strict=True))
            offset = n_names + n_version + n_cert
            formation["structure"] = self.structure(row[offset], row, offset + 1)
            formation["sessions"] = []
            formations.append(formation)
        return formations

    def chunks(self, queryset, chunk_size):
        f_paths = [
            *self.FORMATION_NAMES,
            *_paths("live_version__", VERSION_FIELDS),
            *_paths("live_version__certification__", CERTIFICATION_FIELDS),
            "structure_id",
            *STRUCTURE_PATHS,
        ]
        last_pk = None
        while True:
            page = queryset.order_by("pk")
            if last_pk is not None:
                page = page.filter(pk__gt=last_pk)
            rows = list(page.values_list(*f_paths)[:chunk_size])
            if not rows:
                return
            last_pk = rows[-1][0]
            formations = self._formations(rows)
            self.load(formations)
            attach_kept(formations)  # H3a: what imports kept (kept.py)
            yield formations
            if len(rows) < chunk_size:
                return

    def version(self, version_id):
        """One formation version (a draft under review, or any other version) read exactly as
        ``chunks`` reads the published offer, with every session of that version
        (``session_versions``, by default all of them, whatever their state): the
        dictionary ``LheoWriter.formation`` builds from. Used by the readiness panel (Q3)."""
        f_paths = [
            *(("pk" if name == "live_version_id" else f"formation__{name}") for name in self.FORMATION_NAMES),
            *VERSION_FIELDS,
            *_paths("certification__", CERTIFICATION_FIELDS),
            "formation__structure_id",
            *_paths("formation__", STRUCTURE_PATHS),
        ]
        rows = list(FormationVersion.objects.filter(pk=version_id).values_list(*f_paths))
        if not rows:
            return None
        if self.session_versions is None:
            self.session_versions = SessionVersion.objects.all()
        formations = self._formations(rows)
        self.load(formations)
        return formations[0]

    def load(self, formations):
        self.load_sessions(formations)
        self.load_labels()

    def load_labels(self):
        """Conventions, labels and quality certifications (Qualiopi…) of the chunk's
        structures' published records: one query."""
        by_version = {}
        for structure in self.structures.values():
            structure["labels"] = []
            if structure["live_version_id"] is not None:
                by_version.setdefault(structure["live_version_id"], []).append(structure)
        if not by_version:
            return
        through = StructureVersion.labels.through
        for version_id, kind, code, libelle in (
            through.objects.filter(structureversion_id__in=list(by_version))
            .order_by("label__kind", "label__code", "label_id")
            .values_list("structureversion_id", "label__kind", "label__code", "label__libelle")
        ):
            for structure in by_version[version_id]:
                structure["labels"].append((kind, code, libelle))

    def load_sessions(self, formations):
        by_version = {f["live_version_id"]: f for f in formations}
        version_ids = list(by_version)
        structure_ids = list({f["structure"]["pk"] for f in formations})
        for row in (
            Contact.objects.filter(structure_id__in=structure_ids, diffusion_web=True)
            .order_by("-is_principal", "nom", "prenom", "pk")
            .values_list("pk", *CONTACT_FIELDS)
        ):
            contact = self.contact(row[0], row, 1)
            self.structures[contact["structure_id"]]["contacts"].append(contact)

        svs = {}
        sv_qs = offer_sessions(self.sessions) if self.session_versions is None else self.session_versions
        if self.session_versions is not None and self.sessions is not None:
            sv_qs = sv_qs.filter(session__in=_pks(self.sessions))
        sv_qs = sv_qs.filter(formation_version_id__in=version_ids)
        sv_names = ("pk", "formation_version_id", "session_id", "reference", "created_at", *SESSION_FIELDS)
        n = len(sv_names)
        for row in sv_qs.order_by(F("date_debut").asc(nulls_last=True), "session__reference", "pk").values_list(
            "pk",
            "formation_version_id",
            "session_id",
            "session__reference",
            "session__created_at",
            *SESSION_FIELDS,
            "lieu_inscription_id",
            *_paths("lieu_inscription__", LIEU_FIELDS),
            "contact_inscription_id",
            "contact_inscription__diffusion_web",
            *_paths("contact_inscription__", CONTACT_FIELDS),
        ):
            sv = dict(zip(sv_names, row[:n], strict=True))
            sv["lieu_inscription"] = None if row[n] is None else self.lieu(row[n], row, n + 1)
            offset = n + 1 + len(LIEU_FIELDS)
            # The « contact d'inscription », only with « Diffusion web » (as every contact).
            if row[offset] is None or not row[offset + 1]:
                sv["contact_inscription"] = None
            else:
                sv["contact_inscription"] = self.contact(row[offset], row, offset + 2)
            sv["trainers"], sv["places"], sv["contacts"], sv["financements"] = [], [], [], []
            sv["slots"], sv["cycles"], sv["equipements"], sv["blocs"] = [], [], [], []
            svs[sv["pk"]] = sv
            by_version[sv["formation_version_id"]]["sessions"].append(sv)
        if not svs:
            return
        of_chunk = {"session_version__formation_version_id__in": version_ids}

        for row in (
            SessionTrainer.objects.filter(**of_chunk)
            .order_by("-is_principal", "pk")
            .values_list("session_version_id", "structure_id", *STRUCTURE_PATHS)
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["trainers"].append(self.structure(row[1], row, 2))
        for row in (
            SessionPlace.objects.filter(**of_chunk)
            .order_by("-is_principal", "pk")
            .values_list("session_version_id", "lieu_id", *_paths("lieu__", LIEU_FIELDS))
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["places"].append(self.lieu(row[1], row, 2))
        for row in (
            SessionContact.objects.filter(contact__diffusion_web=True, **of_chunk)
            .order_by("-is_principal", "pk")
            .values_list(
                "session_version_id", "type_contact", "is_principal", "contact_id", *_paths("contact__", CONTACT_FIELDS)
            )
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["contacts"].append((self.contact(row[3], row, 4), row[1], row[2]))
        for row in (
            Financement.objects.filter(etat=FinancementEtat.DIFFUSION, **of_chunk)
            .order_by("pk")
            .values_list(
                "session_version_id",
                "financeur__lheo_code",
                "dispositif__is_public_funds",
                "numero_marche",
                "nb_places",
                "etat_recrutement",
                "dispositif__publics_vises",
                "dispositif__code",
                "dispositif__libelle",
                "financeur__code",
                "financeur__libelle",
            )
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["financements"].append(row[1:])
        n = len(SLOT_FIELDS)
        for row in (
            RecruitmentSlot.objects.filter(**of_chunk)
            .order_by(F("date").asc(nulls_last=True), F("heure_debut").asc(nulls_last=True), "pk")
            .values_list(
                "session_version_id",
                *SLOT_FIELDS,
                "lieu_id",
                *_paths("lieu__", LIEU_FIELDS),
                "structure_id",
                *STRUCTURE_PATHS,
            )
        ):
            sv = svs.get(row[0])
            if sv is None:
                continue
            slot = dict(zip(SLOT_FIELDS, row[1 : n + 1], strict=True))
            slot["lieu"] = None if row[n + 1] is None else self.lieu(row[n + 1], row, n + 2)
            offset = n + 2 + len(LIEU_FIELDS)
            slot["structure"] = self.structure(row[offset], row, offset + 1)
            sv["slots"].append(slot)
        for row in (
            Cycle.objects.filter(**of_chunk)
            .order_by("annee", "pk")
            .values_list("session_version_id", "annee", "type_cycle", "type_alternance")
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["cycles"].append(row[1:])
        if not self.v23:
            return
        for row in (
            Equipement.objects.filter(**of_chunk)
            .order_by("pk")
            .values_list("session_version_id", "type_equipement", "cout_indicatif", "commentaire")
        ):
            sv = svs.get(row[0])
            if sv is not None:
                sv["equipements"].append(row[1:])
        through = SessionBlocs.blocs.through
        current = None
        for row in (
            through.objects.filter(sessionblocs__session_version__formation_version_id__in=version_ids)
            .order_by("sessionblocs_id", "bloccompetences__code", "bloccompetences_id")
            .values_list(
                "sessionblocs__session_version_id",
                "sessionblocs_id",
                "sessionblocs__type_validation",
                "sessionblocs__certification__code_rncp",
                "sessionblocs__certification__code_certifinfo",
                "sessionblocs__certification__code_rs",
                "bloccompetences__code",
                "bloccompetences__libelle",
            )
        ):
            sv = svs.get(row[0])
            if sv is None:
                continue
            if current is None or current["pk"] != row[1]:
                current = {"pk": row[1], "type_validation": row[2], "codes": row[3:6], "blocs": []}
                sv["blocs"].append(current)
            current["blocs"].append(row[6:8])


class _QNames(dict):
    """Tag -> qualified name in the document's namespace, computed once per tag."""

    def __init__(self, ns):
        super().__init__()
        self.ns = ns

    def __missing__(self, tag):
        qname = self[tag] = f"{{{self.ns}}}{tag}"
        return qname


class LheoWriter:
    """Builds the LHEO elements of one formation at a time and counts what it does."""

    def __init__(self, version="2.3"):
        if version not in VERSIONS:
            raise ValueError(f"Version LHEO inconnue : {version} (attendu : {', '.join(VERSIONS)}).")
        self.version = version
        self.v23 = version == "2.3"
        self.ns = NAMESPACES[version]
        self.stats = ExportStats(version)
        self.formacode_version = formacode.version()
        self.public_vise = getattr(settings, "LHEO_DEFAULT_PUBLIC_VISE", None) or formacode.tout_public()
        self.today = timezone.localdate()
        self.region = settings.REGION
        self._qnames = _QNames(self.ns)
        self._created_attr = "horodatage-creation" if self.v23 else "datecrea"
        self._modified_attr = "horodatage-modification" if self.v23 else "datemaj"
        self._niveaux = NIVEAUX[version]
        self._financeurs = FINANCEURS[version]
        self._type_alternance = dict(lheo.entries(lheo.TYPE_ALTERNANCE))
        self._modalite_recrutement = dict(lheo.entries(lheo.MODALITE_RECRUTEMENT))
        self._rythmes = {code: _label(code, RythmeCode) for code in RythmeCode.values}
        self._pedagogie = {code: _label(code, ModalitePedagogique) for code in ModalitePedagogique.values}
        # Sub-trees built in the current chunk (places and organismes recur from session to
        # session), with the truncations and warnings their building counted, replayed on use.
        self._cache = {}

    def reset_cache(self):
        self._cache.clear()

    # --- element helpers ------------------------------------------------------------

    def q(self, tag):
        return self._qnames[tag]

    def sub(self, parent, tag, text=None, attrs=None):
        el = _SUBELEMENT(parent, self._qnames[tag], attrs) if attrs else _SUBELEMENT(parent, self._qnames[tag])
        if text is not None:
            el.text = text if text.__class__ is str else str(text)
        return el

    def opt(self, parent, tag, text, attrs=None):
        """An optional element, written only when it has content."""
        if text is not None and text != "":
            return self.sub(parent, tag, text, attrs)
        return None

    def fit(self, value, limit, element):
        """The text within the schema's limit. An over-long text is a data-entry problem:
        as a last resort it is cut at a word boundary with « … », and counted."""
        text = clean(value)
        if len(text) <= limit:
            return text
        self.stats.cut(element, len(text), limit)
        head = text[: limit - 1]
        if not text[limit - 1].isspace():
            cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
            if cut >= limit // 2:
                head = head[:cut]
        return head.rstrip(" \t\n,;:.-–") + "…"

    def stamp(self, moment):
        return moment.isoformat(timespec="seconds") if self.v23 else lheo_date(moment)

    def stamps(self, created, modified):
        attrs = {self._created_attr: created, self._modified_attr: modified}
        return {name: self.stamp(moment) for name, moment in attrs.items() if moment is not None}

    def cached(self, parent, key, build, *args):
        """Append to ``parent`` a copy of the sub-tree ``build(*args)`` built once per chunk
        for ``key``; what building it counted (cut texts, warnings) is counted on every use."""
        entry = self._cache.get(key)
        if entry is None:
            stats = self.stats
            recorder = []
            stats._recorders.append(recorder)
            try:
                element = build(*args)
            finally:
                stats._recorders.remove(recorder)
            entry = self._cache[key] = (element, recorder)
        elif entry[1]:
            self.stats.replay(entry[1])
        if entry[0] is not None:
            parent.append(entry[0].__deepcopy__(None))
        return entry[0]

    # --- codes ----------------------------------------------------------------------

    def niveau(self, code):
        code = str(code or "")
        if not self.v23:
            code = NIVEAUX_2019_TO_22.get(code, code)
        return code if code in self._niveaux else None

    def financeur_code(self, code):
        code = str(code or "").strip()
        if not self.v23:
            code = FINANCEURS_23_TO_22.get(code, code)
        return code if code in self._financeurs else None

    def contact_type(self, session_type, contact):
        for code in [session_type, *(contact["types"] or [])]:
            if str(code) in TYPE_CONTACT:
                return str(code)
        return None

    # --- addresses and coordinates ----------------------------------------------------

    def address_lines(self, addr):
        lines = []
        for part in (clean(addr["adresse"]), clean(addr["complement"])):
            if len(part) <= 50 and "\n" not in part:
                lines.extend([part] if part else [])
            else:
                lines.extend(textwrap.wrap(part, 50, break_on_hyphens=False))
        if not lines:
            lines = [self.fit(addr["ville"], 50, "ligne")]
        if len(lines) > 4:
            lines = lines[:3] + [self.fit(" ".join(lines[3:]), 50, "ligne")]
        return lines

    def adresse(self, parent, addr, denomination=""):
        return self.cached(parent, ("adresse", addr["key"], denomination), self.build_adresse, addr, denomination)

    def build_adresse(self, addr, denomination):
        el = etree.Element(self._qnames["adresse"])
        sub = self.sub
        if self.v23 and clean(denomination):
            sub(el, "denomination", self.fit(denomination, 255, "denomination"))
        for line in self.address_lines(addr):
            sub(el, "ligne", line)
        sub(el, "codepostal", addr["code_postal"])
        sub(el, "ville", self.fit(addr["ville"], 50, "ville"))
        departement = addr["departement"]
        if 2 <= len(departement) <= 3:
            sub(el, "departement", departement)
        if len(addr["code_insee"] or "") == 5:
            sub(el, "code-INSEE-commune", addr["code_insee"])
        region = self.region.region_of(departement)  # S2: the instance's region(s) only
        if region:
            sub(el, "region", region)
        sub(el, "pays", COUNTRY)  # a 5-digit postal code (checked by _address_ok): France
        if addr["latitude"] is not None and addr["longitude"] is not None:
            geo = sub(el, "geolocalisation")
            sub(geo, "latitude", format(addr["latitude"], "f"))
            sub(geo, "longitude", format(addr["longitude"], "f"))
        return el

    def phones(self, parent, numbers):
        fixed, mobile = [], []
        for number in numbers:
            number = clean(number)
            if not number or len(number) > 25:
                continue
            (mobile if _MOBILE.match(_PHONE_SEPARATORS.sub("", number)) else fixed).append(number)
        for tag, values in (("telfixe", fixed), ("portable", mobile)):
            values = _unique(values, 3)
            if values:
                el = self.sub(parent, tag)
                for value in values:
                    self.sub(el, "numtel", value)

    def coordonnees(self, parent, *, contact=None, addr=None, denomination="", phones=(), email="", web="", nom=""):
        """<coordonnees> of a person (contact) or of a structure / place (address); ``nom``:
        the name of a place in 2.2, whose addresses have no <denomination>."""
        co = self.sub(parent, "coordonnees")
        self.opt(co, "nom", self.fit(nom, 50, "nom"))
        if contact is not None:
            self.opt(co, "civilite", clean(contact["civilite"]))
            self.opt(co, "nom", self.fit(contact["nom"], 50, "nom"))
            self.opt(co, "prenom", self.fit(contact["prenom"], 50, "prenom"))
            phones, email = [contact["telephone"]], contact["email"]
        if _address_ok(addr):
            self.adresse(co, addr, denomination)
        self.phones(co, phones)
        email = clean(email)
        if 3 <= len(email) <= 160:
            self.sub(co, "courriel", email)
        web = clean(web)
        if 3 <= len(web) <= 400:
            self.sub(self.sub(co, "web"), "urlweb", web)
        return co

    def contact(self, parent, tag, contact, type_code=None):
        return self.cached(parent, (tag, contact["pk"], type_code), self.build_contact, tag, contact, type_code)

    def build_contact(self, tag, contact, type_code):
        el = etree.Element(self._qnames[tag], {"numero": contact["reference"]})
        if self.v23:
            self.opt(el, "type-contact", self.contact_type(type_code, contact))
        self.coordonnees(el, contact=contact)
        return el

    def structure_coordonnees(self, parent, structure):
        if structure["live_version_id"] is None:
            return self.sub(parent, "coordonnees")
        return self.coordonnees(
            parent,
            addr=structure["addr"],
            phones=[structure["telephone"], structure["telephone_secondaire"]],
            email=structure["email"],
            web=structure["site_web"],
        )

    # --- formation ------------------------------------------------------------------

    def formation(self, formation):
        """The <formation> element, or None when nothing of it can be exported."""
        structure = formation["structure"]
        siret = _digits(structure["siret"])
        if len(siret) != 14:
            self.stats.warn("organisme responsable sans SIRET : formation non exportée", formation["reference"])
            return None
        sessions = []
        for sv in formation["sessions"]:
            inscription = self.inscription_address(formation, sv)
            if inscription is None:
                self.stats.warn("aucune adresse d'inscription complète : session non exportée", sv["reference"])
            else:
                sessions.append((sv, inscription))
        if not sessions:
            self.stats.warn("aucune session publiée exportable : formation non exportée", formation["reference"])
            return None
        cert = formation["cert"]
        sub = self.sub
        f = etree.Element(
            self._qnames["formation"],
            {"numero": formation["reference"], **self.stamps(formation["created_at"], None)},
            nsmap={None: self.ns},
        )
        self.domaine(f, formation)
        sub(
            f,
            "intitule-formation",
            self.fit(formation["intitule"], 255, "intitule-formation") or formation["reference"],
        )
        objectif = clean(formation["objectif"]) or (cert and clean(cert["objectif"])) or clean(formation["intitule"])
        sub(f, "objectif-formation", self.fit(objectif, 3000, "objectif-formation"))
        sub(f, "resultats-attendus", self.fit(self.resultats(formation), 3000, "resultats-attendus"))
        contenu = clean(formation["contenu"]) or (cert and clean(cert["contenu"])) or DEFAULT_CONTENU
        sub(f, "contenu-formation", self.fit(contenu, 3000, "contenu-formation"))
        sub(f, "certifiante", "1" if cert else "0")
        self.formation_contacts(f, formation, [sv for sv, _ in sessions])
        parcours = Counter(sv["type_parcours"] for sv, _ in sessions if sv["type_parcours"] in PARCOURS)
        sub(f, "parcours-de-formation", parcours.most_common(1)[0][0] if parcours else DEFAULT_PARCOURS)
        sub(f, "code-niveau-entree", self.niveau(formation["niveau_entree"]) or DEFAULT_NIVEAU_ENTREE)
        if formation["objectif_general"] in OBJECTIF_GENERAL:
            sub(f, "objectif-general-formation", formation["objectif_general"])
        if cert:
            self.certification(f, cert, formation["reference"])
        self.opt(f, "code-niveau-sortie", self.niveau(formation["niveau_sortie"] or (cert and cert["niveau_sortie"])))
        site = clean(formation["site_web"])
        if 3 <= len(site) <= 400:
            sub(sub(f, "url-formation"), "urlweb", site)
        for sv, inscription in sessions:
            self.action(f, formation, sv, inscription)
        self.cached(f, ("responsable", structure["pk"]), self.responsable, structure, siret)
        self.formation_extras(f, formation)
        self.stats.formations += 1
        self.stats.actions += len(sessions)
        self.stats.sessions += len(sessions)
        return f

    def domaine(self, parent, formation):
        cert = formation["cert"]
        formacodes = (
            _FORMACODE.findall(formation["formacodes"]) or (cert and _FORMACODE.findall(cert["formacodes"])) or []
        )
        romes = _ROME.findall(formation["codes_rome"]) or (cert and _ROME.findall(cert["codes_rome"])) or []
        nsf = _NSF.findall(cert["codes_nsf"]) if cert else []
        el = self.sub(parent, "domaine-formation")
        for code in _unique(formacodes, 5):
            self.sub(el, "code-FORMACODE", code, {"ref": self.formacode_version})
        for code in _unique(nsf, 3):
            self.sub(el, "code-NSF", code)
        for code in _unique([c.upper() for c in romes], 5):
            self.sub(el, "code-ROME", code)

    def resultats(self, formation):
        if clean(formation["resultats_attendus"]):
            return formation["resultats_attendus"]
        cert = formation["cert"]
        if cert:
            codes = [
                f"RNCP{cert['code_rncp']}" if cert["code_rncp"] else "",
                f"RS{cert['code_rs']}" if cert["code_rs"] else "",
            ]
            codes = ", ".join(c for c in codes if c)
            return f"Certification : {clean(cert['intitule'])}" + (f" ({codes})" if codes else "") + "."
        return DEFAULT_RESULTATS

    def certification(self, parent, cert, reference):
        limit = 10 if self.v23 else 6
        el = self.sub(parent, "certification")
        for tag, value, minimum in (
            ("code-RNCP", _code(cert["code_rncp"], "RNCP"), 1),
            ("code-CERTIFINFO", _code(cert["code_certifinfo"]), 1),
            ("code-RS", _rs(cert["code_rs"]) if self.v23 else "", 3),
        ):
            if not value:
                continue
            if minimum <= len(value) <= limit:
                self.sub(el, tag, value)
            else:
                self.stats.warn(f"{tag} « {value} » hors du format LHEO {self.version} : non exporté", reference)

    def formation_contacts(self, parent, formation, svs):
        """Session contacts diffused on the web (principal ones first), else the
        responsable's contacts diffused on the web, else its coordinates."""
        found = {}
        for principal in (True, False):
            for sv in svs:
                for contact, type_contact, is_principal in sv["contacts"]:
                    if is_principal == principal:
                        found.setdefault(contact["pk"], (contact, type_contact))
        structure = formation["structure"]
        contacts = list(found.values()) or [(c, None) for c in structure["contacts"]]
        if not self.v23:
            contacts = contacts[:1]
        for contact, type_code in contacts:
            self.contact(parent, "contact-formation", contact, type_code)
        if not contacts:
            self.structure_coordonnees(self.sub(parent, "contact-formation"), structure)

    def responsable(self, structure, siret):
        el = etree.Element(self._qnames["organisme-formation-responsable"], {"numero": structure["reference"]})
        # The numéro de déclaration d'activité: 11 characters, a letter included for some
        # (« 7331P001531 »), kept as written (spaces left out), never reduced to its digits.
        nda = _SPACE.sub("", structure["nda"] or "").upper()
        if len(nda) != 11 or not nda.isalnum() or not nda.isascii():
            self.stats.warn("organisme responsable sans NDA : numéro d'activité 00000000000", structure["reference"])
            nda = UNKNOWN_NDA
        self.sub(el, "numero-activite", nda)
        self.sub(self.sub(el, "SIRET-organisme-formation"), "SIRET", siret)
        nom = self.fit(structure["nom"], 250, "nom-organisme") or self.fit(
            structure["raison_sociale"], 250, "nom-organisme"
        )
        self.sub(el, "nom-organisme", nom)
        self.sub(el, "raison-sociale", self.fit(structure["raison_sociale"], 250, "raison-sociale") or nom)
        self.structure_coordonnees(self.sub(el, "coordonnees-organisme"), structure)
        contacts = structure["contacts"] if self.v23 else structure["contacts"][:1]
        for contact in contacts:
            self.contact(el, "contact-organisme", contact)
        if not contacts:
            self.structure_coordonnees(self.sub(el, "contact-organisme"), structure)
        uai = clean(structure["uai"]).upper()
        if self.v23 and len(uai) == 8:
            self.sub(self.sub(el, "code-UAI-organisme-formation"), "code-UAI", uai)
        self.organisme_extras(el, structure)
        return el

    # --- action and session -----------------------------------------------------------

    def inscription_address(self, formation, sv):
        """Lieu d'inscription, else a place of the session, else the principal trainer's
        address, else the responsable's: (address, denomination) or None."""
        lieu = sv["lieu_inscription"]
        if lieu is not None and _address_ok(lieu["addr"]):
            return lieu["addr"], lieu["nom"]
        for lieu in sv["places"]:
            if _address_ok(lieu["addr"]):
                return lieu["addr"], lieu["nom"]
        for structure in sv["trainers"]:
            if _address_ok(structure["addr"]):
                return structure["addr"], structure["nom"]
        structure = formation["structure"]
        if _address_ok(structure["addr"]):
            return structure["addr"], structure["nom"]
        return None

    def action(self, parent, formation, sv, inscription):
        # The hottest code of the export: elements are created inline (no helper call).
        SE, Q, fit = _SUBELEMENT, self._qnames, self.fit
        financements = sv["financements"]
        slots = sv["slots"]
        a = SE(parent, Q["action"], {"numero": f"A{sv['reference']}"})
        SE(a, Q["rythme-formation"]).text = fit(self.rythme(sv), 3000, "rythme-formation")
        for code in self.publics(sv):
            SE(a, Q["code-public-vise"], {"ref": self.formacode_version}).text = code
        text = fit(sv["commentaire_financement"], 250, "info-public-vise")
        if text:
            SE(a, Q["info-public-vise"]).text = text
        SE(a, Q["niveau-entree-obligatoire"]).text = "0"
        SE(a, Q["modalites-alternance"]).text = fit(self.alternance(sv), 3000, "modalites-alternance")
        modalite = sv["modalite_enseignement"]
        SE(a, Q["modalites-enseignement"]).text = modalite if modalite in MODALITES_ENSEIGNEMENT else "0"
        SE(a, Q["conditions-specifiques"]).text = (
            fit(sv["prerequis"], 3000, "conditions-specifiques") or DEFAULT_CONDITIONS
        )
        codes = [self.financeur_code(fin[0]) for fin in financements]
        funded = any(code and code not in NO_FUNDING_CODES for code in codes)
        SE(a, Q["prise-en-charge-frais-possible"]).text = "1" if funded else "0"
        self.lieux(a, formation, sv)
        SE(a, Q["modalites-entrees-sorties"]).text = "1" if sv["entree_sortie_permanente"] else "0"
        if self.v23 and formation["duree_cycle"]:
            SE(a, Q["duree-cycle"]).text = str(formation["duree_cycle"])
        self.session(a, formation, sv, inscription)
        if slots:
            info_dates = sorted(s["date"] for s in slots if s["modalite"] == INFO_COLLECTIVE and s["date"])
            for day in info_dates[:MAX_DATES_INFORMATION]:
                SE(SE(a, Q["date-information"]), Q["date"]).text = lheo_date(day)
        for tag, key in _LOGISTIQUE:
            text = fit(sv[key], 250, tag)
            if text:
                SE(a, Q[tag]).text = text
        if slots:
            text = fit(self.recrutement_text(slots), 3000, "modalites-recrutement")
            if text:
                SE(a, Q["modalites-recrutement"]).text = text
        text = fit(self.pedagogie(sv), 200, "modalites-pedagogiques")
        if text:
            SE(a, Q["modalites-pedagogiques"]).text = text
        if self.v23:
            for eq in sv["equipements"]:
                self.equipement(a, eq)
        perimetre = next((s for s in slots if s["perimetre"] in PERIMETRES), None)
        if perimetre is not None:
            SE(a, Q["code-perimetre-recrutement"]).text = perimetre["perimetre"]
            text = fit(perimetre["commentaire_perimetre"], 50, "infos-perimetre-recrutement")
            if text:
                SE(a, Q["infos-perimetre-recrutement"]).text = text
        text = fit(self.duree(formation, sv), 150, "duree-indicative")
        if text:
            SE(a, Q["duree-indicative"]).text = text
        if sv["duree_centre"] is not None:
            SE(a, Q["nombre-heures-centre"]).text = str(sv["duree_centre"])
        if sv["duree_entreprise"] is not None:
            SE(a, Q["nombre-heures-entreprise"]).text = str(sv["duree_entreprise"])
        total = self.total(sv)
        if total is not None:
            SE(a, Q["nombre-heures-total"]).text = str(total)
        text = fit(sv["conditions_prise_en_charge"], 600, "detail-conditions-prise-en-charge")
        if text:
            SE(a, Q["detail-conditions-prise-en-charge"]).text = text
        if financements:
            conventionne = any(fin[1] or fin[2] for fin in financements)
            SE(a, Q["conventionnement"]).text = "1" if conventionne else "0"
        self.formateurs(a, sv)
        self.financeurs(a, sv, codes)
        self.action_extras(a, sv)
        return a

    @staticmethod
    def total(sv):
        if sv["duree_totale"] is not None:
            return sv["duree_totale"]
        if sv["duree_centre"] is None and sv["duree_entreprise"] is None:
            return None
        return (sv["duree_centre"] or 0) + (sv["duree_entreprise"] or 0)

    def rythme(self, sv):
        rythme = self._rythmes.get(sv["rythme"], "")
        parts = [f"{rythme}." if rythme else "", clean(sv["commentaire_rythme"])]
        if sv["duree_hebdomadaire"]:
            parts.append(f"{sv['duree_hebdomadaire']} heures par semaine.")
        if clean(sv["commentaire_duree"]):
            parts.append(f"Durée : {clean(sv['commentaire_duree'])}")
        if sv["a_la_demande"]:
            parts.append("Session à la demande : dates à convenir avec l'organisme de formation.")
        if sv["entree_sortie_permanente"]:
            parts.append("Entrées et sorties permanentes.")
        return "\n".join(p for p in parts if p) or DEFAULT_RYTHME

    def alternance(self, sv):
        parts = []
        if sv["kind"] == TrainingKind.ALTERNANCE:
            labels = self._type_alternance
            contracts = _unique([labels.get(str(c[2]), str(c[2])) for c in sv["cycles"] if c[2]], 3)
            parts.append("Formation en alternance" + (f" : {', '.join(contracts)}." if contracts else "."))
        if sv["duree_entreprise"]:
            parts.append(
                f"{sv['duree_centre'] or 0} heures en centre et {sv['duree_entreprise']} heures en entreprise."
            )
        return "\n".join(parts) or DEFAULT_ALTERNANCE

    def pedagogie(self, sv):
        labels = [self._pedagogie.get(code, "") for code in sv["modalites_pedagogiques"] or []]
        labels = ", ".join(label for label in labels if label)
        parts = [f"{labels}." if labels else "", clean(sv["commentaire_modalites_pedagogiques"])]
        return " ".join(p for p in parts if p)

    def duree(self, formation, sv):
        """duree-indicative: how long the course lasts for the trainee, as a delay (« 2 ans »,
        « 9 mois », « 6 semaines »): the cycle's years, else the session's dates. Hours go in
        the hour elements, the weekly duration in rythme-formation."""
        if formation["duree_cycle"]:
            years = formation["duree_cycle"]
            return f"{years} an{'s' if years > 1 else ''}"
        start, end = sv["date_debut"], sv["date_fin"]
        if not start or not end or end < start:
            return ""
        return _delay((end - start).days + 1)

    def recrutement_text(self, slots):
        lines = []
        labels = self._modalite_recrutement
        for slot in slots:
            modalite = slot["modalite"]
            text = labels.get(str(modalite), str(modalite)) if modalite not in (None, "") else ""
            text = text[:1].upper() + text[1:]
            if slot["date"]:
                text += f" le {slot['date']:%d/%m/%Y}"
            if slot["heure_debut"] and slot["heure_fin"]:
                text += f" de {_hour(slot['heure_debut'])} à {_hour(slot['heure_fin'])}"
            elif slot["heure_debut"]:
                text += f" à {_hour(slot['heure_debut'])}"
            if slot["a_distance"]:
                text += " (à distance)"
            elif slot["lieu"] is not None:
                addr = slot["lieu"]["addr"]
                parts = [addr["adresse"], addr["complement"], f"{addr['code_postal']} {addr['ville']}".strip()]
                text += f", {clean(' '.join(p for p in parts if p))}"
            if clean(slot["commentaire"]):
                text += f" : {clean(slot['commentaire'])}"
            lines.append(text)
        return "\n".join(lines)

    def lieux(self, parent, formation, sv):
        lieux = sv["places"]
        if not self.v23:
            lieux = lieux[:1]  # 2.2: exactly one lieu-de-formation, the principal one
        for lieu in lieux:
            self.cached(parent, ("lieu-de-formation", lieu["pk"]), self.build_lieu, lieu)
        if not lieux:
            # F6: by default the place is the principal trainer's address.
            trainer = sv["trainers"][0] if sv["trainers"] else formation["structure"]
            self.cached(parent, ("lieu-de-formation-structure", trainer["pk"]), self.build_default_lieu, trainer)

    def build_lieu(self, lieu):
        el = etree.Element(self._qnames["lieu-de-formation"], {"numero": lieu["reference"]})
        siret = _digits(lieu["siret"])
        if self.v23 and len(siret) == 14:
            self.sub(self.sub(el, "SIRET-lieu-formation"), "SIRET", siret)
        self.coordonnees(el, addr=lieu["addr"], denomination=lieu["nom"], nom="" if self.v23 else lieu["nom"])
        return el

    def build_default_lieu(self, structure):
        el = etree.Element(self._qnames["lieu-de-formation"])
        nom = "" if self.v23 else structure["nom"]
        self.coordonnees(el, addr=structure["addr"], denomination=structure["nom"], nom=nom)
        return el

    def session(self, parent, formation, sv, inscription):
        SE, Q = _SUBELEMENT, self._qnames
        attrs = {"numero": sv["reference"]}
        if sv["created_at"] is not None:
            attrs[self._created_attr] = self.stamp(sv["created_at"])
        s = SE(parent, Q["session"], attrs)
        periode = SE(s, Q["periode"])
        SE(periode, Q["debut"]).text = lheo_date(sv["date_debut"]) or UNKNOWN_START
        SE(periode, Q["fin"]).text = lheo_date(sv["date_fin"]) or UNKNOWN_END
        addr, name = inscription
        self.adresse(SE(s, Q["adresse-inscription"]), addr, name)
        text = self.fit(sv["commentaire_inscription"], 255, "modalites-inscription")
        if text:
            SE(s, Q["modalites-inscription"]).text = text
        if sv["debut_inscription"] or sv["fin_inscription"]:
            periode = SE(SE(s, Q["periode-inscription"]), Q["periode"])
            SE(periode, Q["debut"]).text = lheo_date(sv["debut_inscription"]) or UNKNOWN_START
            SE(periode, Q["fin"]).text = lheo_date(sv["fin_inscription"]) or UNKNOWN_END
        etat = self.etat_recrutement(sv)
        if etat:
            SE(s, Q["etat-recrutement"]).text = etat
        if not self.v23:
            self.session_extras(s, sv)
            return s
        for slot in sv["slots"]:
            self.recrutement(s, slot)
        for contact, type_contact, _principal in sv["contacts"]:
            self.contact(s, "contact-session", contact, type_contact)
        for blocs in sv["blocs"]:
            self.blocs(s, blocs, sv["reference"])
        for cycle in sv["cycles"]:
            self.cycle(s, cycle)
        self.session_extras(s, sv)
        return s

    def etat_recrutement(self, sv):
        """Ouvert (1) if a diffused financement is open, else suspendu (3), else fermé (2);
        always fermé once the session has ended or its registration period is over (P1: a
        session one can no longer join is never shown as open)."""
        today = self.today
        if (sv["date_fin"] and sv["date_fin"] < today) or (sv["fin_inscription"] and sv["fin_inscription"] < today):
            return ETAT_FERME
        etats = {fin[4] for fin in sv["financements"]}
        return next((e for e in ETATS_RECRUTEMENT if e in etats), None)

    def publics(self, sv):
        """code-public-vise: the « public visé » codes of the session's diffused dispositifs
        (Formacode, at most 10), else « Tout public » (LHEO requires one)."""
        found = []
        for fin in sv["financements"]:
            for code in formacode.public_codes(fin[5]):
                if code not in found:
                    found.append(code)
        return found[:MAX_PUBLICS] or [self.public_vise]

    # --- extras: what LHEO has no element for, written the way Carif flows do ----------
    # One function per LHEO object, each called last in its object (where the schemas put
    # <extras>). What a partner's file carried is written back by ``kept.restore``, which
    # replaces a partner-fed formation by its kept original (after ``stamp_chunk``).

    def formation_extras(self, parent, formation):
        """<extras> of a <formation>: we have nothing LHEO lacks at this level."""

    def action_extras(self, parent, sv):
        """<extras info="financements"> of an <action>: each diffused financement with its
        financeur (LHEO code, our code and label), dispositif (code, label), N° de marché,
        places and recruitment state (LHEO has only code-financeur and nb-places-financees,
        summed per code)."""
        if sv["financements"]:
            sub = self.sub
            extras = sub(parent, "extras", attrs={"info": "financements"})
            for fin in sv["financements"]:
                lheo_code, _public, marche, places, etat, _publics, code, libelle, f_code, f_libelle = fin
                one = sub(extras, "extras", attrs={"info": "financement"})
                if self.financeur_code(lheo_code):
                    sub(one, "extra", self.financeur_code(lheo_code), {"info": "code-financeur"})
                sub(one, "extra", clean(f_libelle), {"info": "financeur", "numero": f_code})
                sub(one, "extra", clean(libelle), {"info": "dispositif", "numero": code})
                if clean(marche):
                    sub(one, "extra", clean(marche), {"info": "numero-marche"})
                if places is not None:
                    sub(one, "extra", places, {"info": "nb-places"})
                if etat:
                    sub(one, "extra", etat, {"info": "etat-recrutement"})

    def session_extras(self, parent, sv):
        """<extras info="session">: the « contact d'inscription » (with « Diffusion web »)."""
        contact = sv["contact_inscription"]
        if contact is not None:
            extras = self.sub(parent, "extras", attrs={"info": "session"})
            extra = self.sub(extras, "extra", attrs={"info": "contact-inscription", "numero": contact["reference"]})
            self.coordonnees(extra, contact=contact)

    def organisme_extras(self, parent, structure):
        """<extras info="labels"> of an organisme: its conventions, labels and quality
        certifications (Qualiopi…) with their code and kind (« qualite », « convention »)."""
        labels = structure.get("labels") or ()
        if labels:
            extras = self.sub(parent, "extras", attrs={"info": "labels"})
            for kind, code, libelle in labels:
                self.sub(extras, "extra", clean(libelle), {"info": "label", "numero": code, "ref": kind})

    def recrutement(self, parent, slot):
        sub = self.sub
        r = sub(parent, "recrutement")
        sub(r, "modalite-recrutement", slot["modalite"] if slot["modalite"] in MODALITES_RECRUTEMENT else "0")
        if slot["perimetre"] in PERIMETRES:
            sub(r, "code-perimetre-recrutement", slot["perimetre"])
        self.opt(
            r, "infos-perimetre-recrutement", self.fit(slot["commentaire_perimetre"], 50, "infos-perimetre-recrutement")
        )
        sub(r, "a-distance", "1" if slot["a_distance"] else "0")
        lieu, structure = slot["lieu"], slot["structure"]
        if lieu is not None and _address_ok(lieu["addr"]):
            self.adresse(r, lieu["addr"], lieu["nom"])
        elif not slot["a_distance"] and _address_ok(structure["addr"]):
            self.adresse(r, structure["addr"], structure["nom"])
        url = clean(slot["lien_web"])
        if 3 <= len(url) <= 400:
            sub(r, "urlweb", url)
        if slot["nb_places"] is not None:
            sub(r, "nb-places", slot["nb_places"])
        if slot["date"]:
            periode = sub(r, "periode")
            day = lheo_date(slot["date"])
            sub(periode, "debut", day)
            sub(periode, "fin", day)
        if slot["heure_debut"]:
            sub(r, "heure-debut", _hour(slot["heure_debut"]))
        if slot["heure_fin"]:
            sub(r, "heure-fin", _hour(slot["heure_fin"]))
        self.opt(r, "commentaire", self.fit(slot["commentaire"], 500, "commentaire"))

    def blocs(self, parent, session_blocs, reference):
        blocs = []
        for code, libelle in session_blocs["blocs"]:
            code = clean(code)
            if 8 <= len(code) <= 40:
                blocs.append((code, libelle))
            else:
                self.stats.warn(f"code de bloc « {code} » hors du format LHEO : bloc non exporté", reference)
        if not blocs:
            return
        el = self.sub(parent, "blocs-competences")
        validation = session_blocs["type_validation"]
        self.sub(el, "validation-blocs", validation if validation in VALIDATION_BLOCS else "0")
        ref = self.sub(el, "reference-certification")
        code_rncp, code_certifinfo, code_rs = session_blocs["codes"]
        for tag, value in (
            ("reference-code-RNCP", _code(code_rncp, "RNCP")),
            ("reference-code-CERTIFINFO", _code(code_certifinfo)),
            ("reference-code-RS", _rs(code_rs)),
        ):
            if 1 <= len(value) <= 10:
                self.sub(ref, tag, value)
        for code, libelle in sorted(blocs, key=lambda item: item[0]):
            bc = self.sub(el, "bloc-competences")
            self.sub(bc, "libelle-bloc", self.fit(libelle, 500, "libelle-bloc") or code)
            self.sub(bc, "code-bloc", code)

    def cycle(self, parent, cycle):
        annee, type_cycle, type_alternance = cycle
        if type_cycle not in TYPES_CYCLE:
            return
        el = self.sub(parent, "cycle")
        self.sub(el, "type-cycle", type_cycle)
        self.sub(el, "annee-cycle", annee)
        if type_alternance in TYPES_ALTERNANCE:
            self.sub(self.sub(el, "alternance"), "type-alternance", type_alternance)

    def equipement(self, parent, eq):
        type_equipement, cout, commentaire = eq
        if type_equipement not in TYPES_EQUIPEMENT:
            return
        el = self.sub(parent, "equipement")
        self.sub(el, "type-equipement", type_equipement)
        if cout is not None:
            cost = Decimal(cout).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
            self.sub(el, "cout-indicatif-equipement", int(cost))
        self.opt(el, "commentaire", self.fit(commentaire, 500, "commentaire"))

    def formateurs(self, parent, sv):
        trainers = sv["trainers"] if self.v23 else sv["trainers"][:1]  # 2.2: the principal one
        for structure in trainers:
            contacts = [(c, t) for c, t, _ in sv["contacts"] if c["structure_id"] == structure["pk"]]
            if not self.v23:
                contacts = contacts[:1]
            key = ("formateur", structure["pk"], tuple((c["pk"], t) for c, t in contacts))
            element = self.cached(parent, key, self.build_formateur, structure, contacts)
            if element is None:
                self.stats.warn("organisme formateur sans SIRET : non exporté", sv["reference"])

    def build_formateur(self, structure, contacts):
        siret = _digits(structure["siret"])
        if len(siret) != 14:
            return None
        el = etree.Element(self._qnames["organisme-formateur"], {"numero": structure["reference"]})
        self.sub(self.sub(el, "SIRET-formateur"), "SIRET", siret)
        self.sub(
            el,
            "raison-sociale-formateur",
            self.fit(structure["raison_sociale"] or structure["nom"], 250, "raison-sociale-formateur"),
        )
        for contact, type_contact in contacts:
            self.contact(el, "contact-formateur", contact, type_contact)
        uai = clean(structure["uai"]).upper()
        if self.v23 and len(uai) == 8:
            self.sub(self.sub(el, "code-UAI-formateur"), "code-UAI", uai)
        return el

    def financeurs(self, parent, sv, codes):
        places = {}
        for fin, code in zip(sv["financements"], codes, strict=True):
            if code is None:
                self.stats.warn(f"code financeur « {fin[0]} » inconnu en LHEO {self.version}", sv["reference"])
                continue
            current = places.setdefault(code, None)
            if fin[3] is not None:
                places[code] = (current or 0) + fin[3]
        if len(places) > MAX_FINANCEURS:
            self.stats.warn("plus de 8 financeurs : seuls les 8 premiers sont exportés", sv["reference"])
        for code, count in list(places.items())[:MAX_FINANCEURS]:
            el = self.sub(parent, "organisme-financeur")
            self.sub(el, "code-financeur", code)
            if count is not None:
                self.sub(el, "nb-places-financees", count)

    # --- reading ----------------------------------------------------------------------

    def iter_formations(self, queryset, *, sessions=None, chunk_size=DEFAULT_CHUNK_SIZE, prefetch=None):
        """Formations of ``queryset`` (as dictionaries) by chunks of primary keys, each chunk
        fully loaded in a fixed number of queries. With ``prefetch`` (default: when not inside
        a transaction, which another connection could not see), the next chunk is read by a
        thread while this one is built, so the database and Python work at the same time."""
        reader = ChunkReader(self.v23, sessions)
        if prefetch is None:
            prefetch = getattr(settings, "LHEO_PREFETCH", True) and not connection.in_atomic_block
        chunks = _prefetched(reader.chunks(queryset, chunk_size)) if prefetch else reader.chunks(queryset, chunk_size)
        for chunk in chunks:
            self.reset_cache()
            yield from chunk
        self.reset_cache()

    def elements(self, queryset, *, sessions=None, chunk_size=DEFAULT_CHUNK_SIZE, prefetch=None, since=None):
        """The <formation> elements of ``queryset``, one at a time, with their modification
        stamps (``stamp_chunk``); with ``since``, only formations modified since then.
        Partner-fed offer is written back as its partner sent it (H3a, ``kept.restore``)."""
        queryset = exportable_offer(queryset)
        reader = ChunkReader(self.v23, sessions)
        if prefetch is None:
            prefetch = getattr(settings, "LHEO_PREFETCH", True) and not connection.in_atomic_block
        chunks = _prefetched(reader.chunks(queryset, chunk_size)) if prefetch else reader.chunks(queryset, chunk_size)
        for chunk in chunks:
            self.reset_cache()
            built = []
            for formation in chunk:
                element = self.formation(formation)
                if element is not None:
                    built.append((formation, element))
            self.stamp_chunk(built, partial=sessions is not None)
            for formation, element in built:
                if since is not None and formation["modified_at"] < since:
                    self.stats.formations -= 1
                    self.stats.actions -= len(element.findall(self._qnames["action"]))
                    self.stats.sessions -= len(element.findall(self._qnames["action"]))
                    continue
                yield restore_kept(self, formation, element)
        self.reset_cache()

    # --- modification stamps --------------------------------------------------------

    def stamp_chunk(self, built, partial=False):
        """Set ``horodatage-modification`` (2.3) / ``datemaj`` (2.2) of each formation and
        session of the chunk from the content itself: a digest of the element (the
        formation; for a session, the formation without its other actions, and its action)
        is compared with the stored ``ContentStamp``. Unchanged: the stored moment; changed
        (a field, the organisme's record, a place, a contact…): now; never seen: the
        formation's last publication. Two queries per chunk (read, upsert of changes).
        ``partial`` (an export of selected sessions, D5): the formations are incomplete, so
        nothing is stored; a formation gets the latest of its stored moment and of its
        sessions' (whose digests do not depend on the other sessions)."""
        if not built:
            return
        now = timezone.now()
        action_tag, session_tag = self._qnames["action"], self._qnames["session"]
        digests = {}  # (kind, reference) -> (digest, default moment)
        sessions_of = []
        for formation, element in built:
            core = hashlib.blake2b(digest_size=16)
            whole = hashlib.blake2b(digest_size=16)
            actions = []
            for child in element:
                data = etree.tostring(child)
                whole.update(data)
                if child.tag == action_tag:
                    actions.append((child, data))
                else:
                    core.update(data)
            default = formation["published_at"] or now
            digests[(ContentStamp.FORMATION, formation["reference"])] = (whole.hexdigest(), default)
            sessions = []
            for action, data in actions:
                session = action.find(session_tag)
                digest = core.copy()
                digest.update(data)
                digests[(ContentStamp.SESSION, session.get("numero"))] = (digest.hexdigest(), default)
                sessions.append(session)
            sessions_of.append(sessions)
        by_kind = {ContentStamp.FORMATION: [], ContentStamp.SESSION: []}
        for kind, reference in digests:
            by_kind[kind].append(reference)
        stored = {
            (kind, reference): (digest, modified_at)
            for kind, reference, digest, modified_at in ContentStamp.objects.filter(
                Q(kind=ContentStamp.FORMATION, reference__in=by_kind[ContentStamp.FORMATION])
                | Q(kind=ContentStamp.SESSION, reference__in=by_kind[ContentStamp.SESSION]),
                version=self.version,
            ).values_list("kind", "reference", "digest", "modified_at")
        }
        moments, changed = {}, []
        for key, (digest, default) in digests.items():
            before = stored.get(key)
            if before is not None and (before[0] == digest or (partial and key[0] == ContentStamp.FORMATION)):
                moments[key] = before[1]
                continue
            moment = default if before is None else now
            moments[key] = moment
            changed.append(
                ContentStamp(version=self.version, kind=key[0], reference=key[1], digest=digest, modified_at=moment)
            )
        if partial:
            changed = []
            for (formation, _element), sessions in zip(built, sessions_of, strict=True):
                key = (ContentStamp.FORMATION, formation["reference"])
                moments[key] = max(
                    [moments[key], *(moments[(ContentStamp.SESSION, s.get("numero"))] for s in sessions)]
                )
        if changed:
            ContentStamp.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=["version", "kind", "reference"],
                update_fields=["digest", "modified_at"],
            )
        attr = self._modified_attr
        for (formation, element), sessions in zip(built, sessions_of, strict=True):
            moment = moments[(ContentStamp.FORMATION, formation["reference"])]
            formation["modified_at"] = moment
            element.set(attr, self.stamp(moment))
            for session in sessions:
                session.set(attr, self.stamp(moments[(ContentStamp.SESSION, session.get("numero"))]))


def _prefetched(chunks):
    """Iterate ``chunks`` in a thread (with its own database connection), one chunk ahead."""
    handoff = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for chunk in chunks:
                if not put(("chunk", chunk)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="lheo-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _pks(objects):
    """A queryset or an iterable of instances / primary keys, as a value for ``pk__in``."""
    if isinstance(objects, QuerySet):
        return objects.values("pk")
    return [getattr(obj, "pk", obj) for obj in objects]


def ended_sessions_kept(today=None):
    """The sessions the exported offer holds, by their end: not ended (or without an end
    date: à la demande, entrées et sorties permanentes), or ended less than
    ``settings.LHEO_ENDED_SESSIONS_DAYS`` days ago (90 by default): partners keep showing a
    session that just ended (Kairos lists ended sessions on request) with its recruitment
    « fermé »; older ones leave the flows (a withdrawal in the delta)."""
    return Q(date_fin__isnull=True) | Q(date_fin__gte=ended_sessions_limit(today))


def ended_sessions_limit(today=None):
    """The first end date still in the exported offer (``ended_sessions_kept``)."""
    today = today or timezone.localdate()
    days = getattr(settings, "LHEO_ENDED_SESSIONS_DAYS", DEFAULT_ENDED_SESSIONS_DAYS)
    return today - datetime.timedelta(days=days)


def ended_too_long_ago(date_fin, today=None):
    """True when a session ending on ``date_fin`` has left the exported offer (the same rule
    as ``ended_sessions_kept``, for one session in Python)."""
    return date_fin is not None and date_fin < ended_sessions_limit(today)


def offer_sessions(sessions=None):
    """The session versions of the published offer (``formations.queries.published_sessions``),
    optionally among ``sessions`` (queryset or iterable of instances or primary keys)."""
    qs = published_sessions().filter(ended_sessions_kept())
    if sessions is not None:
        qs = qs.filter(session__in=_pks(sessions))
    return qs


def published_formations(*, formations=None, since=None, sessions=None):
    """The published offer (SPEC H1/H2): the formations holding a session of it, i.e.
    published, not archived formations of a diffused organisme with at least one published,
    not archived session. Optionally restricted to ``formations`` / ``sessions`` (querysets or
    iterables of instances or primary keys) and to formations published since ``since``."""
    qs = Formation.objects.filter(Exists(offer_sessions(sessions).filter(formation_version=OuterRef("live_version"))))
    if formations is not None:
        qs = qs.filter(pk__in=_pks(formations))
    if since is not None:
        qs = qs.filter(published_at__gte=_moment(since))
    return qs


def _moment(since):
    """A date or a datetime as an aware datetime (None stays None)."""
    if since is None:
        return None
    if isinstance(since, datetime.date) and not isinstance(since, datetime.datetime):
        since = datetime.datetime.combine(since, datetime.time.min)
    if settings.USE_TZ and timezone.is_naive(since):
        since = timezone.make_aware(since)
    return since


def write_offer(
    output,
    version="2.3",
    formations=None,
    since=None,
    *,
    sessions=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
    progress=None,
    prefetch=None,
):
    """Write the published offer as one LHEO ``version`` document to ``output`` (a path,
    replaced atomically, or a binary file object) and return an ``ExportStats``.
    ``formations`` / ``sessions`` optionally restrict the export (querysets or iterables, e.g.
    the rows selected for « Exporter », D5); ``since`` keeps formations whose content changed
    since then (their ``horodatage-modification``, whatever changed: docs/lheo-mapping.md).
    ``progress(stats)`` is called after each written formation; ``prefetch`` forces reading
    the next chunk in a thread on (True) or off (False); by default it is on outside
    transactions.
    Raises ``EmptyOffer``, before writing anything, when there is no formation to write."""
    writer = LheoWriter(version)
    queryset = published_formations(formations=formations, sessions=sessions)
    elements = writer.elements(
        queryset, sessions=sessions, chunk_size=chunk_size, prefetch=prefetch, since=_moment(since)
    )
    first = next(elements, None)
    if first is None:
        raise EmptyOffer("Aucune formation publiée à exporter : un document LHEO contient au moins une formation.")
    # A path is written through a temporary file renamed over it once complete.
    target = nullcontext(output) if hasattr(output, "write") else replacing(output)
    with target as stream, etree.xmlfile(stream, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(writer.q("lheo"), nsmap={None: writer.ns}), xf.element(writer.q("offres")):
            for element in itertools.chain((first,), elements):
                xf.write("\n")
                xf.write(element)
                xf.flush()
                if progress is not None:
                    progress(writer.stats)
            xf.write("\n")
    return writer.stats

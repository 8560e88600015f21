"""LHEO import of partner flows (SPEC H3, E5): ``manage.py import_lheo FILE --source NAME``.

Safety first: the file is refused before anything is written when it is not an LHEO 2.2 or
2.3 document (wrong namespace), declares a DTD (entities: the « billion laughs » bomb and
external entities), is not well-formed or not valid against the official schema, or exceeds
``settings.LHEO_IMPORT_MAX_BYTES``. It is parsed with lxml ``iterparse`` with
``resolve_entities=False``, ``no_network=True``, ``load_dtd=False`` and ``huge_tree=False``
(``ofeli.core.safe_xml``), one <formation> at a time (each element is dropped once read), so
a file of hundreds of MB is read in bounded memory.

Then, in one transaction (all or nothing):

- a formation is identified by ``(source, numero)`` (``Formation.source`` / ``source_id``), a
  session by its formation and ``numero`` (``Session.source_id``); the organisme responsable
  and the organismes formateurs by SIRET (created, diffused, when unknown); places and
  contacts by their reference when it is ours and matches, else by their content;
- a formation whose content (hash of its element, stamps left out) has not changed since the
  previous import is left untouched: importing the same file twice changes nothing;
- a changed or new formation gets a new published version (the previous one is kept);
- in a full flow (the default), a session or a formation of that source missing from the
  file is archived; one that comes back is reactivated.

Speed (issue 9): the changed formations are written by chunks of ``CHUNK_FORMATIONS``
(``Importer.flush``): what a chunk needs (organismes by SIRET, their places and contacts,
certifications and blocs, the existing sessions of its formations) is read in a few queries
and remembered for the rest of the import, every row is built in memory and written with one
``bulk_create`` / ``bulk_update`` per table. Unchanged formations cost no query. A file byte
for byte identical to one imported successfully (same SHA-256, same schema) is parsed
without schema validation: it was valid then and the same bytes still are.

Imported formations have ``source`` = region / france_travail / partner: OF users cannot edit
them (``users.perms.can_edit_formation``).
"""

import datetime
import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from lxml import etree

from ofeli.core.identifiers import siren_of
from ofeli.core.models import allocate_references
from ofeli.core.safe_xml import declares_dtd, safe_iterparse
from ofeli.formations.enums import FinancementEtat, ModalitePedagogique, RythmeCode, Source
from ofeli.formations.models import (
    Cycle,
    Equipement,
    Financement,
    Formation,
    FormationVersion,
    RecruitmentSlot,
    Session,
    SessionBlocs,
    SessionContact,
    SessionPlace,
    SessionTrainer,
    SessionVersion,
)
from ofeli.referentials import lheo as lheo_tables
from ofeli.referentials.enums import TrainingKind
from ofeli.referentials.models import BlocCompetences, Certification, Dispositif, Financeur, StructureState
from ofeli.structures.models import Contact, Lieu, Structure, StructureVersion
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.models import HistoryEntry
from ofeli.workflow.signals import send_offer_changed

from . import kept
from .files import sha256_of
from .lheo import (
    DEFAULT_CONDITIONS,
    DEFAULT_RYTHME,
    NAMESPACES,
    NIVEAUX_2019_TO_22,
)
from .models import ImportedFormation, ImportRun, ImportStatus
from .validation import SCHEMAS, _schema_document, syntax_error, syntax_message, validate_lheo

SOURCES = {
    "region": Source.REGION,
    "france_travail": Source.FRANCE_TRAVAIL,
    "partner": Source.PARTNER,
}
VERSION_OF_NAMESPACE = {ns: version for version, ns in NAMESPACES.items()}
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
HEAD_BYTES = 64 * 1024
NIVEAUX_22_TO_2019 = {"2": "11", "3": "12", "4": "13", "5": "14", "6": "15", "7": "16", "8": "17"}
assert all(NIVEAUX_2019_TO_22[v] == k for k, v in NIVEAUX_22_TO_2019.items())
_STAMPS = re.compile(rb' (?:horodatage-creation|horodatage-modification|horodatage-export|datemaj|datecrea)="[^"]*"')
_DEMANDE = "Session à la demande : dates à convenir avec l'organisme de formation."
_ESP = "Entrées et sorties permanentes."
_TOTAL = re.compile(r"^(\d+) heures(?! par semaine)(?:, |$)")
_HEBDO = re.compile(r"^(\d+) heures par semaine(?:, |$)")
_SLOT_LINE = re.compile(
    r"^(?P<label>.+?)(?: le (?P<date>\d\d/\d\d/\d{4}))?"
    r"(?: de (?P<start>\d\d:\d\d) à (?P<end>\d\d:\d\d)| à (?P<at>\d\d:\d\d))?"
    r"(?P<distance> \(à distance\))?(?:, (?P<address>.+?))?(?: : (?P<comment>.*))?$"
)
_RYTHMES = {f"{label.split(' - ', 1)[-1]}.": code for code, label in RythmeCode.choices}
_PEDAGOGIE = {label: code for code, label in ModalitePedagogique.choices}


class ImportRefused(Exception):
    """The file is refused as a whole; nothing was imported. The message is for the user."""


@dataclass
class ImportReport:
    source: str
    version: str = ""
    formations_created: int = 0
    formations_updated: int = 0
    formations_unchanged: int = 0
    formations_archived: int = 0
    formations_reactivated: int = 0
    sessions_created: int = 0
    sessions_archived: int = 0
    sessions_reactivated: int = 0
    structures_created: int = 0
    warnings: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # what of the file was not imported, and why
    schema: str = ""  # schema_fingerprint() of the schema the file is valid against
    # Seconds (wall and CPU of this process): « import » up to the commit, « apres_commit »
    # the read models rebuilt after it (offer_changed).
    timings: dict = field(default_factory=dict)

    @property
    def changed(self):
        return bool(
            self.formations_created
            or self.formations_updated
            or self.formations_archived
            or self.formations_reactivated
            or self.sessions_archived
            or self.sessions_reactivated
        )

    def warn(self, reference, message):
        if len(self.warnings) < 200:
            self.warnings.append(f"{reference} : {message}")

    def error(self, reference, message):
        if len(self.errors) < 200:
            self.errors.append(f"{reference} : {message}")

    def as_dict(self):
        return {
            "version": self.version,
            "formations_creees": self.formations_created,
            "formations_modifiees": self.formations_updated,
            "formations_inchangees": self.formations_unchanged,
            "formations_archivees": self.formations_archived,
            "formations_reactivees": self.formations_reactivated,
            "sessions_creees": self.sessions_created,
            "sessions_archivees": self.sessions_archived,
            "sessions_reactivees": self.sessions_reactivated,
            "structures_creees": self.structures_created,
            "avertissements": self.warnings,
            "erreurs": self.errors,
            "schema_valide": self.schema,
            "durees": self.timings,
        }


# --- reading the file safely ------------------------------------------------------------------


def check_file(path, *, validate=True):
    """Refuse what must never be parsed further; returns the LHEO version of the document."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"Fichier introuvable : {path}")
    limit = getattr(settings, "LHEO_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
    size = path.stat().st_size
    if size > limit:
        raise ImportRefused(f"Fichier trop volumineux ({size} octets, au plus {limit}) : refusé sans être lu.")
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise ImportRefused("Le fichier déclare une DTD ou des entités (<!DOCTYPE>, <!ENTITY>) : refusé par sécurité.")
    try:
        for _event, element in safe_iterparse(str(path), events=("start",)):
            if declares_dtd(element):
                raise ImportRefused("Le fichier déclare une DTD (<!DOCTYPE>) : refusé par sécurité.")
            namespace = etree.QName(element).namespace
            localname = etree.QName(element).localname
            break
        else:  # pragma: no cover - an empty document is a syntax error
            raise ImportRefused("Document vide.")
    except etree.XMLSyntaxError as exc:
        raise ImportRefused(syntax_message(exc)) from exc
    version = VERSION_OF_NAMESPACE.get(namespace)
    if localname != "lheo" or version is None:
        expected = " ou ".join(f"{{{ns}}}lheo" for ns in NAMESPACES.values())
        raise ImportRefused(
            f"Ce n'est pas un document LHEO : élément racine {{{namespace}}}{localname} (attendu {expected})."
        )
    if validate:
        refuse_if_invalid(path, version)
    return version


def refuse_if_invalid(path, version):
    errors = validate_lheo(str(path), version, max_errors=10)
    if errors:
        raise ImportRefused(f"Document LHEO {version} non valide ({len(errors)} erreur(s)) : " + " ; ".join(errors[:5]))


def iter_formations(path, version, *, validate=False):
    """(<formation> element, withdrawn session numeros) one formation at a time, dropped once
    read; withdrawn numeros come from our delta flows' <extras info="sessions-retirees">."""
    ns = NAMESPACES[version]
    formation, extras, offres = f"{{{ns}}}formation", f"{{{ns}}}extras", f"{{{ns}}}offres"
    # Comments and processing instructions are never kept (flat memory, issue 15); every
    # element directly under <offres> or <lheo> is dropped once read.
    # Only the ends of <formation>, <extras> and the root reach Python (``tag``): the parse of
    # everything inside a formation stays in libxml2.
    options = {"schema": etree.XMLSchema(_schema_document(version))} if validate else {}
    complete = False
    tags = (formation, extras, f"{{{ns}}}lheo")
    for _event, element in safe_iterparse(
        str(path), events=("end",), tag=tags, remove_comments=True, remove_pis=True, **options
    ):
        parent = element.getparent()
        if parent is None:
            complete = True  # the end of the root: the document is whole
            continue
        if parent.getparent() is not None and parent.tag != offres:
            continue  # inside a <formation> / <extras>: dropped with it
        if element.tag == formation:
            yield element, ()
        elif element.tag == extras and element.get("info") == "sessions-retirees":
            yield None, tuple(x.get("numero") for x in element if x.get("numero"))
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del parent[0]
    if not complete:
        # A validating parse may end silently on a truncated document: say what is wrong.
        raise ImportRefused(syntax_error(str(path)) or "document XML vide ou tronqué")


# --- parsing one <formation> into plain values -------------------------------------------------


class Reader:
    """Namespace-aware shortcuts on elements of one document. The children of an element are
    grouped by tag once (``_map``), so that the hundred lookups of a formation are dictionary
    reads rather than ``find`` calls; ``forget`` drops them once the formation is read."""

    def __init__(self, version):
        self.version = version
        self.ns = NAMESPACES[version]
        self._q = {}
        self._paths = {}
        self._children = {}

    def q(self, tag):
        qname = self._q.get(tag)
        if qname is None:
            qname = self._q[tag] = f"{{{self.ns}}}{tag}"
        return qname

    def forget(self):
        self._children.clear()

    def _map(self, el):
        children = self._children[el] = {}
        for child in el:
            children.setdefault(child.tag, []).append(child)
        return children

    def _tags(self, path):
        tags = self._paths[path] = tuple(self.q(tag) for tag in path.split("/"))
        return tags

    def find(self, el, path):
        # The hottest function of an import: one call per value read, kept flat.
        tags = self._paths.get(path) or self._tags(path)
        children = self._children
        for tag in tags:
            if el is None:
                return None
            found = (children.get(el) or self._map(el)).get(tag)
            el = found[0] if found else None
        return el

    def all(self, el, tag):
        if el is None:
            return []
        return (self._children.get(el) or self._map(el)).get(self._q.get(tag) or self.q(tag), [])

    def text(self, el, path):
        found = self.find(el, path)
        if found is None:
            return ""
        text = found.text
        return text.strip() if text else ""

    def texts(self, el, path):
        *head, last = path.split("/")
        parent = self.find(el, "/".join(head)) if head else el
        return [(x.text or "").strip() for x in self.all(parent, last)]

    def address(self, el):
        if el is None:
            return None
        lines = self.texts(el, "ligne")
        latitude = _decimal(self.text(el, "geolocalisation/latitude"))
        longitude = _decimal(self.text(el, "geolocalisation/longitude"))
        return {
            "denomination": self.text(el, "denomination"),
            "adresse": lines[0] if lines else "",
            "complement": " ".join(lines[1:]),
            "code_postal": self.text(el, "codepostal"),
            "ville": self.text(el, "ville"),
            "code_insee": self.text(el, "code-INSEE-commune"),
            "latitude": latitude,
            "longitude": longitude,
        }

    def coordonnees(self, el):
        co = self.find(el, "coordonnees")
        if co is None:
            return {"address": None, "phones": [], "email": "", "web": ""}
        return {
            "civilite": self.text(co, "civilite"),
            "nom": self.text(co, "nom"),
            "prenom": self.text(co, "prenom"),
            "address": self.address(self.find(co, "adresse")),
            "phones": self.texts(co, "telfixe/numtel") + self.texts(co, "portable/numtel"),
            "email": self.text(co, "courriel"),
            "web": self.text(co, "web/urlweb"),
        }

    def contact(self, el):
        co = self.coordonnees(el)
        return {
            "numero": el.get("numero", ""),
            "type": self.text(el, "type-contact"),
            "civilite": co.get("civilite", ""),
            "nom": co.get("nom", ""),
            "prenom": co.get("prenom", ""),
            "email": co["email"],
            "telephone": co["phones"][0] if co["phones"] else "",
        }


def _decimal(value):
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _int(value):
    try:
        return int(value) if value not in ("", None) else None
    except ValueError:
        return None


def _date(value):
    if not value or value in ("00000000", "99999999") or len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _time(value):
    try:
        hours, minutes = value.split(":")[:2]
        return datetime.time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return None


def content_hash(element, xml=None):
    """Digest of a <formation> without its stamps (``xml``: its serialisation, if at hand)."""
    if xml is None:
        xml = etree.tostring(element, encoding="utf-8", with_tail=False)
    return hashlib.sha256(_STAMPS.sub(b"", xml)).hexdigest()


def session_keys(r, f):
    """The identities of the sessions of a <formation> (``kept.session_key``), cheaply."""
    return [
        kept.session_key(s, ai, si)
        for ai, a in enumerate(r.all(f, "action"))
        for si, s in enumerate(r.all(a, "session"))
    ]


def parse_rythme(text):
    """Our « rythme-formation » text back to (rythme code, comment, à la demande)."""
    if text == DEFAULT_RYTHME:
        return "", "", False
    lines = text.split("\n")
    code = ""
    if lines and lines[0] in _RYTHMES:
        code = _RYTHMES[lines.pop(0)]
    demande = False
    if lines and lines[-1] == _ESP:
        lines.pop()
    if lines and lines[-1] == _DEMANDE:
        lines.pop()
        demande = True
    return code, "\n".join(lines).strip(), demande


def parse_pedagogie(text):
    head, _sep, tail = text.partition(". ")
    if not tail and head.endswith("."):
        head = head[:-1]
    labels = head.split(", ") if head else []
    if labels and all(label in _PEDAGOGIE for label in labels):
        return [_PEDAGOGIE[label] for label in labels], tail.strip()
    return [], text


def parse_duree(text):
    """« 600 heures, 35 heures par semaine, comment » -> (hebdomadaire, comment)."""
    match = _TOTAL.match(text)
    if match:
        text = text[match.end() :]
    hebdo = None
    match = _HEBDO.match(text)
    if match:
        hebdo = int(match.group(1))
        text = text[match.end() :]
    return hebdo, text.strip()


def parse_formation(r, f, digest=None):
    """The plain values of a <formation> element."""
    try:
        return _parse_formation(r, f, digest)
    finally:
        r.forget()


def _parse_formation(r, f, digest):
    actions = []
    for action_index, a in enumerate(r.all(f, "action")):
        rythme, commentaire_rythme, demande = parse_rythme(r.text(a, "rythme-formation"))
        codes, commentaire_pedagogie = parse_pedagogie(r.text(a, "modalites-pedagogiques"))
        hebdo, commentaire_duree = parse_duree(r.text(a, "duree-indicative"))
        prerequis = r.text(a, "conditions-specifiques")
        action = {
            "rythme": rythme,
            "commentaire_rythme": commentaire_rythme,
            "a_la_demande": demande,
            "commentaire_financement": r.text(a, "info-public-vise"),
            "alternance": r.text(a, "modalites-alternance").startswith("Formation en alternance"),
            "modalite_enseignement": r.text(a, "modalites-enseignement") or "0",
            "prerequis": "" if prerequis == DEFAULT_CONDITIONS else prerequis,
            "places": [
                {
                    "numero": el.get("numero", ""),
                    "siret": r.text(el, "SIRET-lieu-formation/SIRET"),
                    "address": r.coordonnees(el)["address"],
                }
                for el in r.all(a, "lieu-de-formation")
            ],
            "entree_sortie_permanente": r.text(a, "modalites-entrees-sorties") == "1",
            "duree_cycle": _int(r.text(a, "duree-cycle")),
            "restauration": r.text(a, "restauration"),
            "hebergement": r.text(a, "hebergement"),
            "transport": r.text(a, "transport"),
            "acces_handicapes": r.text(a, "acces-handicapes"),
            "modalites_pedagogiques": codes,
            "commentaire_modalites_pedagogiques": commentaire_pedagogie,
            "equipements": [
                {
                    "type": r.text(el, "type-equipement"),
                    "cout": _decimal(r.text(el, "cout-indicatif-equipement")),
                    "commentaire": r.text(el, "commentaire"),
                }
                for el in r.all(a, "equipement")
            ],
            "duree_hebdomadaire": hebdo,
            "commentaire_duree": commentaire_duree,
            "duree_centre": _int(r.text(a, "nombre-heures-centre")),
            "duree_entreprise": _int(r.text(a, "nombre-heures-entreprise")),
            "duree_totale": _int(r.text(a, "nombre-heures-total")),
            "conditions_prise_en_charge": r.text(a, "detail-conditions-prise-en-charge"),
            "recrutement_text": r.text(a, "modalites-recrutement"),
            "perimetre": r.text(a, "code-perimetre-recrutement"),
            "infos_perimetre": r.text(a, "infos-perimetre-recrutement"),
            "conventionnement": r.text(a, "conventionnement") == "1",
            "trainers": [
                {
                    "numero": el.get("numero", ""),
                    "siret": r.text(el, "SIRET-formateur/SIRET"),
                    "raison_sociale": r.text(el, "raison-sociale-formateur"),
                    "uai": r.text(el, "code-UAI-formateur/code-UAI"),
                    "contacts": [r.contact(c) for c in r.all(el, "contact-formateur")],
                }
                for el in r.all(a, "organisme-formateur")
            ],
            "financeurs": [
                {"code": r.text(el, "code-financeur"), "places": _int(r.text(el, "nb-places-financees"))}
                for el in r.all(a, "organisme-financeur")
            ],
            "numero": a.get("numero", ""),
            "sessions": [parse_session(r, s) for s in r.all(a, "session")],
        }
        for session_index, (element, session) in enumerate(zip(r.all(a, "session"), action["sessions"], strict=True)):
            session["numero"] = kept.session_key(element, action_index, session_index)
        actions.append(action)
    resp = r.find(f, "organisme-formation-responsable")
    coordonnees = r.coordonnees(r.find(resp, "coordonnees-organisme"))
    niveau_sortie = r.text(f, "code-niveau-sortie")
    niveau_entree = r.text(f, "code-niveau-entree")
    if r.version == "2.2":
        niveau_sortie = NIVEAUX_22_TO_2019.get(niveau_sortie, niveau_sortie)
        niveau_entree = NIVEAUX_22_TO_2019.get(niveau_entree, niveau_entree)
    return {
        "numero": f.get("numero", ""),
        "hash": digest or content_hash(f),
        "intitule": r.text(f, "intitule-formation")[:255],
        "objectif": r.text(f, "objectif-formation"),
        "resultats_attendus": r.text(f, "resultats-attendus"),
        "contenu": r.text(f, "contenu-formation"),
        "niveau_entree": "" if niveau_entree == "0" else niveau_entree,
        "niveau_sortie": niveau_sortie,
        "objectif_general": r.text(f, "objectif-general-formation"),
        "formacodes": " ".join(r.texts(f, "domaine-formation/code-FORMACODE"))[:100],
        "codes_rome": " ".join(r.texts(f, "domaine-formation/code-ROME"))[:100],
        "site_web": r.text(f, "url-formation/urlweb")[:400],
        "parcours": r.text(f, "parcours-de-formation"),
        "certification": {
            "rncp": r.text(f, "certification/code-RNCP"),
            "certifinfo": r.text(f, "certification/code-CERTIFINFO"),
            "rs": r.text(f, "certification/code-RS"),
        },
        "formation_contacts": [c.get("numero", "") for c in r.all(f, "contact-formation")],
        "actions": actions,
        "responsable": {
            "numero": resp.get("numero", "") if resp is not None else "",
            "siret": r.text(resp, "SIRET-organisme-formation/SIRET"),
            "nda": r.text(resp, "numero-activite"),
            "nom": r.text(resp, "nom-organisme"),
            "raison_sociale": r.text(resp, "raison-sociale"),
            "uai": r.text(resp, "code-UAI-organisme-formation/code-UAI"),
            "coordonnees": coordonnees,
            "contacts": [r.contact(c) for c in r.all(resp, "contact-organisme")],
        },
    }


def parse_slot_lines(text, labels):
    """LHEO 2.2 has no <recrutement>: our « modalites-recrutement » text back to slots
    (modality, date, hours, à distance, address of a place, comment), one per line."""
    slots = []
    for line in text.split("\n"):
        match = _SLOT_LINE.match(line.strip())
        code = labels.get(match.group("label").lower()) if match else None
        if code is None:
            return []  # not our text: nothing reliable to rebuild
        day = None
        if match.group("date"):
            day = datetime.datetime.strptime(match.group("date"), "%d/%m/%Y").date()
        slots.append(
            {
                "modalite": code,
                "perimetre": "",
                "commentaire_perimetre": "",
                "a_distance": bool(match.group("distance")),
                "address": None,
                "full_address": match.group("address") or "",
                "lien_web": "",
                "nb_places": None,
                "date": day,
                "heure_debut": _time(match.group("start") or match.group("at")),
                "heure_fin": _time(match.group("end")),
                "commentaire": match.group("comment") or "",
            }
        )
    return slots


def parse_session(r, s):
    return {
        "numero": s.get("numero", ""),
        "date_debut": _date(r.text(s, "periode/debut")),
        "date_fin": _date(r.text(s, "periode/fin")),
        "inscription": r.address(r.find(s, "adresse-inscription/adresse")),
        "commentaire_inscription": r.text(s, "modalites-inscription"),
        "debut_inscription": _date(r.text(s, "periode-inscription/periode/debut")),
        "fin_inscription": _date(r.text(s, "periode-inscription/periode/fin")),
        "etat_recrutement": r.text(s, "etat-recrutement"),
        "slots": [
            {
                "modalite": r.text(el, "modalite-recrutement"),
                "perimetre": r.text(el, "code-perimetre-recrutement"),
                "commentaire_perimetre": r.text(el, "infos-perimetre-recrutement"),
                "a_distance": r.text(el, "a-distance") == "1",
                "address": r.address(r.find(el, "adresse")),
                "lien_web": r.text(el, "urlweb")[:400],
                "nb_places": _int(r.text(el, "nb-places")),
                "date": _date(r.text(el, "periode/debut")),
                "heure_debut": _time(r.text(el, "heure-debut")),
                "heure_fin": _time(r.text(el, "heure-fin")),
                "commentaire": r.text(el, "commentaire"),
            }
            for el in r.all(s, "recrutement")
        ],
        "contacts": [r.contact(c) for c in r.all(s, "contact-session")],
        "blocs": [
            {
                "validation": r.text(el, "validation-blocs"),
                "rncp": r.text(el, "reference-certification/reference-code-RNCP"),
                "certifinfo": r.text(el, "reference-certification/reference-code-CERTIFINFO"),
                "rs": r.text(el, "reference-certification/reference-code-RS"),
                "codes": [r.text(b, "code-bloc") for b in r.all(el, "bloc-competences")],
            }
            for el in r.all(s, "blocs-competences")
        ],
        "cycles": [
            {
                "type": r.text(el, "type-cycle"),
                "annee": _int(r.text(el, "annee-cycle")),
                "alternance": r.text(el, "alternance/type-alternance"),
            }
            for el in r.all(s, "cycle")
        ],
    }


# --- writing to the database ------------------------------------------------------------------


def _nda(value):
    value = re.sub(r"\s", "", value or "")
    return "" if len(value) > 11 or not value.strip("09") else value


def _address_key(addr):
    return (addr["adresse"], addr["complement"], addr["code_postal"], addr["ville"])


def _complete(addr):
    return addr is not None and len(addr.code_postal or "") == 5 and addr.code_postal.isdigit() and bool(addr.ville)


def _version_address_key(version):
    if version is None:
        return None
    return (version.adresse, version.complement, version.code_postal, version.ville)


CHUNK_FORMATIONS = 500  # formations written together (a fixed number of queries per chunk)
CHUNK_SESSIONS = 5000  # ... or fewer, when they carry that many sessions (bounded memory)
BATCH = 500  # ids per « pk IN (...) » query (SQLite's variable limit)
# The rows of a session version, written one bulk query per model (SessionBlocs apart: its blocs).
SESSION_ROWS = [SessionTrainer, SessionPlace, SessionContact, Financement, Cycle, Equipement, RecruitmentSlot]
_NEW = 1 << 62  # ranks of objects created by this import: after every row already there


def _siret(value):
    siret = re.sub(r"\D", "", value or "")
    return siret if len(siret) == 14 else None


def _batches(items, size=BATCH):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lieu_fields(addr):
    return (addr["adresse"][:250], addr["complement"][:250], addr["code_postal"][:5], addr["ville"][:100])


def _fields_of(lieu):
    return (lieu.adresse, lieu.complement, lieu.code_postal, lieu.ville)


def _contact_fields(data):
    return (data["nom"][:100], data["prenom"][:100], data["email"][:254], data["telephone"][:20])


@dataclass
class _Rows:
    """What one chunk writes, model by model, in the order of the file."""

    lieux: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    formations: list = field(default_factory=list)  # new Formation rows
    moved: list = field(default_factory=list)  # formations whose organisme responsable changed
    reactivated_formations: list = field(default_factory=list)
    reactivated_sessions: list = field(default_factory=list)
    originals: list = field(default_factory=list)  # (ImportedFormation pk, version pk, lheo version, original)
    versions: list = field(default_factory=list)  # (Formation, FormationVersion, data, ImportedFormation pk)
    sessions: list = field(default_factory=list)  # new Session rows
    session_versions: list = field(default_factory=list)
    children: dict = field(default_factory=lambda: {model: [] for model in SESSION_ROWS})
    blocs: list = field(default_factory=list)  # (SessionBlocs, [BlocCompetences])
    history: list = field(default_factory=list)


class Importer:
    """Writes the parsed formations of one file, by chunks: ``add`` buffers a formation,
    ``flush`` writes the chunk. A chunk costs a fixed number of queries whatever its size:
    the organismes, places, contacts, certifications and existing sessions it needs are read
    together (and remembered for the rest of the import), then every row is built in memory
    and written with one ``bulk_create`` / ``bulk_update`` per table. Rows are created in the
    order of the file, so the result is the one a formation-by-formation import would give."""

    def __init__(self, source, version, report, run, *, chunk=None):
        self.source = source
        self.version = version
        self.report = report
        self.run = run
        self.now = timezone.now()
        self.chunk = chunk or CHUNK_FORMATIONS
        self.pending, self.pending_sessions = [], 0
        self.structures = {}  # siret -> Structure (with live_version)
        self.financeurs = {}
        self.certifications = {}  # (certifinfo, rncp, rs) -> Certification or None
        self._blocs = {}  # certification pk -> {code: BlocCompetences}
        self.diffused_state = StructureState.objects.filter(is_diffused=True).order_by("code").first()
        self.modalites = {label.lower(): code for code, label in lheo_tables.entries(lheo_tables.MODALITE_RECRUTEMENT)}
        self.seen_formations = set()
        self.present_sessions = set()  # (formation numero, session numero) read in the file
        self.changed_ids = []
        # The address book of the organismes met so far, in memory: places and contacts are
        # looked up there (as the database would answer, first created first) and new ones are
        # added as they are made.
        self._lieux, self._contacts = {}, {}  # lookup key -> Lieu / Contact (or None)
        self._places_of = {}  # structure pk -> its places, first created first
        self._places_at = {}  # (structure pk, address fields) -> places there, first created first
        self._lieu_refs = {}  # reference -> Lieu, for the places the file names by our reference
        self._contacts_of = {}  # structure pk -> ({reference: Contact}, {(nom, prénom, courriel, tél.): [Contact]})
        self._rank = 0
        # What the previous imports of this source left: one query each, so that an unchanged
        # formation costs no query at all (re-import of the same file).
        self.previous = {
            row[0]: row[1:]
            for row in Formation.objects.filter(source=source)
            .exclude(source_id="")
            .values_list(
                "source_id",
                "pk",
                "lheo_import__content_hash",
                "live_version_id",
                "archived_at",
                "structure_id",
                "lheo_import__pk",
                "lheo_import__lheo_version",
            )
        }
        self.archived_sessions = set(
            Session.objects.filter(formation__source=source, archived_at__isnull=False).values_list(
                "formation_id", "source_id"
            )
        )

    def unchanged(self, numero, digest, session_numeros):
        """True (and counted) when the formation is as the previous import left it: same
        content, published, nothing of it archived."""
        previous = self.previous.get(numero)
        if previous is None or numero in self.seen_formations:
            return False
        pk, before, live, archived, *_ = previous
        if before != digest or live is None or archived is not None:
            return False
        if self.archived_sessions and any((pk, n) in self.archived_sessions for n in session_numeros):
            return False
        self.seen_formations.add(numero)
        self.report.formations_unchanged += 1
        return True

    # -- the chunk --

    def add(self, data):
        """Buffer one parsed formation; returns True when the chunk was written."""
        numero = data["numero"]
        if not numero:
            self.report.warn("?", "formation sans numéro : ignorée")
            return False
        if numero in self.seen_formations:
            self.report.error(numero, "numéro de formation en double dans le fichier : seule la première est importée")
            return False
        self.seen_formations.add(numero)
        self.pending.append(data)
        self.pending_sessions += sum(len(a["sessions"]) for a in data["actions"])
        if len(self.pending) >= self.chunk or self.pending_sessions >= CHUNK_SESSIONS:
            self.flush()
            return True
        return False

    def flush(self):
        chunk, self.pending, self.pending_sessions = self.pending, [], 0
        if not chunk:
            return
        self._load_structures(chunk)
        self._load_address_book(chunk)
        self._load_certifications(chunk)
        sessions = self._load_sessions(chunk)
        rows = _Rows()
        for data in chunk:
            self.formation(data, sessions, rows)
        self._write(rows)

    def _is_rewritten(self, data):
        """Whether ``formation`` will write a new version of ``data`` (so its trainers matter)."""
        previous = self.previous.get(data["numero"])
        if previous is None:
            return True
        _pk, digest, live, _archived, _structure, imported, _v = previous
        return not (imported is not None and digest == data["hash"] and live)

    def _load_structures(self, chunk):
        """The organismes of the chunk, by SIRET (one query), and the missing ones created
        (diffused) with what their first mention in the file says of them."""
        first = {}  # siret -> the keyword arguments of its first mention
        for data in chunk:
            resp = data["responsable"]
            siret = _siret(resp["siret"])
            if siret is None:
                continue  # the formation is left out: its trainers are not looked at
            first.setdefault(
                siret,
                {
                    "nom": resp["nom"],
                    "raison_sociale": resp["raison_sociale"],
                    "nda": resp["nda"],
                    "uai": resp["uai"],
                    "coordonnees": resp["coordonnees"],
                    "reference": resp["numero"],
                },
            )
            if self._is_rewritten(data):
                for action in data["actions"]:
                    for t in action["trainers"]:
                        trainer = _siret(t["siret"])
                        if trainer is not None:
                            first.setdefault(
                                trainer,
                                {"raison_sociale": t["raison_sociale"], "uai": t["uai"], "reference": t["numero"]},
                            )
        wanted = [siret for siret in first if siret not in self.structures]
        if not wanted:
            return
        found = {}
        for part in _batches(wanted):
            for structure in Structure.objects.filter(siret__in=part).select_related("live_version").order_by("pk"):
                found.setdefault(structure.siret, []).append(structure)
        new = []
        for siret in wanted:
            candidates = found.get(siret)
            if candidates:
                reference = first[siret].get("reference")
                self.structures[siret] = next((s for s in candidates if reference and s.reference == reference), None)
                self.structures[siret] = self.structures[siret] or candidates[0]
            else:
                new.append(siret)
        if not new:
            return
        structures, versions = [], []
        for reference, siret in zip(allocate_references("P", len(new)), new, strict=True):
            kwargs = first[siret]
            nom, raison_sociale = kwargs.get("nom", ""), kwargs.get("raison_sociale", "")
            structure = Structure(
                reference=reference,
                siret=siret,
                # As the partner wrote it (« 7331P001531 »): the letter is part of some NDAs.
                nda=_nda(kwargs.get("nda", "")),
                uai=(kwargs.get("uai") or "")[:8],
                raison_sociale=(raison_sociale or nom or siret)[:250],
                nom=(nom or raison_sociale or siret)[:250],
                etat=self.diffused_state,
            )
            structure.siren = siren_of(siret)  # what Structure.save() does
            co = kwargs.get("coordonnees") or {}
            addr = co.get("address") or {}
            phones = [*(co.get("phones") or []), "", ""]
            versions.append(
                StructureVersion(
                    structure=structure,
                    adresse=addr.get("adresse", "")[:250],
                    complement=addr.get("complement", "")[:250],
                    code_postal=addr.get("code_postal", "")[:5],
                    ville=addr.get("ville", "")[:100],
                    code_insee=addr.get("code_insee", "")[:5],
                    latitude=addr.get("latitude"),
                    longitude=addr.get("longitude"),
                    telephone=phones[0][:20],
                    telephone_secondaire=phones[1][:20],
                    email=(co.get("email") or "")[:254],
                    site_web=(co.get("web") or "")[:400],
                )
            )
            structures.append(structure)
        Structure.objects.bulk_create(structures)
        StructureVersion.objects.bulk_create(versions)
        for structure, version in zip(structures, versions, strict=True):
            structure.live_version = version
            self.structures[structure.siret] = structure
            self._places_of[structure.pk] = []
            self._contacts_of[structure.pk] = ({}, {})
        Structure.objects.bulk_update(structures, ["live_version"])
        self.report.structures_created += len(structures)

    def _load_address_book(self, chunk):
        """The places and contacts of the chunk's organismes not met before (two queries), and
        the places the chunk names by reference (one query)."""
        pks = {s.pk for s in self.structures.values() if s is not None and s.pk not in self._places_of}
        if pks:
            for pk in pks:
                self._places_of[pk] = []
                self._contacts_of[pk] = ({}, {})
            for part in _batches(pks):
                for lieu in Lieu.objects.filter(structure_id__in=part).order_by("pk"):
                    self._add_lieu(lieu)
                for contact in Contact.objects.filter(structure_id__in=part).order_by("pk"):
                    self._add_contact(contact)
        numeros = {
            p["numero"]
            for data in chunk
            for a in data["actions"]
            for p in a["places"]
            if p["numero"] and p["numero"] not in self._lieu_refs
        }
        if numeros:
            for numero in numeros:
                self._lieu_refs[numero] = None
            for part in _batches(numeros):
                for lieu in Lieu.objects.filter(reference__in=part):
                    self._lieu_refs[lieu.reference] = lieu

    def _next_rank(self, obj):
        self._rank += 1
        obj._import_rank = _NEW + self._rank if obj.pk is None else obj.pk
        return obj

    def _add_lieu(self, lieu):
        self._next_rank(lieu)
        self._places_of[lieu.structure_id].append(lieu)
        self._places_at.setdefault((lieu.structure_id, _fields_of(lieu)), []).append(lieu)

    def _add_contact(self, contact):
        self._next_rank(contact)
        by_reference, by_fields = self._contacts_of[contact.structure_id]
        if contact.reference:
            by_reference.setdefault(contact.reference, contact)
        key = (contact.nom, contact.prenom, contact.email, contact.telephone)
        by_fields.setdefault(key, []).append(contact)

    def _load_certifications(self, chunk):
        """The certifications the chunk names (one query) and their blocs (one query)."""
        keys = set()
        for data in chunk:
            if any(data["certification"].values()):
                c = data["certification"]
                keys.add((c["certifinfo"], c["rncp"], c["rs"]))
            for a in data["actions"]:
                for s in a["sessions"]:
                    keys.update((b["certifinfo"], b["rncp"], b["rs"]) for b in s["blocs"])
        wanted = [k for k in keys if k not in self.certifications]
        if wanted:
            certifinfo = {k[0] for k in wanted if k[0]}
            rncp = {k[1].removeprefix("RNCP") for k in wanted if k[1]}
            rs = {k[2].removeprefix("RS") for k in wanted if k[2]}
            candidates = list(
                Certification.objects.filter(
                    Q(code_certifinfo__in=certifinfo) | Q(code_rncp__in=rncp) | Q(code_rs__in=rs)
                ).order_by("intitule", "pk")
            )
            for key in wanted:
                cert = None
                if key[0]:
                    cert = next((c for c in candidates if c.code_certifinfo == key[0]), None)
                if cert is None and key[1]:
                    cert = next((c for c in candidates if c.code_rncp == key[1].removeprefix("RNCP")), None)
                if cert is None and key[2]:
                    cert = next((c for c in candidates if c.code_rs == key[2].removeprefix("RS")), None)
                self.certifications[key] = cert
        with_blocs = {
            self.certifications[(b["certifinfo"], b["rncp"], b["rs"])]
            for data in chunk
            for a in data["actions"]
            for s in a["sessions"]
            for b in s["blocs"]
        }
        pks = {c.pk for c in with_blocs if c is not None and c.pk not in self._blocs}
        if pks:
            for pk in pks:
                self._blocs[pk] = {}
            for bloc in BlocCompetences.objects.filter(certification_id__in=pks):
                self._blocs[bloc.certification_id][bloc.code] = bloc

    def _load_sessions(self, chunk):
        """formation pk -> {session numero: Session} for the chunk's known formations."""
        pks = [self.previous[d["numero"]][0] for d in chunk if d["numero"] in self.previous]
        sessions = {pk: {} for pk in pks}
        for part in _batches(pks):
            for session in (
                Session.objects.filter(formation_id__in=part)
                .only("pk", "formation_id", "source_id", "archived_at", "reference")
                .order_by("reference")
            ):
                sessions[session.formation_id][session.source_id] = session
        return sessions

    def _write(self, rows):
        """Every row of the chunk, one bulk query per table, in dependency order."""
        for kind, objects in (("L", rows.lieux), ("C", rows.contacts), ("F", rows.formations), ("S", rows.sessions)):
            if objects:
                for obj, reference in zip(objects, allocate_references(kind, len(objects)), strict=True):
                    obj.reference = reference
        Lieu.objects.bulk_create(rows.lieux)
        for lieu in rows.lieux:
            self._lieu_refs[lieu.reference] = lieu
        Contact.objects.bulk_create(rows.contacts)
        for contact in rows.contacts:
            self._contacts_of[contact.structure_id][0][contact.reference] = contact
        for part in _batches(rows.reactivated_formations):
            Formation.objects.filter(pk__in=part).update(archived_at=None)
        for part in _batches(rows.reactivated_sessions):
            Session.objects.filter(pk__in=part).update(archived_at=None)
        for imported, version, lheo_version, original in rows.originals:  # imported before originals were kept
            ImportedFormation.objects.filter(pk=imported, version__isnull=True).update(
                version=version, lheo_version=lheo_version, original=original
            )
        Formation.objects.bulk_create(rows.formations)
        if rows.moved:
            Formation.objects.bulk_update(rows.moved, ["structure"])
        FormationVersion.objects.bulk_create([version for _f, version, _d, _i in rows.versions])
        Session.objects.bulk_create(rows.sessions)
        for sv in rows.session_versions:
            sv.duree_totale = sv.compute_total()  # what SessionVersion.save() does
        SessionVersion.objects.bulk_create(rows.session_versions)
        for model in SESSION_ROWS:
            model.objects.bulk_create(rows.children[model])
        SessionBlocs.objects.bulk_create([session_blocs for session_blocs, _ in rows.blocs])
        through = SessionBlocs.blocs.through
        through.objects.bulk_create(
            [
                through(sessionblocs_id=session_blocs.pk, bloccompetences_id=bloc.pk)
                for session_blocs, blocs in rows.blocs
                for bloc in blocs
            ]
        )
        live, created, updated = [], [], []
        for formation, version, data, imported in rows.versions:
            live.append(Formation(pk=formation.pk, live_version=version, published_at=self.now))
            lheo_version, original = data["original"]
            values = {
                "formation_id": formation.pk,
                "content_hash": data["hash"],
                "run": self.run,
                "version": version,
                "lheo_version": lheo_version,
                "original": original,
            }
            if imported is None:
                created.append(ImportedFormation(**values))
            else:
                updated.append(ImportedFormation(pk=imported, updated_at=self.now, **values))
            self.changed_ids.append(formation.pk)
        Formation.objects.bulk_update(live, ["live_version", "published_at"])
        ImportedFormation.objects.bulk_create(created)
        ImportedFormation.objects.bulk_update(
            updated, ["content_hash", "run", "version", "lheo_version", "original", "updated_at"]
        )
        HistoryEntry.objects.bulk_create(rows.history)

    # -- referentials and address book --

    def certification(self, codes):
        return self.certifications.get((codes["certifinfo"], codes["rncp"], codes["rs"]))

    def financeur(self, code, public):
        key = (code, public)
        if key not in self.financeurs:
            financeurs = list(Financeur.objects.filter(lheo_code=code).order_by("code"))
            if not financeurs and self.version == "2.2" and code == "13":
                financeurs = list(Financeur.objects.filter(lheo_code__in=["13", "18", "19", "20"]).order_by("code"))
            dispositifs = list(
                Dispositif.objects.filter(financeur__in=financeurs)
                .order_by("-is_active", "code")
                .select_related("financeur")
            )
            preferred = [d for d in dispositifs if d.is_public_funds == public] or dispositifs
            self.financeurs[key] = preferred[0] if preferred else None
        return self.financeurs[key]

    def structure(self, siret):
        siret = _siret(siret)
        return None if siret is None else self.structures.get(siret)

    def lieu(self, structure, addr, rows, *, numero="", siret=""):
        """A place of ``structure`` at ``addr``: ours when the numero is one of our places at
        that address, else one at the same address (same name first), else a new one.
        Remembered for the rest of the import (places recur from session to session)."""
        if addr is None or not addr["code_postal"] or not addr["ville"]:
            return None
        key = (structure.pk, numero, _address_key(addr), addr["denomination"])
        lieu = self._lieux.get(key)
        if lieu is None:
            lieu = self._lieux[key] = self._lieu(structure, addr, rows, numero=numero, siret=siret)
        return lieu

    def _lieu(self, structure, addr, rows, *, numero="", siret=""):
        fields = _lieu_fields(addr)
        if numero:
            lieu = self._lieu_refs.get(numero)
            if lieu is not None and _fields_of(lieu) == fields:
                return lieu
        candidates = self._places_at.get((structure.pk, fields), [])
        nom = addr["denomination"][:250]
        lieu = (nom and next((c for c in candidates if c.nom == nom), None)) or (candidates[0] if candidates else None)
        if lieu is None:
            adresse, complement, code_postal, ville = fields
            lieu = Lieu(
                structure=structure,
                nom=nom or f"Lieu de formation - {addr['ville']}"[:250],
                siret=re.sub(r"\D", "", siret or "")[:14],
                code_insee=addr["code_insee"][:5],
                latitude=addr["latitude"],
                longitude=addr["longitude"],
                adresse=adresse,
                complement=complement,
                code_postal=code_postal,
                ville=ville,
            )
            self._add_lieu(lieu)
            rows.lieux.append(lieu)
        return lieu

    def contact(self, structures, data, rows):
        """A contact of one of ``structures``: ours by reference, else the same person, else
        a new contact (diffused on the web, since it came from a published flow).
        Remembered for the rest of the import."""
        if not data["nom"]:
            return None
        key = (
            tuple(s.pk for s in structures),
            data["numero"],
            data["nom"],
            data["prenom"],
            data["email"],
            data["telephone"],
        )
        contact = self._contacts.get(key)
        if contact is None:
            contact = self._contacts[key] = self._contact(structures, data, rows)
        return contact

    def _contact(self, structures, data, rows):
        books = [self._contacts_of[s.pk] for s in structures]
        if data["numero"]:
            nom = data["nom"][:100]
            for by_reference, _ in books:
                contact = by_reference.get(data["numero"])
                if contact is not None and contact.nom == nom:
                    return contact
        fields = _contact_fields(data)
        candidates = [c for _, by_fields in books for c in by_fields.get(fields, ())[:1]]
        if candidates:
            return min(candidates, key=lambda c: c._import_rank)
        nom, prenom, email, telephone = fields
        contact = Contact(
            structure=structures[0],
            civilite=data["civilite"] if data["civilite"] in ("M.", "Mme") else "",
            nom=nom,
            prenom=prenom,
            email=email,
            telephone=telephone,
            types=[data["type"]] if data["type"] else [],
            diffusion_web=True,
        )
        self._add_contact(contact)
        rows.contacts.append(contact)
        return contact

    def lieu_by_full_address(self, structure, text, places):
        wanted = " ".join(text.split())
        for lieu in [*places, *self._places_of.get(structure.pk, ())]:
            if " ".join(lieu.full_address.split()) == wanted:
                return lieu
        return None

    # -- one formation --

    def formation(self, data, sessions, rows):
        numero = data["numero"]
        resp = data["responsable"]
        structure = self.structure(resp["siret"])
        if structure is None:
            self.report.warn(numero, "organisme responsable sans SIRET valide : formation ignorée")
            return
        previous = self.previous.get(numero)
        session_numeros = [s["numero"] for a in data["actions"] for s in a["sessions"] if s["numero"]]
        imported = None
        if previous is None:
            formation = Formation(structure=structure, source=self.source, source_id=numero)
            rows.formations.append(formation)
            existing = {}
        else:
            pk, digest, live, archived, structure_id, imported, lheo_version = previous
            unchanged = imported is not None and digest == data["hash"] and live
            if unchanged and not lheo_version:  # imported before originals were kept
                rows.originals.append((imported, live, *data["original"]))
            existing = sessions[pk]
            archived_sessions = {existing[n].pk for n in session_numeros if n in existing and existing[n].archived_at}
            if archived is not None:
                rows.reactivated_formations.append(pk)
                self.report.formations_reactivated += 1
                self.changed_ids.append(pk)
            if archived_sessions:
                rows.reactivated_sessions.extend(sorted(archived_sessions))
                self.report.sessions_reactivated += len(archived_sessions)
                self.changed_ids.append(pk)
            if unchanged:
                self.report.formations_unchanged += 1
                return
            formation = Formation(pk=pk, structure_id=structure_id, source=self.source, source_id=numero)
            if structure_id != structure.pk:
                formation.structure = structure
                rows.moved.append(formation)
        version = self.write_version(formation, structure, data, existing, rows)
        rows.versions.append((formation, version, data, imported))
        rows.history.append(
            HistoryEntry(
                action=HistoryAction.IMPORTED,
                structure=structure,
                formation=formation,
                details=f"Flux {self.source} ({self.version})",
            )
        )
        if previous is None:
            self.report.formations_created += 1
        else:
            self.report.formations_updated += 1

    def write_version(self, formation, structure, data, existing, rows):
        cert = None
        if any(data["certification"].values()):
            cert = self.certification(data["certification"])
            if cert is None:
                codes = ", ".join(f"{k.upper()} {v}" for k, v in data["certification"].items() if v)
                self.report.warn(
                    data["numero"],
                    f"certification inconnue du référentiel ({codes}) : codes conservés tels quels, "
                    "formation non rattachée",
                )
        duree_cycle = next((a["duree_cycle"] for a in data["actions"] if a["duree_cycle"]), None)
        version = FormationVersion(
            formation=formation,
            intitule=data["intitule"] or data["numero"],
            certification=cert,
            duree_cycle=duree_cycle,
            niveau_entree=data["niveau_entree"][:3],
            niveau_sortie=data["niveau_sortie"][:3],
            objectif=data["objectif"],
            contenu=data["contenu"],
            resultats_attendus=data["resultats_attendus"],
            objectif_general=data["objectif_general"][:2],
            formacodes=data["formacodes"],
            codes_rome=data["codes_rome"],
            site_web=data["site_web"],
        )
        resp = data["responsable"]
        for contact in resp["contacts"]:
            self.contact([structure], contact, rows)
        principal_contacts = self.principal_contacts(data)
        seen_sessions = set()
        for action in data["actions"]:
            trainers, trainer_contacts = [], []
            for t in action["trainers"]:
                trainer = self.structure(t["siret"])
                if trainer is not None and trainer not in trainers:
                    trainers.append(trainer)
                    trainer_contacts.append(t["contacts"])
            if not trainers:
                trainers, trainer_contacts = [structure], [[]]
            places = []
            for p in action["places"]:
                if (
                    not p["numero"]
                    and p["address"]
                    and _address_key(p["address"]) == _version_address_key(trainers[0].live_version)
                ):
                    continue  # the default place: the principal trainer's address (F6)
                lieu = self.lieu(structure, p["address"], rows, numero=p["numero"], siret=p["siret"])
                if lieu is not None and lieu not in places:
                    places.append(lieu)
            for session_data in action["sessions"]:
                if session_data["numero"] in seen_sessions:
                    self.report.error(
                        data["numero"],
                        f"numéro de session {session_data['numero']} en double dans la formation : "
                        "seule la première est importée",
                    )
                    continue
                seen_sessions.add(session_data["numero"])
                session = existing.get(session_data["numero"])
                if session is None:
                    session = Session(formation=formation, source_id=session_data["numero"])
                    rows.sessions.append(session)
                    existing[session.source_id] = session
                    self.report.sessions_created += 1
                self.write_session(
                    version,
                    session,
                    structure,
                    (trainers, trainer_contacts),
                    places,
                    action,
                    session_data,
                    data,
                    principal_contacts,
                    rows,
                )
        return version

    def principal_contacts(self, data):
        """Contacts marked principal: the formation's contacts list them first (LHEO writes
        principal session contacts first)."""
        firsts = {s["contacts"][0]["numero"] for a in data["actions"] for s in a["sessions"] if s["contacts"]}
        principal = set()
        for numero in data["formation_contacts"]:
            if numero not in firsts:
                break
            principal.add(numero)
        return principal

    def inscription(self, addr, structure, trainers, places, rows):
        """The lieu d'inscription, None when the export would find the same address without
        it (a place of the session, else the principal trainer's, else the responsable's)."""
        if addr is None:
            return None
        default = None
        for place in places:
            if _complete(place):
                default = ((place.adresse, place.complement, place.code_postal, place.ville), place.nom)
                break
        if default is None:
            for owner in [*trainers, structure]:
                if _complete(owner.live_version):
                    default = (_version_address_key(owner.live_version), owner.nom)
                    break
        key = _address_key(addr)
        if default is not None and key == default[0] and addr["denomination"] in ("", default[1]):
            return None
        for place in places:
            if (place.adresse, place.complement, place.code_postal, place.ville) == key and addr["denomination"] in (
                "",
                place.nom,
            ):
                return place
        return self.lieu(structure, addr, rows)

    def write_session(self, version, session, structure, trainers, places, action, s, data, principal_contacts, rows):
        trainers, trainer_contacts = trainers
        centre, entreprise, total = action["duree_centre"], action["duree_entreprise"], action["duree_totale"]
        if centre is None and entreprise is None and total is not None:
            centre = total
        inscription = self.inscription(s["inscription"], structure, trainers, places, rows)
        sv = SessionVersion(
            formation_version=version,
            session=session,
            kind=TrainingKind.ALTERNANCE if action["alternance"] or s["cycles"] else TrainingKind.CONTINUE,
            date_debut=s["date_debut"],
            date_fin=s["date_fin"]
            if not (s["date_debut"] and s["date_fin"] and s["date_fin"] < s["date_debut"])
            else None,
            a_la_demande=action["a_la_demande"],
            entree_sortie_permanente=action["entree_sortie_permanente"],
            modalite_enseignement=action["modalite_enseignement"] if action["modalite_enseignement"] in "012" else "0",
            commentaire_financement=action["commentaire_financement"],
            conditions_prise_en_charge=action["conditions_prise_en_charge"],
            duree_centre=centre,
            duree_entreprise=entreprise,
            duree_hebdomadaire=action["duree_hebdomadaire"],
            commentaire_duree=action["commentaire_duree"],
            prerequis=action["prerequis"],
            type_parcours=data["parcours"][:2] if data["parcours"] in ("1", "2", "3", "4") else "",
            rythme=action["rythme"],
            commentaire_rythme=action["commentaire_rythme"],
            modalites_pedagogiques=action["modalites_pedagogiques"],
            commentaire_modalites_pedagogiques=action["commentaire_modalites_pedagogiques"],
            lieu_inscription=inscription,
            debut_inscription=s["debut_inscription"],
            fin_inscription=s["fin_inscription"],
            commentaire_inscription=s["commentaire_inscription"],
            hebergement=action["hebergement"],
            restauration=action["restauration"],
            transport=action["transport"],
            acces_handicapes=action["acces_handicapes"],
        )
        rows.session_versions.append(sv)
        children = rows.children
        children[SessionTrainer].extend(
            SessionTrainer(session_version=sv, structure=t, is_principal=i == 0) for i, t in enumerate(trainers)
        )
        children[SessionPlace].extend(
            SessionPlace(session_version=sv, lieu=lieu, is_principal=i == 0) for i, lieu in enumerate(places)
        )
        seen = set()
        people = [*trainers, structure]
        for i, c in enumerate(s["contacts"]):
            contact = self.contact(people, c, rows)
            if contact is not None and id(contact) not in seen:
                seen.add(id(contact))
                principal = i == 0 and c["numero"] in principal_contacts
                children[SessionContact].append(
                    SessionContact(
                        session_version=sv, contact=contact, type_contact=c["type"][:3], is_principal=principal
                    )
                )
        for trainer, trainer_data in zip(trainers, trainer_contacts, strict=True):
            for c in trainer_data:
                contact = self.contact([trainer], c, rows)
                if contact is not None and id(contact) not in seen:
                    seen.add(id(contact))
                    children[SessionContact].append(
                        SessionContact(session_version=sv, contact=contact, type_contact=c["type"][:3])
                    )
        for fin in action["financeurs"]:
            dispositif = self.financeur(fin["code"], action["conventionnement"])
            if dispositif is None:
                label = lheo_tables.label(lheo_tables.FINANCEURS, fin["code"])
                self.report.warn(
                    session.source_id,
                    f"code financeur LHEO {fin['code']} ({label}) absent du référentiel local : "
                    "conservé tel quel dans le flux, sans financement typé",
                )
                continue
            children[Financement].append(
                Financement(
                    session_version=sv,
                    dispositif=dispositif,
                    financeur=dispositif.financeur,
                    etat=FinancementEtat.DIFFUSION,
                    etat_recrutement=s["etat_recrutement"] if s["etat_recrutement"] in ("1", "2", "3") else "1",
                    nb_places=fin["places"],
                )
            )
        children[Cycle].extend(
            Cycle(session_version=sv, annee=c["annee"], type_cycle=c["type"], type_alternance=c["alternance"])
            for c in s["cycles"]
            if c["annee"]
        )
        children[Equipement].extend(
            Equipement(
                session_version=sv,
                type_equipement=e["type"],
                cout_indicatif=e["cout"],
                commentaire=e["commentaire"][:500],
            )
            for e in action["equipements"]
        )
        # Our « modalites-recrutement » text names the place of a slot that has one: it tells
        # a place at the organisme's address from the organisme's address itself.
        lines = parse_slot_lines(action["recrutement_text"], self.modalites) if action["recrutement_text"] else []
        slot_data = s["slots"]
        if self.version == "2.2" and not slot_data and lines:
            slot_data = lines  # 2.2 has no <recrutement>: the slots are rebuilt from the text
            if action["perimetre"]:
                slot_data[0]["perimetre"] = action["perimetre"]
                slot_data[0]["commentaire_perimetre"] = action["infos_perimetre"]
        if len(lines) != len(slot_data):
            lines = [None] * len(slot_data)
        for slot, line in zip(slot_data, lines, strict=True):
            owner, lieu = structure, None
            if slot.get("full_address"):
                lieu = self.lieu_by_full_address(structure, slot["full_address"], places)
            if slot["address"] is not None:
                key = _address_key(slot["address"])
                denomination = slot["address"]["denomination"]
                owner = next(
                    (
                        t
                        for t in [structure, *trainers]
                        if key == _version_address_key(t.live_version) and denomination in ("", t.nom)
                    ),
                    None,
                )
                if owner is None or (line is not None and line["full_address"]):
                    owner = owner or structure
                    lieu = self.lieu(structure, slot["address"], rows)
            children[RecruitmentSlot].append(
                RecruitmentSlot(
                    session_version=sv,
                    modalite=slot["modalite"],
                    date=slot["date"],
                    heure_debut=slot["heure_debut"],
                    heure_fin=slot["heure_fin"],
                    nb_places=slot["nb_places"],
                    lien_web=slot["lien_web"],
                    commentaire=slot["commentaire"],
                    perimetre=slot["perimetre"][:1],
                    commentaire_perimetre=slot["commentaire_perimetre"],
                    a_distance=slot["a_distance"],
                    lieu=lieu,
                    structure=owner,
                )
            )
        for b in s["blocs"]:
            cert = self.certification({"certifinfo": b["certifinfo"], "rncp": b["rncp"], "rs": b["rs"]})
            if cert is None:
                self.report.warn(session.source_id, "blocs de compétences d'une certification inconnue : non importés")
                continue
            known = self._blocs.get(cert.pk, {})
            blocs = [known[code] for code in sorted(set(b["codes"])) if code in known]
            if len(blocs) < len(set(b["codes"])):
                self.report.warn(session.source_id, "bloc de compétences inconnu du référentiel : non importé")
            rows.blocs.append(
                (SessionBlocs(session_version=sv, certification=cert, type_validation=b["validation"][:1]), blocs)
            )

    # -- the end of a full flow --

    def archive_missing(self):
        """Sessions and formations of the source missing from a full flow are archived (the
        comparison with what the file held is made here, not in SQL: no list of every
        numero of the flow in a query)."""
        ids = [
            pk
            for pk, numero in Formation.objects.filter(source=self.source, archived_at__isnull=True).values_list(
                "pk", "source_id"
            )
            if numero not in self.seen_formations
        ]
        if ids:
            for part in _batches(ids):
                Formation.objects.filter(pk__in=part).update(archived_at=self.now)
            self.report.formations_archived += len(ids)
            self.changed_ids.extend(ids)
        missing = [
            (pk, formation_id)
            for pk, formation_id, formation_numero, numero in Session.objects.filter(
                formation__source=self.source, archived_at__isnull=True
            ).values_list("pk", "formation_id", "formation__source_id", "source_id")
            if formation_numero in self.seen_formations and (formation_numero, numero) not in self.present_sessions
        ]
        self._archive(missing)

    def archive_sessions(self, numeros):
        """The sessions of the source withdrawn by our delta flows (their numeros)."""
        pairs = []
        for part in _batches(sorted(numeros)):
            pairs += Session.objects.filter(
                formation__source=self.source, source_id__in=part, archived_at__isnull=True
            ).values_list("pk", "formation_id")
        self._archive(pairs)

    def _archive(self, pairs):
        if pairs:
            for part in _batches([pk for pk, _ in pairs]):
                Session.objects.filter(pk__in=part).update(archived_at=self.now)
            self.report.sessions_archived += len(pairs)
            self.changed_ids.extend({f for _, f in pairs})


PAUSE_ENV = "OFELI_IMPORT_PAUSE_AFTER"
STALE_AFTER = datetime.timedelta(hours=24)
INTERRUPTED = (
    "Import interrompu avant la fin (processus arrêté) : rien n'a été importé, la base est restée "
    "telle qu'avant ; relancez l'import."
)


class ImportFailed(ImportRefused):
    """A valid file whose import failed in the database: nothing was imported."""


def _holder():
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_gone(holder):
    host, _, pid = (holder or "").partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def mark_interrupted_runs():
    """Runs still « en cours » whose process is gone (kill -9, a crash, a reboot) — or older
    than a day when it ran on another machine — are marked « Interrompu » (R3). Their
    transaction died with them: the database is as it was before. Returns their number."""
    now = timezone.now()
    ids = [
        run.pk
        for run in ImportRun.objects.filter(status=ImportStatus.RUNNING).only("pk", "holder", "started_at")
        if run.holder != _holder() and (_is_gone(run.holder) or run.started_at < now - STALE_AFTER)
    ]
    if ids:
        ImportRun.objects.filter(pk__in=ids, status=ImportStatus.RUNNING).update(
            status=ImportStatus.INTERRUPTED, finished_at=now, error=INTERRUPTED
        )
    return len(ids)


def _checkpoint(path, count):
    """Stop once a chunk has been written and ``count`` formations read reach
    $OFELI_IMPORT_PAUSE_AFTER: a test kills the process there (once ``<file>.pause`` appears),
    inside the import's transaction, with rows already written."""
    wanted = os.environ.get(PAUSE_ENV, "")
    if wanted.isdigit() and count >= int(wanted):
        Path(f"{path}.pause").touch()
        time.sleep(3600)


@cache
def schema_fingerprint(version):
    """Digest of the schema a file is validated against (recorded in the run's report)."""
    return hashlib.sha256(SCHEMAS[version].read_bytes()).hexdigest()[:16]


def validated_before(sha256, version):
    """Whether a file with these bytes was already imported successfully, hence validated
    against this same schema: its validation would give the same answer (the pass then only
    parses, still with the safe parser)."""
    return ImportRun.objects.filter(
        sha256=sha256,
        version=version,
        status__in=[ImportStatus.DONE, ImportStatus.UNCHANGED],
        report__schema_valide=schema_fingerprint(version),
    ).exists()


def import_lheo(path, source, *, full=True, chunk=None):
    """Import the LHEO file ``path`` as offer of ``source`` (region, france_travail, partner).
    Returns an ImportReport; raises ImportRefused (nothing imported) when the file is refused,
    ImportFailed (nothing imported either) when writing it failed. ``chunk``: formations
    written together (default ``CHUNK_FORMATIONS``)."""
    if source not in SOURCES:
        raise ImportRefused(f"Source inconnue : {source} (attendu : {', '.join(SOURCES)}).")
    path = Path(path)
    started, cpu = time.monotonic(), time.process_time()
    mark_interrupted_runs()
    run = ImportRun.objects.create(
        source=source, filename=path.name[:255], status=ImportStatus.RUNNING, holder=_holder()
    )
    report = ImportReport(source)
    try:
        # Header checks first (namespace, DTD, size); the schema is checked while the file is
        # read, in the same pass: an invalid element aborts the transaction, nothing is kept.
        # A file byte for byte identical to one already imported was valid then and still is.
        version = check_file(path, validate=False)
        report.version = version
        sha256 = sha256_of(path)
        validate = not validated_before(sha256, version)
        reader = Reader(version)
        with transaction.atomic():
            importer = Importer(SOURCES[source], version, report, run, chunk=chunk)
            withdrawn = set()
            count = 0
            try:
                for element, retired in iter_formations(path, version, validate=validate):
                    if element is None:
                        withdrawn.update(retired)
                        continue
                    numero = element.get("numero", "")
                    xml = etree.tostring(element, encoding="utf-8", with_tail=False)
                    digest = content_hash(element, xml)
                    numeros = session_keys(reader, element)
                    importer.present_sessions.update((numero, n) for n in numeros)
                    count += 1
                    if not importer.unchanged(numero, digest, numeros):
                        data = parse_formation(reader, element, digest)
                        data["original"] = (version, kept.compress(xml))
                        if importer.add(data):
                            _checkpoint(path, count)
                    reader.forget()
                importer.flush()
                _checkpoint(path, count)
            except etree.XMLSyntaxError as exc:
                refuse_if_invalid(path, version)  # the schema's messages, in French where ours
                raise ImportRefused(syntax_message(exc)) from exc
            if full:
                importer.archive_missing()
            elif withdrawn:
                importer.archive_sessions(withdrawn)
            report.schema = schema_fingerprint(version)
            send_offer_changed(sorted(set(importer.changed_ids)))
            committed, committed_cpu = time.monotonic(), time.process_time()
        # The read models (public index, API) are rebuilt after the commit (offer_changed).
        report.timings = {
            "import": round(committed - started, 1),
            "import_cpu": round(committed_cpu - cpu, 1),
            "apres_commit": round(time.monotonic() - committed, 1),
            "apres_commit_cpu": round(time.process_time() - committed_cpu, 1),
        }
        status = ImportStatus.DONE if report.changed else ImportStatus.UNCHANGED
        ImportRun.objects.filter(pk=run.pk).update(
            status=status,
            version=version,
            sha256=sha256,
            finished_at=timezone.now(),
            report=report.as_dict(),
        )
        return report
    except ImportRefused as exc:
        _failed(run, str(exc))
        raise
    except Exception as exc:
        message = f"Échec de l'écriture en base, rien n'a été importé : {type(exc).__name__} : {exc}"
        _failed(run, message)
        raise ImportFailed(message) from exc


def _failed(run, message):
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.FAILED, error=message[:5000], finished_at=timezone.now()
    )

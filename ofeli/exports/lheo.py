"""LHEO 2.2 / 2.3 export of the published offer (SPEC H2, D5).

What is exported is what the public sees: ``Formation.live_version`` (never a draft or a
pending change), of formations not archived whose organisme responsable is in a diffused
state, with the sessions of that version that are not archived. One of our formations is one
``<formation>``; each session is one ``<action>`` holding one ``<session>``.

Streaming: formations are read by chunks of ``chunk_size`` primary keys (keyset
pagination); each chunk is loaded in a fixed number of queries (select_related + Prefetch of
every session child). Each formation is built as one small element tree, written with
``lxml.etree.xmlfile`` and flushed; a chunk is released before the next one is read, so memory
is bounded by one chunk whatever the size of the offer.

The mapping, the identifiers and the defaults used for required elements we do not collect
are documented in docs/lheo-mapping.md.
"""

import copy
import datetime
import os
import re
import tempfile
import textwrap
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from lxml import etree

from ofeli.formations.enums import FinancementEtat, ModalitePedagogique, RythmeCode
from ofeli.formations.models import (
    Cycle,
    Equipement,
    Financement,
    Formation,
    RecruitmentSlot,
    SessionBlocs,
    SessionContact,
    SessionPlace,
    SessionTrainer,
    SessionVersion,
)
from ofeli.referentials import lheo
from ofeli.referentials.enums import TrainingKind
from ofeli.structures.models import Contact

VERSIONS = ("2.2", "2.3")
# The target namespaces of the official schemas (ofeli/exports/xsd): 2.2 is www.lheo.org.
NAMESPACES = {"2.2": "http://www.lheo.org/2.2", "2.3": "http://lheo.gouv.fr/2.3"}
DEFAULT_CHUNK_SIZE = 500

# Defaults for required elements we do not collect (docs/lheo-mapping.md).
DEFAULT_PUBLIC_VISE = "80006"  # Formacode « tout public »; overridable: settings.LHEO_DEFAULT_PUBLIC_VISE
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

    @property
    def truncated_total(self):
        return sum(self.truncated.values())

    def warn(self, reason, reference):
        self.skipped[reason] += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{reference} : {reason}")


def clean(value):
    """Text as XML accepts it: no control characters, normalised line breaks, stripped."""
    if not value:
        return ""
    text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _NOT_XML.sub("", text)
    return _SPACES.sub(" ", text).strip()


def lheo_date(value):
    if value is None:
        return None
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _digits(value):
    return re.sub(r"\D", "", value or "")


def _code(value, prefix=""):
    """A register code without its prefix and spaces (« RNCP 38234 » -> « 38234 »)."""
    value = re.sub(r"\s", "", value or "")
    if prefix and value.upper().startswith(prefix):
        value = value[len(prefix) :]
    return value


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


def _address_ok(addr):
    return (
        addr is not None and len(addr.code_postal or "") == 5 and addr.code_postal.isdigit() and bool(clean(addr.ville))
    )


class LheoWriter:
    """Builds the LHEO elements of one formation at a time and counts what it does."""

    def __init__(self, version="2.3"):
        if version not in VERSIONS:
            raise ValueError(f"Version LHEO inconnue : {version} (attendu : {', '.join(VERSIONS)}).")
        self.version = version
        self.v23 = version == "2.3"
        self.ns = NAMESPACES[version]
        self.stats = ExportStats(version)
        self.public_vise = getattr(settings, "LHEO_DEFAULT_PUBLIC_VISE", DEFAULT_PUBLIC_VISE)
        self.region_code = settings.REGION_CODE
        self.region_departements = set(settings.REGION_DEPARTEMENTS)
        self._qnames = {}
        # Built <adresse> elements of the current chunk (places recur from session to session),
        # with the truncations their building counted, replayed on each use.
        self._addresses = {}

    # --- element helpers ------------------------------------------------------------

    def q(self, tag):
        qname = self._qnames.get(tag)
        if qname is None:
            qname = self._qnames[tag] = f"{{{self.ns}}}{tag}"
        return qname

    def sub(self, parent, tag, text=None, attrs=None):
        el = etree.SubElement(parent, self.q(tag), attrs) if attrs else etree.SubElement(parent, self.q(tag))
        if text is not None:
            el.text = text if isinstance(text, str) else str(text)
        return el

    def opt(self, parent, tag, text, attrs=None):
        """An optional element, written only when it has content."""
        if text not in (None, ""):
            return self.sub(parent, tag, text, attrs)
        return None

    def fit(self, value, limit, element):
        """The text within the schema's limit. An over-long text is a data-entry problem:
        as a last resort it is cut at a word boundary with « … », and counted."""
        text = clean(value)
        if len(text) <= limit:
            return text
        self.stats.truncated[element] += 1
        head = text[: limit - 1]
        if not text[limit - 1].isspace():
            cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
            if cut >= limit // 2:
                head = head[:cut]
        return head.rstrip(" \t\n,;:.-–") + "…"

    def stamps(self, created, modified):
        if self.v23:
            attrs = {"horodatage-creation": created, "horodatage-modification": modified}
            return {k: v.isoformat(timespec="seconds") for k, v in attrs.items() if v is not None}
        attrs = {"datecrea": created, "datemaj": modified}
        return {k: lheo_date(v) for k, v in attrs.items() if v is not None}

    # --- codes ----------------------------------------------------------------------

    def niveau(self, code):
        code = str(code or "")
        if not self.v23:
            code = NIVEAUX_2019_TO_22.get(code, code)
        return code if code in NIVEAUX[self.version] else None

    def financeur_code(self, code):
        code = str(code or "").strip()
        if not self.v23:
            code = FINANCEURS_23_TO_22.get(code, code)
        return code if code in FINANCEURS[self.version] else None

    def contact_type(self, session_type, contact):
        for code in [session_type, *(contact.types or [])]:
            if str(code) in TYPE_CONTACT:
                return str(code)
        return None

    # --- addresses and coordinates ----------------------------------------------------

    def address_lines(self, addr):
        lines = []
        for part in (clean(addr.adresse), clean(addr.complement)):
            if len(part) <= 50 and "\n" not in part:
                lines.extend([part] if part else [])
            else:
                lines.extend(textwrap.wrap(part, 50, break_on_hyphens=False))
        if not lines:
            lines = [self.fit(addr.ville, 50, "ligne")]
        if len(lines) > 4:
            lines = lines[:3] + [self.fit(" ".join(lines[3:]), 50, "ligne")]
        return lines

    def adresse(self, parent, addr, denomination=""):
        key = (addr._meta.label, addr.pk, denomination)
        cached = self._addresses.get(key)
        if cached is None:
            before = self.stats.truncated.copy()
            el = self.build_adresse(addr, denomination)
            cached = self._addresses[key] = (el, self.stats.truncated - before)
        else:
            self.stats.truncated.update(cached[1])
        el = copy.deepcopy(cached[0])
        parent.append(el)
        return el

    def build_adresse(self, addr, denomination):
        el = etree.Element(self.q("adresse"))
        if self.v23 and clean(denomination):
            self.sub(el, "denomination", self.fit(denomination, 255, "denomination"))
        for line in self.address_lines(addr):
            self.sub(el, "ligne", line)
        self.sub(el, "codepostal", addr.code_postal)
        self.sub(el, "ville", self.fit(addr.ville, 50, "ville"))
        departement = addr.departement
        if 2 <= len(departement) <= 3:
            self.sub(el, "departement", departement)
        if len(addr.code_insee or "") == 5:
            self.sub(el, "code-INSEE-commune", addr.code_insee)
        if departement in self.region_departements:
            self.sub(el, "region", self.region_code)
        if addr.latitude is not None and addr.longitude is not None:
            geo = self.sub(el, "geolocalisation")
            self.sub(geo, "latitude", format(addr.latitude, "f"))
            self.sub(geo, "longitude", format(addr.longitude, "f"))
        return el

    def phones(self, parent, numbers):
        fixed, mobile = [], []
        for number in numbers:
            number = clean(number)
            if not number or len(number) > 25:
                continue
            (mobile if _MOBILE.match(re.sub(r"[\s.\-]", "", number)) else fixed).append(number)
        for tag, values in (("telfixe", fixed), ("portable", mobile)):
            values = _unique(values, 3)
            if values:
                el = self.sub(parent, tag)
                for value in values:
                    self.sub(el, "numtel", value)

    def coordonnees(self, parent, *, contact=None, addr=None, denomination="", phones=(), email="", web=""):
        """<coordonnees> of a person (contact) or of a structure / place (address)."""
        co = self.sub(parent, "coordonnees")
        if contact is not None:
            self.opt(co, "civilite", clean(contact.civilite))
            self.opt(co, "nom", self.fit(contact.nom, 50, "nom"))
            self.opt(co, "prenom", self.fit(contact.prenom, 50, "prenom"))
            phones, email = [contact.telephone], contact.email
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
        el = self.sub(parent, tag, attrs={"numero": contact.reference})
        if self.v23:
            self.opt(el, "type-contact", self.contact_type(type_code, contact))
        self.coordonnees(el, contact=contact)
        return el

    def structure_coordonnees(self, parent, structure):
        sv = structure.live_version
        if sv is None:
            return self.sub(parent, "coordonnees")
        return self.coordonnees(
            parent, addr=sv, phones=[sv.telephone, sv.telephone_secondaire], email=sv.email, web=sv.site_web
        )

    # --- formation ------------------------------------------------------------------

    def formation(self, formation):
        """The <formation> element, or None when nothing of it can be exported."""
        version = formation.live_version
        structure = formation.structure
        siret = _digits(structure.siret)
        if len(siret) != 14:
            self.stats.warn("organisme responsable sans SIRET : formation non exportée", formation.reference)
            return None
        sessions = []
        for sv in version.lheo_sessions:
            inscription = self.inscription_address(formation, sv)
            if inscription is None:
                self.stats.warn("aucune adresse d'inscription complète : session non exportée", sv.session.reference)
            else:
                sessions.append((sv, inscription))
        if not sessions:
            self.stats.warn("aucune session publiée exportable : formation non exportée", formation.reference)
            return None
        cert = version.certification
        f = etree.Element(
            self.q("formation"),
            {"numero": formation.reference, **self.stamps(formation.created_at, formation.published_at)},
            nsmap={None: self.ns},
        )
        self.domaine(f, version)
        self.sub(f, "intitule-formation", self.fit(version.intitule, 255, "intitule-formation") or formation.reference)
        objectif = clean(version.objectif) or (cert and clean(cert.objectif)) or clean(version.intitule)
        self.sub(f, "objectif-formation", self.fit(objectif, 3000, "objectif-formation"))
        self.sub(f, "resultats-attendus", self.fit(self.resultats(version), 3000, "resultats-attendus"))
        contenu = clean(version.contenu) or (cert and clean(cert.contenu)) or DEFAULT_CONTENU
        self.sub(f, "contenu-formation", self.fit(contenu, 3000, "contenu-formation"))
        self.sub(f, "certifiante", "1" if cert else "0")
        self.formation_contacts(f, formation, [sv for sv, _ in sessions])
        parcours = Counter(sv.type_parcours for sv, _ in sessions if sv.type_parcours in PARCOURS)
        self.sub(f, "parcours-de-formation", parcours.most_common(1)[0][0] if parcours else DEFAULT_PARCOURS)
        self.sub(f, "code-niveau-entree", self.niveau(version.niveau_entree) or DEFAULT_NIVEAU_ENTREE)
        if version.objectif_general in OBJECTIF_GENERAL:
            self.sub(f, "objectif-general-formation", version.objectif_general)
        if cert:
            self.certification(f, cert, formation.reference)
        self.opt(f, "code-niveau-sortie", self.niveau(version.niveau_sortie or (cert and cert.niveau_sortie)))
        site = clean(version.site_web)
        if 3 <= len(site) <= 400:
            self.sub(self.sub(f, "url-formation"), "urlweb", site)
        for sv, inscription in sessions:
            self.action(f, formation, sv, inscription)
        self.responsable(f, structure, siret)
        self.stats.formations += 1
        self.stats.actions += len(sessions)
        self.stats.sessions += len(sessions)
        return f

    def domaine(self, parent, version):
        cert = version.certification
        formacodes = _FORMACODE.findall(version.formacodes) or (cert and _FORMACODE.findall(cert.formacodes)) or []
        romes = _ROME.findall(version.codes_rome) or (cert and _ROME.findall(cert.codes_rome)) or []
        nsf = _NSF.findall(cert.codes_nsf) if cert else []
        el = self.sub(parent, "domaine-formation")
        for code in _unique(formacodes, 5):
            self.sub(el, "code-FORMACODE", code)
        for code in _unique(nsf, 3):
            self.sub(el, "code-NSF", code)
        for code in _unique([c.upper() for c in romes], 5):
            self.sub(el, "code-ROME", code)

    def resultats(self, version):
        if clean(version.resultats_attendus):
            return version.resultats_attendus
        cert = version.certification
        if cert:
            codes = [f"RNCP{cert.code_rncp}" if cert.code_rncp else "", f"RS{cert.code_rs}" if cert.code_rs else ""]
            codes = ", ".join(c for c in codes if c)
            return f"Certification : {clean(cert.intitule)}" + (f" ({codes})" if codes else "") + "."
        return DEFAULT_RESULTATS

    def certification(self, parent, cert, reference):
        limit = 10 if self.v23 else 6
        el = self.sub(parent, "certification")
        for tag, value, minimum in (
            ("code-RNCP", _code(cert.code_rncp, "RNCP"), 1),
            ("code-CERTIFINFO", _code(cert.code_certifinfo), 1),
            ("code-RS", _code(cert.code_rs, "RS") if self.v23 else "", 3),
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
                for sc in sv.lheo_contacts:
                    if sc.is_principal == principal:
                        found.setdefault(sc.contact_id, (sc.contact, sc.type_contact))
        contacts = list(found.values()) or [(c, None) for c in formation.structure.lheo_contacts]
        if not self.v23:
            contacts = contacts[:1]
        for contact, type_code in contacts:
            self.contact(parent, "contact-formation", contact, type_code)
        if not contacts:
            self.structure_coordonnees(self.sub(parent, "contact-formation"), formation.structure)

    def responsable(self, parent, structure, siret):
        el = self.sub(parent, "organisme-formation-responsable", attrs={"numero": structure.reference})
        nda = _digits(structure.nda)
        if len(nda) != 11:
            self.stats.warn("organisme responsable sans NDA : numéro d'activité 00000000000", structure.reference)
            nda = UNKNOWN_NDA
        self.sub(el, "numero-activite", nda)
        self.sub(self.sub(el, "SIRET-organisme-formation"), "SIRET", siret)
        nom = self.fit(structure.nom, 250, "nom-organisme") or self.fit(structure.raison_sociale, 250, "nom-organisme")
        self.sub(el, "nom-organisme", nom)
        self.sub(el, "raison-sociale", self.fit(structure.raison_sociale, 250, "raison-sociale") or nom)
        self.structure_coordonnees(self.sub(el, "coordonnees-organisme"), structure)
        contacts = structure.lheo_contacts if self.v23 else structure.lheo_contacts[:1]
        for contact in contacts:
            self.contact(el, "contact-organisme", contact)
        if not contacts:
            self.structure_coordonnees(self.sub(el, "contact-organisme"), structure)
        uai = clean(structure.uai).upper()
        if self.v23 and len(uai) == 8:
            self.sub(self.sub(el, "code-UAI-organisme-formation"), "code-UAI", uai)

    # --- action and session -----------------------------------------------------------

    def inscription_address(self, formation, sv):
        """Lieu d'inscription, else a place of the session, else the principal trainer's
        address, else the responsable's: (address, denomination) or None."""
        candidates = [(sv.lieu_inscription, getattr(sv.lieu_inscription, "nom", ""))]
        candidates += [(p.lieu, p.lieu.nom) for p in sv.lheo_places]
        candidates += [(t.structure.live_version, t.structure.nom) for t in sv.lheo_trainers]
        candidates.append((formation.structure.live_version, formation.structure.nom))
        for addr, name in candidates:
            if _address_ok(addr):
                return addr, name
        return None

    def action(self, parent, formation, sv, inscription):
        version = formation.live_version
        ref = sv.session.reference
        financements = sv.lheo_financements
        slots = sv.lheo_slots
        a = self.sub(parent, "action", attrs={"numero": f"A{ref}"})
        self.sub(a, "rythme-formation", self.fit(self.rythme(sv), 3000, "rythme-formation"))
        self.sub(a, "code-public-vise", self.public_vise)
        self.opt(a, "info-public-vise", self.fit(sv.commentaire_financement, 250, "info-public-vise"))
        self.sub(a, "niveau-entree-obligatoire", "0")
        self.sub(a, "modalites-alternance", self.fit(self.alternance(sv), 3000, "modalites-alternance"))
        modalite = sv.modalite_enseignement if sv.modalite_enseignement in MODALITES_ENSEIGNEMENT else "0"
        self.sub(a, "modalites-enseignement", modalite)
        self.sub(
            a, "conditions-specifiques", self.fit(sv.prerequis, 3000, "conditions-specifiques") or DEFAULT_CONDITIONS
        )
        codes = [self.financeur_code(fin.financeur.lheo_code) for fin in financements]
        funded = any(code and code not in NO_FUNDING_CODES for code in codes)
        self.sub(a, "prise-en-charge-frais-possible", "1" if funded else "0")
        self.lieux(a, formation, sv)
        self.sub(a, "modalites-entrees-sorties", "1" if sv.entree_sortie_permanente else "0")
        if self.v23 and version.duree_cycle:
            self.sub(a, "duree-cycle", version.duree_cycle)
        self.session(a, formation, sv, inscription)
        info_dates = sorted(s.date for s in slots if s.modalite == INFO_COLLECTIVE and s.date)
        for day in info_dates[:MAX_DATES_INFORMATION]:
            self.sub(self.sub(a, "date-information"), "date", lheo_date(day))
        for tag in ("restauration", "hebergement", "transport", "acces-handicapes"):
            self.opt(a, tag, self.fit(getattr(sv, tag.replace("-", "_")), 250, tag))
        self.opt(a, "modalites-recrutement", self.fit(self.recrutement_text(slots), 3000, "modalites-recrutement"))
        self.opt(a, "modalites-pedagogiques", self.fit(self.pedagogie(sv), 200, "modalites-pedagogiques"))
        if self.v23:
            for eq in sv.lheo_equipements:
                self.equipement(a, eq)
        perimetre = next((s for s in slots if s.perimetre in PERIMETRES), None)
        if perimetre is not None:
            self.sub(a, "code-perimetre-recrutement", perimetre.perimetre)
            self.opt(
                a,
                "infos-perimetre-recrutement",
                self.fit(perimetre.commentaire_perimetre, 50, "infos-perimetre-recrutement"),
            )
        self.opt(a, "duree-indicative", self.fit(self.duree(sv), 150, "duree-indicative"))
        total = sv.duree_totale if sv.duree_totale is not None else sv.compute_total()
        for tag, value in (
            ("nombre-heures-centre", sv.duree_centre),
            ("nombre-heures-entreprise", sv.duree_entreprise),
            ("nombre-heures-total", total),
        ):
            if value is not None:
                self.sub(a, tag, value)
        self.opt(
            a,
            "detail-conditions-prise-en-charge",
            self.fit(sv.conditions_prise_en_charge, 600, "detail-conditions-prise-en-charge"),
        )
        if financements:
            conventionne = any(fin.dispositif.is_public_funds or fin.numero_marche for fin in financements)
            self.sub(a, "conventionnement", "1" if conventionne else "0")
        self.formateurs(a, sv)
        self.financeurs(a, sv, codes)
        return a

    def rythme(self, sv):
        rythme = _label(sv.rythme, RythmeCode)
        parts = [f"{rythme}." if rythme else "", clean(sv.commentaire_rythme)]
        if sv.a_la_demande:
            parts.append("Session à la demande : dates à convenir avec l'organisme de formation.")
        if sv.entree_sortie_permanente:
            parts.append("Entrées et sorties permanentes.")
        return "\n".join(p for p in parts if p) or DEFAULT_RYTHME

    def alternance(self, sv):
        parts = []
        if sv.kind == TrainingKind.ALTERNANCE:
            contracts = _unique(
                [lheo.label(lheo.TYPE_ALTERNANCE, c.type_alternance) for c in sv.lheo_cycles if c.type_alternance], 3
            )
            parts.append("Formation en alternance" + (f" : {', '.join(contracts)}." if contracts else "."))
        if sv.duree_entreprise:
            parts.append(f"{sv.duree_centre or 0} heures en centre et {sv.duree_entreprise} heures en entreprise.")
        return "\n".join(parts) or DEFAULT_ALTERNANCE

    def pedagogie(self, sv):
        labels = [_label(code, ModalitePedagogique) for code in sv.modalites_pedagogiques or []]
        labels = ", ".join(label for label in labels if label)
        parts = [f"{labels}." if labels else "", clean(sv.commentaire_modalites_pedagogiques)]
        return " ".join(p for p in parts if p)

    def duree(self, sv):
        total = sv.duree_totale if sv.duree_totale is not None else sv.compute_total()
        parts = [
            f"{total} heures" if total else "",
            f"{sv.duree_hebdomadaire} heures par semaine" if sv.duree_hebdomadaire else "",
        ]
        parts.append(clean(sv.commentaire_duree))
        return ", ".join(p for p in parts if p)

    def recrutement_text(self, slots):
        lines = []
        for slot in slots:
            text = lheo.label(lheo.MODALITE_RECRUTEMENT, slot.modalite)
            text = text[:1].upper() + text[1:]
            if slot.date:
                text += f" le {slot.date:%d/%m/%Y}"
            if slot.heure_debut and slot.heure_fin:
                text += f" de {slot.heure_debut:%H:%M} à {slot.heure_fin:%H:%M}"
            elif slot.heure_debut:
                text += f" à {slot.heure_debut:%H:%M}"
            if slot.a_distance:
                text += " (à distance)"
            elif slot.lieu is not None:
                text += f", {clean(slot.lieu.full_address)}"
            if clean(slot.commentaire):
                text += f" : {clean(slot.commentaire)}"
            lines.append(text)
        return "\n".join(lines)

    def lieux(self, parent, formation, sv):
        lieux = [p.lieu for p in sv.lheo_places]
        if not self.v23:
            lieux = lieux[:1]  # 2.2: exactly one lieu-de-formation, the principal one
        for lieu in lieux:
            el = self.sub(parent, "lieu-de-formation", attrs={"numero": lieu.reference})
            siret = _digits(lieu.siret)
            if self.v23 and len(siret) == 14:
                self.sub(self.sub(el, "SIRET-lieu-formation"), "SIRET", siret)
            self.coordonnees(el, addr=lieu, denomination=lieu.nom)
        if not lieux:
            # F6: by default the place is the principal trainer's address.
            trainer = sv.lheo_trainers[0].structure if sv.lheo_trainers else formation.structure
            el = self.sub(parent, "lieu-de-formation")
            self.coordonnees(el, addr=trainer.live_version, denomination=trainer.nom)

    def session(self, parent, formation, sv, inscription):
        session = sv.session
        s = self.sub(
            parent,
            "session",
            attrs={"numero": session.reference, **self.stamps(session.created_at, formation.published_at)},
        )
        periode = self.sub(s, "periode")
        self.sub(periode, "debut", lheo_date(sv.date_debut) or UNKNOWN_START)
        self.sub(periode, "fin", lheo_date(sv.date_fin) or UNKNOWN_END)
        addr, name = inscription
        self.adresse(self.sub(s, "adresse-inscription"), addr, name)
        self.opt(s, "modalites-inscription", self.fit(sv.commentaire_inscription, 255, "modalites-inscription"))
        if sv.debut_inscription or sv.fin_inscription:
            periode = self.sub(self.sub(s, "periode-inscription"), "periode")
            self.sub(periode, "debut", lheo_date(sv.debut_inscription) or UNKNOWN_START)
            self.sub(periode, "fin", lheo_date(sv.fin_inscription) or UNKNOWN_END)
        etats = {fin.etat_recrutement for fin in sv.lheo_financements}
        etat = next((e for e in ETATS_RECRUTEMENT if e in etats), None)
        self.opt(s, "etat-recrutement", etat)
        if not self.v23:
            return s
        for slot in sv.lheo_slots:
            self.recrutement(s, slot)
        for sc in sv.lheo_contacts:
            self.contact(s, "contact-session", sc.contact, sc.type_contact)
        for blocs in sv.lheo_blocs:
            self.blocs(s, blocs, session.reference)
        for cycle in sv.lheo_cycles:
            self.cycle(s, cycle)
        return s

    def recrutement(self, parent, slot):
        r = self.sub(parent, "recrutement")
        self.sub(r, "modalite-recrutement", slot.modalite if slot.modalite in MODALITES_RECRUTEMENT else "0")
        if slot.perimetre in PERIMETRES:
            self.sub(r, "code-perimetre-recrutement", slot.perimetre)
        self.opt(
            r, "infos-perimetre-recrutement", self.fit(slot.commentaire_perimetre, 50, "infos-perimetre-recrutement")
        )
        self.sub(r, "a-distance", "1" if slot.a_distance else "0")
        if _address_ok(slot.lieu):
            self.adresse(r, slot.lieu, slot.lieu.nom)
        elif not slot.a_distance and _address_ok(slot.structure.live_version):
            self.adresse(r, slot.structure.live_version, slot.structure.nom)
        url = clean(slot.lien_web)
        if 3 <= len(url) <= 400:
            self.sub(r, "urlweb", url)
        if slot.nb_places is not None:
            self.sub(r, "nb-places", slot.nb_places)
        if slot.date:
            periode = self.sub(r, "periode")
            self.sub(periode, "debut", lheo_date(slot.date))
            self.sub(periode, "fin", lheo_date(slot.date))
        if slot.heure_debut:
            self.sub(r, "heure-debut", f"{slot.heure_debut:%H:%M}")
        if slot.heure_fin:
            self.sub(r, "heure-fin", f"{slot.heure_fin:%H:%M}")
        self.opt(r, "commentaire", self.fit(slot.commentaire, 500, "commentaire"))

    def blocs(self, parent, session_blocs, reference):
        cert = session_blocs.certification
        blocs = []
        for bloc in session_blocs.blocs.all():
            code = clean(bloc.code)
            if 8 <= len(code) <= 40:
                blocs.append((code, bloc))
            else:
                self.stats.warn(f"code de bloc « {code} » hors du format LHEO : bloc non exporté", reference)
        if not blocs:
            return
        el = self.sub(parent, "blocs-competences")
        validation = session_blocs.type_validation
        self.sub(el, "validation-blocs", validation if validation in VALIDATION_BLOCS else "0")
        ref = self.sub(el, "reference-certification")
        for tag, value in (
            ("reference-code-RNCP", _code(cert.code_rncp, "RNCP")),
            ("reference-code-CERTIFINFO", _code(cert.code_certifinfo)),
            ("reference-code-RS", _code(cert.code_rs, "RS")),
        ):
            if 1 <= len(value) <= 10:
                self.sub(ref, tag, value)
        for code, bloc in sorted(blocs, key=lambda item: item[0]):
            bc = self.sub(el, "bloc-competences")
            self.sub(bc, "libelle-bloc", self.fit(bloc.libelle, 500, "libelle-bloc") or code)
            self.sub(bc, "code-bloc", code)

    def cycle(self, parent, cycle):
        if cycle.type_cycle not in TYPES_CYCLE:
            return
        el = self.sub(parent, "cycle")
        self.sub(el, "type-cycle", cycle.type_cycle)
        self.sub(el, "annee-cycle", cycle.annee)
        if cycle.type_alternance in TYPES_ALTERNANCE:
            self.sub(self.sub(el, "alternance"), "type-alternance", cycle.type_alternance)

    def equipement(self, parent, eq):
        if eq.type_equipement not in TYPES_EQUIPEMENT:
            return
        el = self.sub(parent, "equipement")
        self.sub(el, "type-equipement", eq.type_equipement)
        if eq.cout_indicatif is not None:
            cost = Decimal(eq.cout_indicatif).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
            self.sub(el, "cout-indicatif-equipement", int(cost))
        self.opt(el, "commentaire", self.fit(eq.commentaire, 500, "commentaire"))

    def formateurs(self, parent, sv):
        trainers = sv.lheo_trainers if self.v23 else sv.lheo_trainers[:1]  # 2.2: the principal one
        for trainer in trainers:
            structure = trainer.structure
            siret = _digits(structure.siret)
            if len(siret) != 14:
                self.stats.warn("organisme formateur sans SIRET : non exporté", sv.session.reference)
                continue
            el = self.sub(parent, "organisme-formateur", attrs={"numero": structure.reference})
            self.sub(self.sub(el, "SIRET-formateur"), "SIRET", siret)
            self.sub(
                el,
                "raison-sociale-formateur",
                self.fit(structure.raison_sociale or structure.nom, 250, "raison-sociale-formateur"),
            )
            contacts = [sc for sc in sv.lheo_contacts if sc.contact.structure_id == structure.pk]
            for sc in contacts if self.v23 else contacts[:1]:
                self.contact(el, "contact-formateur", sc.contact, sc.type_contact)
            uai = clean(structure.uai).upper()
            if self.v23 and len(uai) == 8:
                self.sub(self.sub(el, "code-UAI-formateur"), "code-UAI", uai)

    def financeurs(self, parent, sv, codes):
        places = {}
        for fin, code in zip(sv.lheo_financements, codes, strict=True):
            if code is None:
                self.stats.warn(
                    f"code financeur « {fin.financeur.lheo_code} » inconnu en LHEO {self.version}", sv.session.reference
                )
                continue
            current = places.setdefault(code, None)
            if fin.nb_places is not None:
                places[code] = (current or 0) + fin.nb_places
        if len(places) > MAX_FINANCEURS:
            self.stats.warn("plus de 8 financeurs : seuls les 8 premiers sont exportés", sv.session.reference)
        for code, count in list(places.items())[:MAX_FINANCEURS]:
            el = self.sub(parent, "organisme-financeur")
            self.sub(el, "code-financeur", code)
            if count is not None:
                self.sub(el, "nb-places-financees", count)

    # --- queries ----------------------------------------------------------------------

    def prefetches(self, sessions=None):
        """Everything a chunk needs, one query per lookup, whatever the chunk holds."""
        sv_qs = (
            published_sessions(sessions)
            .select_related("session", "lieu_inscription")
            .order_by(F("date_debut").asc(nulls_last=True), "session__reference", "pk")
        )
        base = "live_version__lheo_sessions"
        lookups = [
            Prefetch(
                "structure__contacts",
                queryset=Contact.objects.filter(diffusion_web=True).order_by("-is_principal", "nom", "prenom", "pk"),
                to_attr="lheo_contacts",
            ),
            Prefetch("live_version__sessions", queryset=sv_qs, to_attr="lheo_sessions"),
            Prefetch(
                f"{base}__trainers",
                queryset=SessionTrainer.objects.select_related("structure__live_version"),
                to_attr="lheo_trainers",
            ),
            Prefetch(f"{base}__places", queryset=SessionPlace.objects.select_related("lieu"), to_attr="lheo_places"),
            Prefetch(
                f"{base}__contacts",
                queryset=SessionContact.objects.filter(contact__diffusion_web=True).select_related("contact"),
                to_attr="lheo_contacts",
            ),
            Prefetch(
                f"{base}__financements",
                queryset=Financement.objects.filter(etat=FinancementEtat.DIFFUSION).select_related(
                    "financeur", "dispositif"
                ),
                to_attr="lheo_financements",
            ),
            Prefetch(
                f"{base}__recruitment_slots",
                queryset=RecruitmentSlot.objects.select_related("lieu", "structure__live_version").order_by(
                    F("date").asc(nulls_last=True), F("heure_debut").asc(nulls_last=True), "pk"
                ),
                to_attr="lheo_slots",
            ),
            Prefetch(f"{base}__cycles", queryset=Cycle.objects.all(), to_attr="lheo_cycles"),
        ]
        if self.v23:
            lookups += [
                Prefetch(f"{base}__equipements", queryset=Equipement.objects.all(), to_attr="lheo_equipements"),
                Prefetch(
                    f"{base}__blocs",
                    queryset=SessionBlocs.objects.select_related("certification"),
                    to_attr="lheo_blocs",
                ),
                f"{base}__lheo_blocs__blocs",
            ]
        return lookups

    def iter_formations(self, queryset, *, sessions=None, chunk_size=DEFAULT_CHUNK_SIZE):
        """Formations of ``queryset`` by chunks of primary keys, each chunk fully loaded."""
        queryset = queryset.select_related("live_version__certification", "structure__live_version").prefetch_related(
            *self.prefetches(sessions)
        )
        last_pk = None
        while True:
            page = queryset.order_by("pk")
            if last_pk is not None:
                page = page.filter(pk__gt=last_pk)
            self._addresses.clear()
            chunk = list(page[:chunk_size])
            if not chunk:
                return
            last_pk = chunk[-1].pk
            yield from chunk
            if len(chunk) < chunk_size:
                return


def _pks(objects):
    """A queryset or an iterable of instances / primary keys, as a value for ``pk__in``."""
    if isinstance(objects, QuerySet):
        return objects.values("pk")
    return [getattr(obj, "pk", obj) for obj in objects]


def published_sessions(sessions=None):
    """Session versions that are exported with their published formation version: those whose
    session is not archived, optionally among ``sessions`` (queryset or iterable)."""
    qs = SessionVersion.objects.filter(session__archived_at__isnull=True)
    if sessions is not None:
        qs = qs.filter(session__in=_pks(sessions))
    return qs


def published_formations(*, formations=None, since=None, sessions=None):
    """The published offer (SPEC H1/H2): published, not archived formations of a diffused
    organisme with at least one published, not archived session. Optionally restricted to
    ``formations`` / ``sessions`` (querysets or iterables of instances or primary keys) and to
    formations published since ``since``."""
    qs = Formation.objects.filter(
        live_version__isnull=False,
        archived_at__isnull=True,
        structure__etat__is_diffused=True,
    ).filter(Exists(published_sessions(sessions).filter(formation_version=OuterRef("live_version"))))
    if formations is not None:
        qs = qs.filter(pk__in=_pks(formations))
    if since is not None:
        if isinstance(since, datetime.date) and not isinstance(since, datetime.datetime):
            since = datetime.datetime.combine(since, datetime.time.min)
        if settings.USE_TZ and timezone.is_naive(since):
            since = timezone.make_aware(since)
        qs = qs.filter(published_at__gte=since)
    return qs


@contextmanager
def _binary_output(output):
    """A binary file object as is; a path through a temporary file next to it, renamed over
    it only once complete (a failed export never leaves a half-written file)."""
    if hasattr(output, "write"):
        yield output
        return
    path = Path(output)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_offer(output, version="2.3", formations=None, since=None, *, sessions=None, chunk_size=DEFAULT_CHUNK_SIZE):
    """Write the published offer as one LHEO ``version`` document to ``output`` (a path,
    replaced atomically, or a binary file object) and return an ``ExportStats``.
    ``formations`` / ``sessions`` optionally restrict the export (querysets or iterables, e.g.
    the rows selected for « Exporter », D5); ``since`` keeps formations published since then.
    Raises ``EmptyOffer``, before writing anything, when there is no formation to write."""
    writer = LheoWriter(version)
    queryset = published_formations(formations=formations, since=since, sessions=sessions)
    elements = (
        element
        for element in map(writer.formation, writer.iter_formations(queryset, sessions=sessions, chunk_size=chunk_size))
        if element is not None
    )
    first = next(elements, None)
    if first is None:
        raise EmptyOffer("Aucune formation publiée à exporter : un document LHEO contient au moins une formation.")
    with _binary_output(output) as stream, etree.xmlfile(stream, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(writer.q("lheo"), nsmap={None: writer.ns}), xf.element(writer.q("offres")):
            for element in _chain_first(first, elements):
                xf.write("\n")
                xf.write(element)
                xf.flush()
            xf.write("\n")
    return writer.stats


def _chain_first(first, rest):
    yield first
    yield from rest

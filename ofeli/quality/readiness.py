"""LHEO and partner readiness of a formation and its sessions while they are edited (Q3).

Nothing here restates an export rule. The version shown on the page (the draft of an open
change request, else the published version) is read by the export's own reader
(``exports.lheo.ChunkReader.version``, the same dictionaries as the published offer), the
values typed but not saved yet are laid over it (``apply_session_form`` /
``apply_formation_form``: the form's fields, under the export's field names), and the
export's writer (``LheoWriter.formation``) builds the very ``<formation>`` the flows would
carry. The panel then reports:

- what the export itself said while building it: texts cut at their LHEO limit
  (``ExportStats.cut``, with the length and the limit), sessions or formations left out, codes
  dropped (``ExportStats.warn``);
- what the built element lacks that a partner needs (France Travail: a financeur and a number
  of places for the AIF, a certification code for the CPF, an INSEE code on each place, a
  contact one can reach), and the LHEO required elements filled with the export's defaults
  (``DEFAULT_CONTENU``…), both read in the element itself;
- whether the document holding it is valid against the LHEO 2.3 schema
  (``exports.validation.validate_lheo``);
- whether the session is in the exported offer at all (archived, ended more than
  ``LHEO_ENDED_SESSIONS_DAYS`` ago, structure not diffused), and the certification watch (Q1,
  ``watch.reasons``) on the version's certification.

Every element a check found is recorded in ``checked`` (an XPath from the <formation>), so a
test can verify that the export of a session the panel calls ready holds them.
"""

import io
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils import timezone
from lxml import etree

from ofeli.exports import kept
from ofeli.exports import lheo as export
from ofeli.exports.validation import validate_lheo
from ofeli.formations.models import FormationVersion, SessionVersion
from ofeli.public.financing import kind_of
from ofeli.referentials import lheo as tables
from ofeli.referentials.models import Certification

from .enums import FlagReason
from .watch import label_of, reasons, successor_of

VERSION = "2.3"
NS = {"l": export.NAMESPACES[VERSION]}

BLOCKING = "bloquant"  # not sent, or the document would be refused
PARTNER = "partenaire"  # sent, but a partner (France Travail) rejects or cannot use it
DOWNGRADE = "degrade"  # sent with a default, a text cut, a code left out
LEVELS = {
    BLOCKING: "Non transmis ou refusé",
    PARTNER: "Refusé ou inutilisable par France Travail",
    DOWNGRADE: "Transmis avec une valeur par défaut ou coupé",
}

# The LHEO elements the export fills from one field of the form: (page, field) for the
# message's label and link. The limits come from the export (``LheoWriter.fit``), never from here.
FORMATION_FIELDS = {
    "intitule-formation": "intitule",
    "objectif-formation": "objectif",
    "contenu-formation": "contenu",
    "resultats-attendus": "resultats_attendus",
}
SESSION_FIELDS = {
    "info-public-vise": "commentaire_financement",
    "conditions-specifiques": "prerequis",
    "detail-conditions-prise-en-charge": "conditions_prise_en_charge",
    "modalites-inscription": "commentaire_inscription",
    "restauration": "restauration",
    "hebergement": "hebergement",
    "transport": "transport",
    "acces-handicapes": "acces_handicapes",
    "rythme-formation": "commentaire_rythme",
    "modalites-pedagogiques": "commentaire_modalites_pedagogiques",
}
# Elements built from several fields or from rows (places, contacts, organismes).
OTHER_LABELS = {
    "rythme-formation": "Rythme de la formation (rythme, commentaires du rythme et de la durée)",
    "modalites-pedagogiques": "Modalités pédagogiques et leur commentaire",
    "modalites-recrutement": "Modalités de recrutement (libellés, lieux et commentaires des plages)",
    "infos-perimetre-recrutement": "Commentaire du périmètre de recrutement",
    "duree-indicative": "Durée indicative",
    "modalites-alternance": "Modalités de l'alternance",
    "commentaire": "Commentaire d'un équipement",
    "ligne": "Adresse (ligne)",
    "ville": "Ville d'une adresse",
    "denomination": "Nom d'un lieu",
    "nom": "Nom d'un contact ou d'un lieu",
    "prenom": "Prénom d'un contact",
    "nom-organisme": "Nom de l'organisme responsable",
    "raison-sociale": "Raison sociale de l'organisme responsable",
    "raison-sociale-formateur": "Raison sociale d'un organisme formateur",
}
SESSION_ANCHORS = {
    "modalites-recrutement": "recruitment_slots",
    "infos-perimetre-recrutement": "recruitment_slots",
    "commentaire": "modalites",
    "ligne": "places",
    "ville": "places",
    "denomination": "places",
    "nom": "contacts",
    "prenom": "contacts",
    "raison-sociale-formateur": "trainers",
}
# The kinds of financing (public.financing) the partner checks look at.
AIF_KINDS = {"individuel"}  # the AIF is entered as CPR02 (guide, « Financement de la session »)
CPF_KIND = "cpf"
REACHABLE = "(l:coordonnees/l:courriel or l:coordonnees/l:telfixe or l:coordonnees/l:portable)"


@cache
def _table(name):
    return dict(tables.entries(name))


def _label(name, code):
    return _table(name).get(str(code), str(code)) if code not in (None, "") else ""


def _thousands(number):
    return f"{number:,}".replace(",", "\u202f")


def _date(text):
    if not text or text in (export.UNKNOWN_START, export.UNKNOWN_END):
        return "non renseignée"
    return f"{text[6:8]}/{text[4:6]}/{text[:4]}"


@dataclass
class Issue:
    level: str
    message: str
    scope: str | None = None  # None: the formation; else a session's Numéro CARIF
    anchor: str = ""  # the field or section on the page of its scope
    element: str = ""  # the LHEO element concerned

    @property
    def level_label(self):
        return LEVELS[self.level]


@dataclass
class SessionReadiness:
    reference: str
    sent: bool = True  # in the exported offer
    received: list = field(default_factory=list)  # (label, value) read in the built element
    issues: list = field(default_factory=list)

    @property
    def action(self):
        return f"l:action[@numero='A{self.reference}']"


@dataclass
class Readiness:
    version_id: int
    formation_reference: str
    received: list = field(default_factory=list)  # the formation's (label, value)
    issues: list = field(default_factory=list)  # the formation's own
    sessions: dict = field(default_factory=dict)  # Numéro CARIF -> SessionReadiness
    checked: list = field(default_factory=list)  # XPaths (from <formation>) the checks found
    schema_errors: list = field(default_factory=list)
    certification: dict | None = None  # Q1 on the version's certification
    element: object = None  # the built <formation> (None when nothing is exported)

    def issues_of(self, reference=None):
        """The formation's issues, then those of session ``reference`` (all sessions: None)."""
        if reference is None:
            return [*self.issues, *(i for s in self.sessions.values() for i in s.issues)]
        session = self.sessions.get(reference)
        return [*self.issues, *(session.issues if session else [])]

    def ready(self, reference=None):
        """Received and accepted by the partners (downgrades aside)."""
        return not any(i.level in (BLOCKING, PARTNER) for i in self.issues_of(reference))

    def counts(self, reference=None):
        counts = dict.fromkeys(LEVELS, 0)
        for issue in self.issues_of(reference):
            counts[issue.level] += 1
        return counts


class _Stats(export.ExportStats):
    """The export's counters, keeping what the panel lists: each cut text with its length and
    limit, each warning, and the session being built when it happened."""

    def __init__(self, version):
        super().__init__(version)
        self.scope = None
        self.cuts = []
        self.notes = []

    def cut(self, element, length=None, limit=None):
        super().cut(element, length, limit)
        self.cuts.append((self.scope, element, length, limit))

    def warn(self, reason, reference):
        super().warn(reason, reference)
        self.notes.append((self.scope, reason, reference))


class _Writer(export.LheoWriter):
    """The export's writer; it only notes which session's <action> is being built."""

    def __init__(self):
        super().__init__(VERSION)
        self.stats = _Stats(VERSION)

    def action(self, parent, formation, sv, inscription):
        self.stats.scope = sv["reference"]
        try:
            return super().action(parent, formation, sv, inscription)
        finally:
            self.stats.scope = None


# --- values typed and not saved yet ---------------------------------------------------------


def apply_formation_form(data, form):
    """Lay the valid fields of a bound FormationForm over the version's dictionary."""
    cleaned = getattr(form, "cleaned_data", {})
    for name in export.VERSION_FIELDS:
        if name in cleaned:
            data[name] = getattr(form.instance, name)


def apply_session_form(reader, data, reference, form):
    """Lay the valid fields of a bound SessionForm (session ``reference``) over the version's
    dictionary: the plain fields under the export's names, the registration place and contact
    as the reader builds them, the total duration as the model computes it on save."""
    sv = next((s for s in data["sessions"] if s["reference"] == reference), None)
    cleaned = getattr(form, "cleaned_data", {})
    if sv is None:
        return
    instance = form.instance
    for name in export.SESSION_FIELDS:
        if name in cleaned:
            sv[name] = getattr(instance, name)
    if {"duree_centre", "duree_entreprise"} & set(cleaned):
        sv["duree_totale"] = instance.compute_total()
    if "lieu_inscription" in cleaned:
        lieu = cleaned["lieu_inscription"]
        values = None if lieu is None else tuple(getattr(lieu, name) for name in export.LIEU_FIELDS)
        sv["lieu_inscription"] = None if lieu is None else reader.lieu(lieu.pk, values, 0)
    if "contact_inscription" in cleaned:
        contact = cleaned["contact_inscription"]
        if contact is None or not contact.diffusion_web:
            sv["contact_inscription"] = None
        else:
            values = tuple(getattr(contact, name) for name in export.CONTACT_FIELDS)
            sv["contact_inscription"] = reader.contact(contact.pk, values, 0)


# --- the panel ------------------------------------------------------------------------------


def readiness(version, *, formation_form=None, session_form=None, session_reference=None, sessions=None, today=None):
    """The readiness of ``version`` (a FormationVersion) and of its sessions (only of the
    Session ids ``sessions``, for a session page: its cost does not grow with the formation);
    with a bound form, of what is typed on the page (``session_form`` for session
    ``session_reference``)."""
    today = today or timezone.localdate()
    reader = export.ChunkReader(True, sessions=sessions, session_versions=SessionVersion.objects.all())
    data = reader.version(version.pk)
    formation = version.formation
    result = Readiness(version.pk, formation.reference)
    if data is None:
        return result
    if formation_form is not None:
        apply_formation_form(data, formation_form)
    if session_form is not None:
        apply_session_form(reader, data, session_reference, session_form)
    result.certification = _certification(version, data, today)
    if result.certification:
        cert = result.certification
        for label, refs in cert["reasons"]:
            successor = f" France Compétences la remplace par {cert['successor_label']}." if cert["successor"] else ""
            for ref in refs:
                result.sessions.setdefault(ref, SessionReadiness(ref))
                result.sessions[ref].issues.append(
                    Issue(
                        PARTNER,
                        f"Certification {cert['label']} à vérifier : {label.lower()} (veille des certifications) ; "
                        f"le CPF et France Travail ne la financent plus.{successor}",
                        ref,
                        "",
                        "certification",
                    )
                )

    # Out of the exported offer whatever its content (the flows' query: published_sessions,
    # ended_sessions_kept, kept.exportable).
    structure = formation.structure
    if formation.archived_at:
        result.issues.append(Issue(BLOCKING, "Formation archivée : elle n'est plus transmise aux partenaires."))
    if structure.etat_id and not structure.etat.is_diffused:
        result.issues.append(
            Issue(
                BLOCKING,
                f"Structure « {structure.etat} » : son offre n'est pas diffusée, aucune session n'est transmise.",
            )
        )
    if formation.source in kept.excluded_sources():
        result.issues.append(
            Issue(BLOCKING, f"Offre « {formation.get_source_display()} » exclue des flux LHEO (réglage du Carif).")
        )
    archived = set(
        SessionVersion.objects.filter(formation_version=version, session__archived_at__isnull=False).values_list(
            "session__reference", flat=True
        )
    )
    exported = []
    for sv in data["sessions"]:
        session = result.sessions.setdefault(sv["reference"], SessionReadiness(sv["reference"]))
        if sv["reference"] in archived:
            session.sent = False
            session.issues.append(Issue(BLOCKING, "Session archivée : elle n'est pas transmise.", sv["reference"]))
        elif export.ended_too_long_ago(sv["date_fin"], today):
            session.sent = False
            days = getattr(settings, "LHEO_ENDED_SESSIONS_DAYS", export.DEFAULT_ENDED_SESSIONS_DAYS)
            session.issues.append(
                Issue(
                    BLOCKING,
                    f"Session terminée depuis plus de {days} jours : elle a quitté les flux des partenaires.",
                    sv["reference"],
                    "id_s-date_fin",
                )
            )
        else:
            exported.append(sv)

    writer = _Writer()
    element = writer.formation({**data, "sessions": exported})
    _notes(result, writer.stats, data)
    if element is None:  # nothing of the formation is exported (the export said why)
        for sv in exported:
            result.sessions[sv["reference"]].sent = False
        return result
    writer.stamp_chunk([(data, element)], partial=True)  # the stamps the schema requires, nothing stored
    result.element = element
    _schema(result, writer, element)
    _formation_checks(result, element, data)
    for sv in exported:
        session = result.sessions[sv["reference"]]
        if not element.xpath(session.action, namespaces=NS):
            session.sent = False
            continue
        _session_checks(result, session, element, sv, writer)
    return result


def _certification(version, data, today):
    """Q1 on the version's certification, for each session: inactive, or registration
    ending before the session ends (``watch.reasons``), with the successor if any."""
    if version.certification_id is None:
        return None
    cert = Certification.objects.select_related("replaced_by").get(pk=version.certification_id)
    found = {}
    for sv in data["sessions"]:
        if sv["date_fin"] is None or sv["date_fin"] >= today:
            for reason in reasons(cert.etat, cert.date_fin_enregistrement, sv["date_fin"]):
                found.setdefault(reason, []).append(sv["reference"])
    if not found:
        return None
    successor = successor_of(cert)
    return {
        "certification": cert,
        "label": label_of(cert),
        "reasons": [(FlagReason(reason).label, refs) for reason, refs in found.items()],
        "sessions": {ref for refs in found.values() for ref in refs},
        "successor": successor,
        "successor_label": label_of(successor) if successor else "",
    }


def _notes(result, stats, data):
    """What the export said while building: cut texts and warnings, by scope."""
    sessions = result.sessions
    seen = set()
    for scope, element, length, limit in stats.cuts:
        if length is None or (scope, element) in seen:
            continue
        seen.add((scope, element))
        if scope is None:
            name = FORMATION_FIELDS.get(element)
            label = FormationVersion._meta.get_field(name).verbose_name if name else OTHER_LABELS.get(element, element)
            anchor = f"id_f-{name}" if name else ""
        else:
            name = SESSION_FIELDS.get(element)
            label = OTHER_LABELS.get(element) or (
                SessionVersion._meta.get_field(name).verbose_name if name else element
            )
            anchor = f"id_s-{name}" if name else SESSION_ANCHORS.get(element, "")
        issue = Issue(
            DOWNGRADE,
            f"« {label} » : {_thousands(length)} caractères, LHEO en accepte {_thousands(limit)} : "
            f"le texte sera coupé à l'envoi (terminé par « … »).",
            scope,
            anchor,
            element,
        )
        _add(result, sessions, issue)
    for scope, reason, reference in stats.notes:
        key = (scope, reason, reference)
        if key in seen:
            continue
        seen.add(key)
        target = reference if reference in sessions else scope
        if "non exportée" in reason:
            level = BLOCKING
        elif reason.startswith("organisme formateur"):
            level = PARTNER  # Kairos identifies a session by its principal trainer's SIRET
        else:
            level = DOWNGRADE
        message = f"Export LHEO : {reason}" + (f" ({reference})" if reference not in sessions else "") + "."
        anchor = "trainers" if reason.startswith("organisme formateur") else ""
        _add(result, sessions, Issue(level, message, target, anchor))


def _add(result, sessions, issue):
    if issue.scope is not None and issue.scope in sessions:
        sessions[issue.scope].issues.append(issue)
    else:
        issue.scope = None
        result.issues.append(issue)


def _schema(result, writer, element):
    """The document holding this formation, against the LHEO schema."""
    root = etree.Element(writer.q("lheo"), nsmap={None: writer.ns})
    etree.SubElement(root, writer.q("offres")).append(element)
    result.schema_errors = validate_lheo(io.BytesIO(etree.tostring(root, encoding="utf-8")), VERSION)
    for error in result.schema_errors[:5]:
        result.issues.append(Issue(BLOCKING, f"Le fichier LHEO serait refusé par le schéma {VERSION} : {error}"))


def _text(element, path):
    found = element.xpath(path, namespaces=NS)
    return found[0].text if found else None


def _formation_checks(result, element, data):
    title = _text(element, "l:intitule-formation")
    result.received.append(("Formation", f"{element.get('numero')} — {title}"))
    codes = [
        f"{tag.removeprefix('code-')} {value}"
        for tag in ("code-RNCP", "code-RS", "code-CERTIFINFO")
        if (value := _text(element, f"l:certification/l:{tag}"))
    ]
    certifiante = _text(element, "l:certifiante") == "1"
    result.received.append(
        ("Certification", ", ".join(codes) if codes else ("certifiante" if certifiante else "non certifiante"))
    )
    siret = _text(element, "l:organisme-formation-responsable/l:SIRET-organisme-formation/l:SIRET")
    nom = _text(element, "l:organisme-formation-responsable/l:nom-organisme")
    result.received.append(("Organisme responsable", f"{nom} (SIRET {siret})"))
    # Required elements the export filled with its defaults.
    defaults = (
        ("contenu-formation", export.DEFAULT_CONTENU, "Contenu non renseigné", "id_f-contenu"),
        ("resultats-attendus", export.DEFAULT_RESULTATS, "Résultats attendus non renseignés", ""),
        ("code-niveau-entree", export.DEFAULT_NIVEAU_ENTREE, "Niveau d'entrée non renseigné", "id_f-niveau_entree"),
    )
    for tag, default, label, anchor in defaults:
        if _text(element, f"l:{tag}") == default:
            shown = _label(tables.NIVEAUX, default) if tag == "code-niveau-entree" else default
            result.issues.append(
                Issue(
                    DOWNGRADE,
                    f"{label} : LHEO l'exige, les partenaires recevront « {shown} »",
                    None,
                    anchor,
                    tag,
                )
            )
    if _text(element, "l:objectif-formation") == title and not export.clean(data["objectif"]):
        result.issues.append(
            Issue(
                DOWNGRADE,
                "Objectif non renseigné : LHEO l'exige, les partenaires recevront l'intitulé à sa place.",
                None,
                "id_f-objectif",
                "objectif-formation",
            )
        )


def _session_checks(result, session, element, sv, writer):
    """What France Travail's services need, read in the session's <action>."""
    action = session.action
    issues, checked = session.issues, result.checked
    ref = session.reference

    def present(path):
        if element.xpath(path, namespaces=NS):
            checked.append(path)
            return True
        return False

    debut = _text(element, f"{action}/l:session/l:periode/l:debut")
    fin = _text(element, f"{action}/l:session/l:periode/l:fin")
    session.received.append(("Numéro CARIF", ref))
    session.received.append(("Période", f"du {_date(debut)} au {_date(fin)}"))
    for tag, value, label, anchor in (
        ("debut", debut, "Date de début", "id_s-date_debut"),
        ("fin", fin, "Date de fin", "id_s-date_fin"),
    ):
        if value in (export.UNKNOWN_START, export.UNKNOWN_END):
            issues.append(
                Issue(
                    DOWNGRADE,
                    f"{label} non renseignée : les partenaires recevront « date inconnue » ({value}).",
                    ref,
                    anchor,
                    tag,
                )
            )
    for tag, default, label, anchor in (
        ("rythme-formation", export.DEFAULT_RYTHME, "Rythme non renseigné", "id_s-rythme"),
        ("conditions-specifiques", export.DEFAULT_CONDITIONS, "Pré-requis non renseignés", "id_s-prerequis"),
    ):
        if _text(element, f"{action}/l:{tag}") == default:
            issues.append(
                Issue(
                    DOWNGRADE,
                    f"{label} : LHEO l'exige, les partenaires recevront « {default} »",
                    ref,
                    anchor,
                    tag,
                )
            )

    # Places: an INSEE code for each (France Travail places a session by its commune).
    places = element.xpath(f"{action}/l:lieu-de-formation", namespaces=NS)
    shown = []
    for index, place in enumerate(places, start=1):
        ville = place.xpath("l:coordonnees/l:adresse/l:ville/text()", namespaces=NS)
        name = place.xpath("l:coordonnees/l:adresse/l:denomination/text()", namespaces=NS)
        where = (name or ville or ["lieu sans adresse"])[0]
        insee = place.xpath("l:coordonnees/l:adresse/l:code-INSEE-commune/text()", namespaces=NS)
        if insee:
            checked.append(f"{action}/l:lieu-de-formation[{index}]/l:coordonnees/l:adresse/l:code-INSEE-commune")
            shown.append(f"{where} ({ville[0] if ville else ''}, INSEE {insee[0]})")
        else:
            shown.append(f"{where} (sans code INSEE)")
            issues.append(
                Issue(
                    PARTNER,
                    f"Lieu de formation « {where} » sans code INSEE de commune : France Travail ne peut pas situer "
                    "la session (recherche par commune). Choisissez l'adresse dans la liste de la Base adresse "
                    "nationale.",
                    ref,
                    "places",
                    "code-INSEE-commune",
                )
            )
    session.received.append(("Lieux de formation", " ; ".join(shown) or "aucun"))
    trainers = element.xpath(f"{action}/l:organisme-formateur/l:SIRET-formateur/l:SIRET/text()", namespaces=NS)
    session.received.append(("Organisme formateur (SIRET)", ", ".join(trainers) or "aucun"))

    # Financeurs: France Travail needs one, and for the AIF the number of places.
    financeurs = element.xpath(f"{action}/l:organisme-financeur", namespaces=NS)
    lines = []
    for fin in financeurs:
        code = fin.xpath("l:code-financeur/text()", namespaces=NS)[0]
        places_text = fin.xpath("l:nb-places-financees/text()", namespaces=NS)
        label = _label(tables.FINANCEURS, code) or code
        lines.append(f"{label}" + (f" : {places_text[0]} place(s)" if places_text else " : places non indiquées"))
    session.received.append(("Financeurs", " ; ".join(lines) or "aucun"))
    if not present(f"{action}/l:organisme-financeur/l:code-financeur"):
        issues.append(
            Issue(
                PARTNER,
                "Aucun financement diffusé : France Travail ne reçoit aucun financeur ni état du recrutement "
                "et ne peut pas prescrire la session (AIF).",
                ref,
                "financements",
                "organisme-financeur",
            )
        )
    kinds = {}
    for fin in sv["financements"]:
        kind = kind_of(fin[6], fin[8], fin[0])
        kinds.setdefault(kind, []).append(fin)
    for fin in [f for k in AIF_KINDS for f in kinds.get(k, ())]:
        code = writer.financeur_code(fin[0])
        if code is None:
            continue  # announced by the export (code financeur inconnu)
        if not present(f"{action}/l:organisme-financeur[l:code-financeur='{code}']/l:nb-places-financees"):
            issues.append(
                Issue(
                    PARTNER,
                    f"Financement « {fin[7]} » sans nombre de places : France Travail en a besoin pour instruire "
                    "une aide individuelle à la formation (AIF).",
                    ref,
                    "financements",
                    "nb-places-financees",
                )
            )
    if CPF_KIND in kinds and not present("l:certification/l:code-RNCP | l:certification/l:code-RS"):
        issues.append(
            Issue(
                PARTNER,
                "Financement CPF sans code RNCP ni RS transmis : une formation sans certification enregistrée "
                "n'est pas éligible au CPF, les services de France Travail et de Mon Compte Formation la refusent.",
                ref,
                "financements",
                "certification",
            )
        )

    # A contact one can reach: the session's own, else the formation's.
    own = f"{action}/l:session/l:contact-session[{REACHABLE}]"
    shared = f"l:contact-formation[@numero][{REACHABLE}]"
    contacts = element.xpath(f"{action}/l:session/l:contact-session", namespaces=NS)
    session.received.append(("Contacts de la session", str(len(contacts)) if contacts else "aucun"))
    if not present(own):
        if present(shared):
            issues.append(
                Issue(
                    DOWNGRADE,
                    "Aucun contact de la session diffusé sur le web avec un e-mail ou un téléphone : les partenaires "
                    "reçoivent seulement le contact de la formation.",
                    ref,
                    "contacts",
                    "contact-session",
                )
            )
        else:
            issues.append(
                Issue(
                    PARTNER,
                    "Aucun contact joignable (e-mail ou téléphone, « Diffusion web ») : France Travail n'a personne "
                    "à qui adresser un demandeur d'emploi.",
                    ref,
                    "contacts",
                    "contact-session",
                )
            )
    etat = _text(element, f"{action}/l:session/l:etat-recrutement")
    session.received.append(("État du recrutement", _label(tables.ETAT_RECRUTEMENT, etat) if etat else "non transmis"))
    total = _text(element, f"{action}/l:nombre-heures-total")
    session.received.append(("Durée totale", f"{total} heures" if total else "non transmise"))


# --- the page's panel -------------------------------------------------------------------------


def panel(request, ctx, sv=None, data=None, shown=None):
    """What the panel template needs for the formation page (``sv`` None) or a session page,
    from the version shown (``ctx.version``) and, with ``data`` (a POST of the page's form,
    only while the user may edit), what is typed there. Never saves anything. ``shown``: the
    Numéros CARIF the formation page's sessions list shows (its filter), the only sessions the
    formation page's panel details (its status stays the whole formation's)."""
    from django.urls import reverse

    from ofeli.formations.forms import FormationForm, SessionForm

    version = ctx.version
    reference = sv.session.reference if sv is not None else None
    kwargs = {}
    if data is not None and ctx.editing:
        if sv is None:
            form = FormationForm(data, instance=version, prefix="f")
        else:
            from ofeli.formations.session_editor import SessionEditor

            editor = SessionEditor(request, ctx, sv)
            form = SessionForm(
                data,
                instance=sv,
                structure=ctx.formation.structure,
                places=editor.place_choices(),
                contacts=editor.contact_choices(),
                prefix="s",
            )
        form.is_valid()  # the valid fields are laid over the version; nothing is saved
        kwargs = {"formation_form": form} if sv is None else {"session_form": form, "session_reference": reference}
    if sv is not None:
        kwargs["sessions"] = [sv.session_id]
    result = readiness(version, **kwargs)
    formation = ctx.formation
    if sv is None:
        url = reverse("quality:readiness", args=[formation.reference])
        sessions = [
            {
                "reference": ref,
                "ready": result.ready(ref),
                "sent": session.sent,
                "counts": result.counts(ref),
                "issues": session.issues,
            }
            for ref, session in result.sessions.items()
            if shown is None or ref in shown
        ]
    else:
        url = reverse("quality:session_readiness", args=[formation.reference, reference])
        sessions = []
    session = result.sessions.get(reference) if reference else None
    issues = result.issues_of(reference)  # the formation page lists every session's too
    if shown is not None:
        issues = [i for i in issues if i.scope is None or i.scope in shown]
    certification = result.certification
    if certification and reference and reference not in certification["sessions"]:
        certification = None
    return {
        "readiness": result,
        "reference": reference,
        "session": session,
        "ready": result.ready(reference) if reference else result.ready(),
        "counts": result.counts(reference) if reference else result.counts(),
        "groups": [(level, label, [i for i in issues if i.level == level]) for level, label in LEVELS.items()],
        "sessions": sessions,
        "certification": certification,
        "may_replace": _may_replace(ctx, certification),
        "formation": formation,
        "draft": bool(ctx.change),
        "live_url": url if ctx.editing else "",
        "form_id": "formation-form" if sv is None else "session-form",
        "prefix": "f-" if sv is None else "s-",
        "page": "formation" if sv is None else "session",
        "hidden_sessions": len(result.sessions) - len(sessions) if sv is None else 0,
    }


def _may_replace(ctx, certification):
    """« Remplacer par … » (Q1) is offered where ``watch.replace_certification`` can do it."""
    if not certification or not certification["successor"] or not ctx.may_edit:
        return False
    live = ctx.formation.live_version
    cert = certification["certification"]
    return bool(live and live.certification_id == cert.pk and ctx.version.certification_id == cert.pk)


def certification_alerts(ctx, sv=None):
    """Q1 on the page: the open flags of the session (or of the formation's sessions), one
    alert per certification, with its state, end of registration and successor."""
    from .models import CertificationFlag

    flags = CertificationFlag.objects.filter(resolved_at__isnull=True).select_related(
        "certification__replaced_by", "session"
    )
    flags = flags.filter(session_id=sv.session_id) if sv is not None else flags.filter(formation=ctx.formation)
    alerts = {}
    for flag in flags.order_by("session__reference", "reason"):
        alert = alerts.get(flag.certification_id)
        if alert is None:
            cert = flag.certification
            successor = successor_of(cert)
            alert = alerts[flag.certification_id] = {
                "certification": cert,
                "label": label_of(cert),
                "etat": cert.get_etat_display().split(" - ", 1)[-1],
                "reasons": [],
                "sessions": [],
                "successor": successor,
                "successor_label": label_of(successor) if successor else "",
                "replaced_in_draft": bool(ctx.change and ctx.version.certification_id != cert.pk),
            }
            alert["may_replace"] = _may_replace(ctx, alert)
        label = flag.get_reason_display()
        if label not in alert["reasons"]:
            alert["reasons"].append(label)
        if flag.session.reference not in alert["sessions"]:
            alert["sessions"].append(flag.session.reference)
    return list(alerts.values())

"""Rules on a formation version, checked before submission (G1), and the single-value
rules the forms share with them, so the messages are the same everywhere.

A draft may be saved half complete (F15): what is *missing* is only checked here, at
« Soumettre pour validation »; what is *wrong* (an end date before the start date...) is
refused by the forms at once."""

import datetime

from django.conf import settings

from ofeli.core.problems import Problem
from ofeli.core.text import is_all_capitals
from ofeli.referentials import lheo

from .enums import ModaliteEnseignement

TEXT_LIMIT = 3000
# Fields of the session page's plain form (their input id is id_s-<name>).
PLAIN_FIELDS = {
    "date_debut",
    "date_fin",
    "modalite_enseignement",
    "duree_centre",
    "debut_inscription",
    "fin_inscription",
}
EXTRA_MONTH_END = (1, 31)  # « vous pouvez ajouter un mois » after 31/12


def intitule_problem(intitule):
    if not intitule or not intitule.strip():
        return "L'intitulé de la formation est obligatoire."
    if is_all_capitals(intitule):
        return (
            "L'intitulé ne doit pas être écrit en majuscules : écrivez-le en minuscules accentuées, "
            "avec une majuscule au début."
        )
    return None


def acronym_warning(intitule):
    """E4: acronyms are discouraged (a warning, not a refusal)."""
    words = [w.strip("().,;:") for w in (intitule or "").split()]
    acronyms = [w for w in words if 2 <= len(w) <= 6 and w.isalpha() and w.isupper()]
    if acronyms:
        return (
            f"Évitez les sigles et acronymes ({', '.join(acronyms)}) : l'intitulé doit être compréhensible "
            "par l'internaute."
        )
    return None


def text_limit_problem(value, label):
    if value and len(value) > TEXT_LIMIT:
        return f"{label} ne doit pas dépasser {TEXT_LIMIT} caractères ({len(value)} saisis)."
    return None


def dates_problem(date_debut, date_fin):
    if date_debut is None or date_fin is None:
        return "La date de début et la date de fin sont obligatoires."
    if date_fin < date_debut:
        return "La date de fin doit être postérieure ou égale à la date de début."
    return None


def calendar_year_problem(date_debut, date_fin, a_la_demande, entree_sortie_permanente):
    """F2: a session « à la demande » or « entrée-sortie permanente » covers one calendar
    year (a month more is allowed); a new year is a new session."""
    if not (a_la_demande or entree_sortie_permanente) or not (date_debut and date_fin):
        return None
    limit = datetime.date(date_debut.year + 1, *EXTRA_MONTH_END)
    if date_fin > limit:
        return (
            "Pour une session à la demande ou en entrée-sortie permanente, indiquez une année civile "
            f"(du 01/01/{date_debut.year} au 31/12/{date_debut.year}, un mois de plus est possible : "
            f"au plus tard le {limit:%d/%m/%Y}). Pour l'année suivante, dupliquez la session."
        )
    return None


def duration_problem(duree_centre, duree_entreprise):
    total = (duree_centre or 0) + (duree_entreprise or 0)
    if total <= 0:
        return (
            "La durée totale est obligatoire et ne peut pas être zéro : indiquez la durée en centre "
            "et/ou en entreprise."
        )
    return None


def distance_problem(modalite, structure):
    if modalite == ModaliteEnseignement.DISTANCE and not structure.nda_in_region:
        return (
            f"Seuls les organismes déclarés auprès de {settings.REGION.nda_authority} "
            "peuvent saisir une formation entièrement à distance."
        )
    return None


def slot_overlap_problem(slots):
    """F13: recruitment slots of a session never overlap. ``slots`` are objects with date,
    heure_debut, heure_fin."""
    dated = sorted(
        (s for s in slots if s.date and s.heure_debut and s.heure_fin), key=lambda s: (s.date, s.heure_debut)
    )
    for first, second in zip(dated, dated[1:], strict=False):
        if first.date == second.date and second.heure_debut < first.heure_fin:
            return (
                f"Les plages de recrutement du {first.date:%d/%m/%Y} se chevauchent "
                f"({first.heure_debut:%H:%M}-{first.heure_fin:%H:%M} et "
                f"{second.heure_debut:%H:%M}-{second.heure_fin:%H:%M})."
            )
    return None


# F13: registration and recruitment take place at most this long before the session starts.
RECRUITMENT_LEAD = 366


def stale_dates_problems(sv, slots=None, today=None):
    """F2, F13: the registration period and the dated recruitment slots of a session must be
    its own: not already past for a session still to come, not after its end, not more than
    a year before its start (the dates of last year's session kept on a duplicate). Returns
    ``(field, message)`` pairs; flagged at save, refused at submission, shown to the Carif."""
    today = today or datetime.date.today()
    start, end = sv.date_debut, sv.date_fin
    if start is None:
        return []
    earliest = start - datetime.timedelta(days=RECRUITMENT_LEAD)
    upcoming = start > today
    found = []

    def check(value, field, what):
        if value is None:
            return
        if end and value > end:
            found.append((field, f"{what} ({value:%d/%m/%Y}) est après la fin de la session ({end:%d/%m/%Y})."))
        elif value < earliest:
            found.append(
                (
                    field,
                    f"{what} ({value:%d/%m/%Y}) est plus d'un an avant le début de la session ({start:%d/%m/%Y}) : "
                    "est-ce une date de la session d'origine ? Indiquez les dates de cette session.",
                )
            )

    check(sv.debut_inscription, "debut_inscription", "Le début d'inscription")
    check(sv.fin_inscription, "fin_inscription", "La fin d'inscription")
    if upcoming and sv.fin_inscription and sv.fin_inscription < today and sv.fin_inscription >= earliest:
        found.append(
            (
                "fin_inscription",
                f"la fin d'inscription ({sv.fin_inscription:%d/%m/%Y}) est passée alors que la session n'a pas "
                "commencé : indiquez la période d'inscription de cette session.",
            )
        )
    slots = sv.recruitment_slots.all() if slots is None else slots
    for slot in slots:
        if slot.date is None:
            continue
        what = f"La plage de recrutement du {slot.date:%d/%m/%Y}"
        if end and slot.date >= end:
            continue  # « doit commencer avant la fin de la session »: its own rule below
        if slot.date < earliest:
            check(slot.date, "recruitment_slots", what)
        elif upcoming and slot.date < today:
            found.append(
                (
                    "recruitment_slots",
                    f"la plage de recrutement du {slot.date:%d/%m/%Y} est passée : supprimez-la ou indiquez une "
                    "nouvelle date.",
                )
            )
    return [(field, message[0].lower() + message[1:]) for field, message in found]


def is_apprenticeship(sv):
    return any(f.dispositif.is_apprenticeship for f in sv.financements.all())


def formation_problems(version):
    problems = []
    formation = version.formation
    message = intitule_problem(version.intitule)
    if message:
        problems.append(Problem(message, field="intitule"))
    for field, label in (("objectif", "L'objectif"), ("contenu", "Le contenu")):
        message = text_limit_problem(getattr(version, field), label)
        if message:
            problems.append(Problem(message, field=field))
    sessions = list(
        version.sessions.select_related("session").prefetch_related(
            "trainers",
            "places",
            "contacts",
            "financements__dispositif",
            "cycles",
            "blocs__blocs",
            "blocs__certification__blocs",
            "recruitment_slots",
        )
    )
    if not sessions:
        problems.append(Problem("Ajoutez au moins une session à la formation.", field="sessions", section="sessions"))
    if any(is_apprenticeship(sv) for sv in sessions) and not version.duree_cycle:
        problems.append(
            Problem(
                "La durée cycle est obligatoire pour une formation en apprentissage (BTS : 2, Bac pro : 3...).",
                field="duree_cycle",
            )
        )
    seen = {}
    for sv in sessions:
        problems.extend(session_problems(sv, formation, version))
        principal = next((p.lieu_id for p in sv.places.all() if p.is_principal), None)
        key = (sv.date_debut, sv.date_fin, principal, sv.kind)
        if sv.date_debut and key in seen:
            problems.append(
                Problem(
                    f"Les sessions {seen[key]} et {sv.session.reference} ont les mêmes dates, le même lieu et le "
                    "même type de formation : une seule session par date, par lieu et par type de formation.",
                    target=sv.session.reference,
                    field="date_debut",
                    section="id_s-date_debut",
                )
            )
        seen.setdefault(key, sv.session.reference)
    return problems


def session_problems(sv, formation, version):
    ref = sv.session.reference
    problems = []

    def add(message, field):
        # The HTML anchor is a plain field's input, else the block of the collection (its id is ``field``).
        if message:
            anchor = f"id_s-{field}" if field in PLAIN_FIELDS else field
            problems.append(Problem(f"Session {ref} : {message}", target=ref, field=field, section=anchor))

    add(dates_problem(sv.date_debut, sv.date_fin), "date_debut")
    add(calendar_year_problem(sv.date_debut, sv.date_fin, sv.a_la_demande, sv.entree_sortie_permanente), "date_fin")
    trainers = list(sv.trainers.all())
    if not any(t.is_principal for t in trainers):
        add("choisissez l'organisme formateur principal.", "trainers")
    places = list(sv.places.all())
    if not places:
        add("ajoutez au moins un lieu de formation.", "places")
    elif not any(p.is_principal for p in places):
        add("choisissez le lieu de formation principal.", "places")
    add(distance_problem(sv.modalite_enseignement, formation.structure), "modalite_enseignement")
    apprenticeship = is_apprenticeship(sv)
    if apprenticeship and any(not c.type_contact for c in sv.contacts.all()):
        add("le type de contact est obligatoire pour une session en apprentissage.", "contacts")
    if not sv.financements.all():
        add("ajoutez au moins un financement.", "financements")
    cycles = list(sv.cycles.all())
    if apprenticeship and not cycles:
        add(
            "les cycles de l'alternance sont obligatoires pour une session en apprentissage "
            "(une ligne par année accessible en apprentissage).",
            "cycles",
        )
    if version.duree_cycle and any(c.annee > version.duree_cycle for c in cycles):
        add(f"l'année cycle ne peut pas dépasser la durée cycle de la formation ({version.duree_cycle}).", "cycles")
    for blocs in sv.blocs.all():
        chosen = {b.pk for b in blocs.blocs.all()}
        if blocs.type_validation == "1" and chosen != {b.pk for b in blocs.certification.blocs.all()}:
            add("une validation totale comprend tous les blocs de la certification.", "blocs")
        if blocs.type_validation in ("0", "2") and not chosen:
            add("sélectionnez les blocs de compétences de la validation partielle.", "blocs")
    add(duration_problem(sv.duree_centre, sv.duree_entreprise), "duree_centre")
    slots = list(sv.recruitment_slots.all())
    if not any(s.modalite in lheo.FRANCE_TRAVAIL_RECRUITMENT_CODES for s in slots):
        add(
            "ajoutez au moins une de ces modalités de recrutement : « Réunion d'information collective », "
            "« Rendez-vous individuel » ou « Inscription sur candidature ».",
            "recruitment_slots",
        )
    for slot in slots:
        if slot.date and sv.date_fin and slot.date >= sv.date_fin:
            add(
                f"la plage de recrutement du {slot.date:%d/%m/%Y} doit commencer avant la fin de la session.",
                "recruitment_slots",
            )
    add(slot_overlap_problem(slots), "recruitment_slots")
    for field, message in stale_dates_problems(sv, slots):
        add(message, field)
    if sv.debut_inscription and sv.fin_inscription and sv.fin_inscription < sv.debut_inscription:
        add("la fin d'inscription doit suivre le début d'inscription.", "fin_inscription")
    return problems


# The session page's sections (their HTML id and title) and the fields each one holds.
SESSION_SECTIONS = [
    ("dates", "Dates de la session", {"date_debut", "date_fin"}),
    ("organisation", "Organisation de la session", {"trainers", "places", "contacts", "modalite_enseignement"}),
    ("financements", "Financements", {"financements"}),
    ("cycles", "Cycles de l'alternance", {"cycles"}),
    ("blocs", "Blocs de compétences", {"blocs"}),
    ("durees", "Durées de la session", {"duree_centre"}),
    ("modalites", "Modalités de la session", set()),
    ("inscription", "Organisation de l'inscription", {"recruitment_slots", "debut_inscription", "fin_inscription"}),
    ("logistique", "Logistique", set()),
]


def session_sections(sv, formation, version):
    """The status of each section of the session page (complete / to complete), computed
    with the very rules of « Soumettre pour validation »: ``(id, title, problems)``."""
    problems = session_problems(sv, formation, version)
    return [(section, title, [p for p in problems if p.field in fields]) for section, title, fields in SESSION_SECTIONS]

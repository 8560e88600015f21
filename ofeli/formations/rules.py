"""Rules on a whole formation version, checked before submission (G1).

Each function returns ``Problem`` rows; the same checks back the forms' own validation
where a rule concerns one field, so the messages are the same everywhere."""

from ofeli.core.problems import Problem
from ofeli.core.text import is_all_capitals

from .enums import ModaliteEnseignement

TEXT_LIMIT = 3000


def intitule_problem(intitule):
    if not intitule or not intitule.strip():
        return "L'intitulé de la formation est obligatoire."
    if is_all_capitals(intitule):
        return (
            "L'intitulé ne doit pas être écrit en majuscules : écrivez-le en minuscules accentuées, "
            "avec une majuscule au début."
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


def duration_problem(duree_centre, duree_entreprise):
    total = (duree_centre or 0) + (duree_entreprise or 0)
    if total <= 0:
        return "La durée totale est obligatoire et ne peut pas être zéro : indiquez la durée en centre et/ou en entreprise."
    return None


def distance_problem(modalite, structure):
    if modalite == ModaliteEnseignement.DISTANCE and not structure.nda_in_region:
        return (
            "Seuls les organismes déclarés auprès de la DREETS Centre-Val de Loire (numéro de déclaration "
            "commençant par 24) peuvent saisir une formation entièrement à distance."
        )
    return None


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
    sessions = list(version.sessions.select_related("session").prefetch_related("trainers", "places"))
    if not sessions:
        problems.append(Problem("Ajoutez au moins une session à la formation.", field="sessions"))
    for sv in sessions:
        problems.extend(session_problems(sv, formation))
    return problems


def session_problems(sv, formation):
    ref = sv.session.reference
    problems = []

    def add(message, field, section):
        if message:
            problems.append(Problem(f"Session {ref} : {message}", target=ref, field=field, section=section))

    add(dates_problem(sv.date_debut, sv.date_fin), "date_debut", "dates")
    trainers = list(sv.trainers.all())
    if not any(t.is_principal for t in trainers):
        add("choisissez l'organisme formateur principal.", "trainers", "organisation")
    places = list(sv.places.all())
    if not places:
        add("ajoutez au moins un lieu de formation.", "places", "organisation")
    elif not any(p.is_principal for p in places):
        add("choisissez le lieu de formation principal.", "places", "organisation")
    add(distance_problem(sv.modalite_enseignement, formation.structure), "modalite_enseignement", "organisation")
    add(duration_problem(sv.duree_centre, sv.duree_entreprise), "duree_centre", "durees")
    return problems

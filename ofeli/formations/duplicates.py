"""E1: formations of the organisme that the one being created may duplicate.

Titles are compared on their meaningful words, not on a character ratio: « Titre
professionnel secrétaire assistant » shares most of its letters with « Titre professionnel
comptable assistant » but not its trade. Generic words of certification titles (titre,
professionnel, diplôme...) and French stop words do not count; plurals are folded. The
certification weighs more than the title: the same certification is a likely duplicate,
two different certifications are two formations whatever their titles."""

import re
from dataclasses import dataclass

from django.db.models import Count, Max, Min, OuterRef, Subquery

from ofeli.core.text import normalize_search
from ofeli.workflow.enums import OPEN_STATUSES
from ofeli.workflow.models import ChangeRequest

from .models import Formation, FormationVersion
from .queries import STATE_LABELS, formation_state

STOP_WORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "d",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "ou",
        "par",
        "pour",
        "sans",
        "sous",
        "sur",
        "un",
        "une",
        "dans",
        "chez",
        "vers",
        "son",
        "sa",
        "ses",
        "ce",
        "cet",
        "cette",
        "ces",
        "qui",
        "que",
    ]
)
GENERIC_WORDS = frozenset(
    [
        "titre",
        "professionnel",
        "professionnelle",
        "professionnels",
        "formation",
        "formations",
        "diplome",
        "diplomes",
        "certificat",
        "certification",
        "certifiante",
        "qualification",
        "qualifiant",
        "qualifiante",
        "tp",
        "cqp",
        "ccp",
    ]
)
# Share of the meaningful words two titles must have in common (and at least two of them).
SAME_WORDS = 0.75


def meaningful_words(title):
    words = set()
    for word in re.split(r"[^0-9a-z]+", normalize_search(title)):
        if len(word) < 2 or word in STOP_WORDS or word in GENERIC_WORDS:
            continue
        if len(word) > 3 and word[-1] in "sx":
            word = word[:-1]  # entreprises / entreprise, travaux / travau
        words.add(word)
    return words


def similar_titles(a, b):
    wa, wb = meaningful_words(a), meaningful_words(b)
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    common = wa & wb
    return len(common) >= 2 and len(common) / len(wa | wb) >= SAME_WORDS


@dataclass
class Candidate:
    formation: Formation
    intitule: str
    certification: object
    state: str
    sessions: int
    first_date: object
    last_date: object
    reason: str


def duplicate_candidates(structure, intitule="", certification=None):
    """The formations of ``structure`` that look like the one being created, each with what
    a person needs to judge (title, certification, sessions, state), in a fixed number of
    queries."""
    versions = FormationVersion.objects.filter(formation__structure=structure).values_list(
        "formation_id", "intitule", "certification_id"
    )
    reasons = {}
    wanted = certification.pk if certification else None
    for formation_id, title, certification_id in versions.distinct():
        if wanted and certification_id == wanted:
            reasons[formation_id] = "même certification"
        elif wanted and certification_id and certification_id != wanted:
            continue  # two certifications, two formations
        elif formation_id not in reasons and intitule and similar_titles(intitule, title):
            reasons[formation_id] = "intitulé très proche"
    if not reasons:
        return []
    open_changes = ChangeRequest.objects.filter(formation=OuterRef("pk"), status__in=OPEN_STATUSES)
    formations = list(
        Formation.objects.filter(pk__in=reasons)
        .annotate(
            open_status=Subquery(open_changes.values("status")[:1]),
            open_version_id=Subquery(open_changes.values("formation_version_id")[:1]),
        )
        .order_by("reference")
    )
    current = {f.pk: f.open_version_id or f.live_version_id for f in formations}
    shown = {
        v.pk: v
        for v in FormationVersion.objects.filter(pk__in=[pk for pk in current.values() if pk])
        .select_related("certification")
        .annotate(n_sessions=Count("sessions"), first=Min("sessions__date_debut"), last=Max("sessions__date_fin"))
    }
    candidates = []
    for formation in formations:
        version = shown.get(current[formation.pk])
        if version is None:
            continue
        candidates.append(
            Candidate(
                formation=formation,
                intitule=version.intitule,
                certification=version.certification,
                state=STATE_LABELS[formation_state(formation, formation.open_status)],
                sessions=version.n_sessions,
                first_date=version.first,
                last_date=version.last,
                reason=reasons[formation.pk],
            )
        )
    return candidates

"""One status per session, computed from today's date (SPEC P1).

A session is never shown as open once one can no longer join it. The status is computed
when a page is shown, from the dates stored in the index (or read from the live version on
the formation page): the index never stores it, so it cannot go stale between two rebuilds.
``status_of`` (Python: cards, formation page, JSON-LD) and ``status_rank_expression`` (SQL:
sort) apply the same rules, in the same order:

1. « Terminée »: the end date is past.
2. Permanent entry or on-demand session: « Inscriptions closes » when the OF closed the
   recruitment of every financing row or the registration period ended, otherwise
   « Entrée permanente » (one joins at any time of the open period).
3. « En cours »: the start date is reached (a regular session cannot be joined any more).
4. « Inscriptions closes »: recruitment closed (fermé / suspendu on every financing row in
   « Diffusion ») or registration period ended.
5. « À venir »: the registration period has not begun yet.
6. « Inscriptions ouvertes »: within the registration period, or recruitment entered as
   « ouvert ».
7. « À venir » otherwise (future session, nothing said about registration).

« Can still apply » (Numéro CARIF hint, « recrutement ouvert », alerts): à venir,
inscriptions ouvertes, entrée permanente.
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When

# Recruitment summary of a session's financing rows in « Diffusion » (PublishedSession.recrutement).
RECRUTEMENT_OUVERT = "ouvert"
RECRUTEMENT_FERME = "ferme"
OPEN_RECRUITMENT_CODES = {"1"}  # dict-etat-recrutement: 1 ouvert, 2 fermé, 3 suspendu


@dataclass(frozen=True)
class Status:
    code: str
    label: str
    rank: int  # sort order: sessions one can join first
    joinable: bool
    badge: str  # DSFR badge modifier


OUVERTES = Status("ouvertes", "Inscriptions ouvertes", 0, True, "success")
PERMANENTE = Status("permanente", "Entrée permanente", 0, True, "success")
A_VENIR = Status("a-venir", "À venir", 1, True, "info")
CLOSES = Status("closes", "Inscriptions closes", 2, False, "warning")
EN_COURS = Status("en-cours", "En cours", 3, False, "new")
TERMINEE = Status("terminee", "Terminée", 4, False, "")
STATUSES = [OUVERTES, PERMANENTE, A_VENIR, CLOSES, EN_COURS, TERMINEE]
BY_CODE = {s.code: s for s in STATUSES}


def recrutement_of(etats):
    """Summary of the recruitment states (dict-etat-recrutement codes) of the financing rows
    in « Diffusion »: « ouvert » if one is open, « ferme » if all are closed, "" if none."""
    etats = list(etats)
    if not etats:
        return ""
    return RECRUTEMENT_OUVERT if any(e in OPEN_RECRUITMENT_CODES for e in etats) else RECRUTEMENT_FERME


def status_of(
    *,
    today,
    date_debut=None,
    date_fin=None,
    a_la_demande=False,
    entree_sortie_permanente=False,
    debut_inscription=None,
    fin_inscription=None,
    recrutement="",
):
    if date_fin is not None and date_fin < today:
        return TERMINEE
    closed = recrutement == RECRUTEMENT_FERME or (fin_inscription is not None and fin_inscription < today)
    if entree_sortie_permanente or a_la_demande:
        return CLOSES if closed else PERMANENTE
    if date_debut is not None and date_debut <= today:
        return EN_COURS
    if closed:
        return CLOSES
    if debut_inscription is not None and debut_inscription > today:
        return A_VENIR
    if debut_inscription is not None or fin_inscription is not None or recrutement == RECRUTEMENT_OUVERT:
        return OUVERTES
    return A_VENIR


def status_of_row(row, today):
    """Status of an indexed session (PublishedSession)."""
    return status_of(
        today=today,
        date_debut=row.date_debut,
        date_fin=row.date_fin,
        a_la_demande=row.a_la_demande,
        entree_sortie_permanente=row.entree_sortie_permanente,
        debut_inscription=row.debut_inscription,
        fin_inscription=row.fin_inscription,
        recrutement=row.recrutement,
    )


def status_of_version(sv, today):
    """Status of a live session version; its ``financements`` must hold only the rows in
    « Diffusion » (the formation page prefetches them so)."""
    return status_of(
        today=today,
        date_debut=sv.date_debut,
        date_fin=sv.date_fin,
        a_la_demande=sv.a_la_demande,
        entree_sortie_permanente=sv.entree_sortie_permanente,
        debut_inscription=sv.debut_inscription,
        fin_inscription=sv.fin_inscription,
        recrutement=recrutement_of(f.etat_recrutement for f in sv.financements.all()),
    )


def status_rank_expression(today):
    """The rank of ``status_of`` computed by the database on PublishedSession rows (same
    rules, same order), so that the sort agrees with what the cards say."""
    ended = Q(date_fin__lt=today)
    closed = Q(recrutement=RECRUTEMENT_FERME) | Q(fin_inscription__lt=today)
    permanent = Q(entree_sortie_permanente=True) | Q(a_la_demande=True)
    return Case(
        When(ended, then=Value(TERMINEE.rank)),
        When(permanent & closed, then=Value(CLOSES.rank)),
        When(permanent, then=Value(PERMANENTE.rank)),
        When(date_debut__lte=today, then=Value(EN_COURS.rank)),
        When(closed, then=Value(CLOSES.rank)),
        When(debut_inscription__gt=today, then=Value(A_VENIR.rank)),
        When(
            Q(debut_inscription__isnull=False) | Q(fin_inscription__isnull=False) | Q(recrutement=RECRUTEMENT_OUVERT),
            then=Value(OUVERTES.rank),
        ),
        default=Value(A_VENIR.rank),
        output_field=IntegerField(),
    )

"""Certification watch (Q1).

Each night (``watch_certifications``, run by ``nightly`` after the France Compétences file
dropped in ``CERTIFICATIONS_INBOX`` is imported), the published sessions that are not over
and whose formation's certification is inactive, or whose registration
(DATE_FIN_ENREGISTREMENT) ends before the session ends, get an open ``CertificationFlag``;
flags whose cause is gone are resolved. Where France Compétences names a successor fiche
(``Certification.replaced_by``, from the ANCIENNE / NOUVELLE links), the OF replaces it in
one click: a change request with the new certification and its blocs mapped where the bloc
numbers match, for the Carif's normal review.
"""

import re

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ofeli.exports.lheo import offer_sessions
from ofeli.formations.models import SessionBlocs
from ofeli.referentials.enums import CertificationState
from ofeli.referentials.models import BlocCompetences
from ofeli.workflow import services
from ofeli.workflow.services import WorkflowError

from .enums import FlagReason
from .models import CertificationFlag

MAX_SUCCESSORS = 5
TOTAL_VALIDATION = "1"  # dict-type-validation-blocs: « Totale »
_BLOC_NUMBER = re.compile(r"BC\s*0*(\d+)\s*$", re.IGNORECASE)


def current_problems(today=None):
    """{(session_id, certification_id, reason): formation_id} for the published offer today."""
    today = today or timezone.localdate()
    rows = (
        offer_sessions()
        .filter(formation_version__certification__isnull=False)
        .filter(Q(date_fin__isnull=True) | Q(date_fin__gte=today))
        .filter(
            Q(formation_version__certification__etat=CertificationState.INACTIVE)
            | Q(formation_version__certification__date_fin_enregistrement__lt=F("date_fin"))
        )
        .values_list(
            "session_id",
            "formation_version__formation_id",
            "formation_version__certification_id",
            "formation_version__certification__etat",
            "formation_version__certification__date_fin_enregistrement",
            "date_fin",
        )
    )
    problems = {}
    for session_id, formation_id, cert_id, etat, ends, date_fin in rows:
        for reason in reasons(etat, ends, date_fin):
            problems[(session_id, cert_id, reason)] = formation_id
    return problems


def reasons(etat, date_fin_enregistrement, date_fin):
    """Why a session ending on ``date_fin`` must check its certification (state ``etat``,
    registration ending on ``date_fin_enregistrement``): the nightly flags and the readiness
    panel (Q3) apply this same rule. A session ending on the last day of registration is fine."""
    found = []
    if etat == CertificationState.INACTIVE:
        found.append(FlagReason.INACTIVE.value)
    if date_fin_enregistrement and date_fin and date_fin_enregistrement < date_fin:
        found.append(FlagReason.ENDS_BEFORE.value)
    return found


@transaction.atomic
def watch(now=None):
    """Raise the new flags, resolve the old ones. Returns (raised, resolved)."""
    now = now or timezone.now()
    problems = current_problems(timezone.localdate(now))
    open_flags = {
        (f.session_id, f.certification_id, f.reason): f
        for f in CertificationFlag.objects.select_for_update().filter(resolved_at__isnull=True)
    }
    new = [
        CertificationFlag(
            session_id=key[0], certification_id=key[1], reason=key[2], formation_id=formation_id, flagged_at=now
        )
        for key, formation_id in problems.items()
        if key not in open_flags
    ]
    CertificationFlag.objects.bulk_create(new, batch_size=500)
    gone = [flag.pk for key, flag in open_flags.items() if key not in problems]
    CertificationFlag.objects.filter(pk__in=gone).update(resolved_at=now)
    return len(new), len(gone)


def open_flags(structure=None):
    qs = CertificationFlag.objects.filter(resolved_at__isnull=True)
    if structure is not None:
        qs = qs.filter(formation__structure=structure)
    return qs


def successor_of(certification):
    """The fiche that replaces ``certification`` (following the chain to its end), or None."""
    successor, seen = certification.replaced_by, {certification.pk}
    while successor is not None and successor.replaced_by_id and len(seen) < MAX_SUCCESSORS:
        if successor.replaced_by_id in seen:
            break
        seen.add(successor.pk)
        successor = successor.replaced_by
    return successor


def bloc_number(code):
    match = _BLOC_NUMBER.search(code or "")
    return int(match.group(1)) if match else None


def map_blocs(old_blocs, successor):
    """The successor's blocs with the same numbers as ``old_blocs`` (« …BC02 » → « …BC02 »);
    a total validation takes every bloc of the successor."""
    wanted = {bloc_number(b.code) for b in old_blocs} - {None}
    return [b for b in BlocCompetences.objects.filter(certification=successor) if bloc_number(b.code) in wanted]


class ReplacementError(Exception):
    pass


@transaction.atomic
def replace_certification(formation, user):
    """« Remplacer par RNCPxxxxx »: opens (or reuses) the formation's change request with the
    successor certification, its sessions' blocs mapped; returns the change request. The OF
    then submits it for the Carif's review as any other change."""
    version = formation.live_version
    if version is None or version.certification is None:
        raise ReplacementError("Cette formation n'a pas de certification publiée à remplacer.")
    old = version.certification
    successor = successor_of(old)
    if successor is None:
        raise ReplacementError("France Compétences n'indique pas de fiche qui remplace cette certification.")
    try:
        change = services.start_formation_change(formation, user)
        services.ensure_editable(change, user)
    except WorkflowError as error:
        raise ReplacementError(str(error)) from error
    draft = change.formation_version
    if draft.certification_id != old.pk:
        raise ReplacementError(
            "La demande de modification en cours a déjà changé la certification : vérifiez-la dans la formation."
        )
    draft.certification = successor
    draft.save(update_fields=["certification"])
    for row in SessionBlocs.objects.filter(
        session_version__formation_version=draft, certification=old
    ).prefetch_related("blocs"):
        if row.type_validation == TOTAL_VALIDATION:  # every bloc of the new fiche
            mapped = list(BlocCompetences.objects.filter(certification=successor))
        else:
            mapped = map_blocs(list(row.blocs.all()), successor)
        row.certification = successor
        row.save(update_fields=["certification"])
        row.blocs.set(mapped)
    services.save_draft(change, user, what=f"Certification remplacée par {label_of(successor)} (veille Q1)")
    return change


def label_of(certification):
    if certification.code_rncp:
        digits = "".join(ch for ch in certification.code_rncp if ch.isdigit())
        return f"RNCP{digits}"
    if certification.code_rs:
        digits = "".join(ch for ch in certification.code_rs if ch.isdigit())
        return f"RS{digits}"
    return certification.code_certifinfo

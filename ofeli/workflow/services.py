"""The change-request workflow (SPEC C1, E1, F1, F15, G1-G4).

Every state change goes through a function of this module, which checks the transition,
writes the history and notifies. Views only call these functions.

    (new formation)  create_formation ─┐
    (published)   start_*_change ──────┴─> DRAFT ──submit──> SUBMITTED ──accept──> ACCEPTED (published)
                                            ^  │                │  └──refuse──> REFUSED
                                            │  └─cancel─> CANCELLED
                                            └── NEEDS_INFO <────┘ request_info (OF corrects, resubmits)
"""

from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.utils import timezone

from ofeli.core.models import next_reference
from ofeli.formations.models import (
    Formation,
    FormationVersion,
    RecruitmentSlot,
    Session,
    SessionPlace,
    SessionTrainer,
    SessionVersion,
)
from ofeli.structures.models import Structure, StructureVersion
from ofeli.structures.places import trainer_lieu

from . import notifications, revisions, rules
from .enums import EDITABLE_STATUSES, OPEN_STATUSES, ChangeKind, ChangeStatus, HistoryAction
from .guards import PublishedVersionError
from .history import record
from .models import ChangeRequest, DraftRevision
from .signals import send_offer_changed
from .versions import copy_formation_version, copy_session_versions, copy_structure_version

# What a staff member reads after saving a correction of a request (G2).
CORRECTION_SAVED = (
    "Correction enregistrée : elle est inscrite à l'historique de la demande (« Correction par le Carif »)."
)


class WorkflowError(Exception):
    """A transition that is not allowed; the message is French and shown to the user."""


class StaleDraft(WorkflowError):
    """A save from a page loaded before someone else saved it (R1): ``conflict`` lists what
    changed meanwhile and carries the current token."""

    def __init__(self, conflict):
        self.conflict = conflict
        super().__init__(conflict.message)


class SubmissionBlocked(WorkflowError):
    def __init__(self, problems):
        self.problems = problems
        super().__init__("La demande ne peut pas être soumise : des informations manquent ou sont incorrectes.")


def open_change_request(*, formation=None, structure=None):
    qs = ChangeRequest.objects.filter(status__in=OPEN_STATUSES)
    if formation is not None:
        return qs.filter(formation=formation, kind=ChangeKind.FORMATION).first()
    return qs.filter(structure=structure, kind=ChangeKind.STRUCTURE).first()


# --- starting a change -------------------------------------------------------------


def certification_fields(certification):
    """E3: what a new formation takes from its certification (none without one)."""
    if certification is None:
        return {}
    return {
        "niveau_sortie": certification.niveau_sortie,
        "objectif": certification.objectif,
        "contenu": certification.contenu,
        "formacodes": certification.formacodes,
        "codes_rome": certification.codes_rome,
    }


@transaction.atomic
def create_formation(structure, user, *, intitule, certification=None, **fields):
    """A new formation (E2-E4): identity, first draft version, change request in DRAFT."""
    formation = Formation.objects.create(reference=next_reference("F"), structure=structure, created_by=user)
    version = FormationVersion.objects.create(
        formation=formation, intitule=intitule, certification=certification, created_by=user, **fields
    )
    change = ChangeRequest.objects.create(
        kind=ChangeKind.FORMATION,
        structure=structure,
        formation=formation,
        formation_version=version,
        created_by=user,
    )
    record(HistoryAction.CREATED, user, formation=formation, change_request=change)
    return change


@transaction.atomic
def start_formation_change(formation, user):
    """« Demande de modification » on a published formation; returns the open request if
    there is one already (one open request per object)."""
    existing = open_change_request(formation=formation)
    if existing:
        return existing
    if formation.live_version is None:
        raise WorkflowError("Cette formation n'a pas de version publiée à modifier.")
    draft = copy_formation_version(formation.live_version, user=user)
    try:
        with transaction.atomic():
            change = ChangeRequest.objects.create(
                kind=ChangeKind.FORMATION,
                structure=formation.structure,
                formation=formation,
                formation_version=draft,
                base_version_id=formation.live_version_id,
                created_by=user,
            )
    except IntegrityError:
        # Someone opened one at the same moment: use theirs.
        draft.delete()
        return open_change_request(formation=formation)
    record(HistoryAction.CHANGE_STARTED, user, formation=formation, change_request=change)
    return change


@transaction.atomic
def start_structure_change(structure, user):
    existing = open_change_request(structure=structure)
    if existing:
        return existing
    if structure.live_version is None:
        draft = StructureVersion.objects.create(structure=structure, created_by=user)
    else:
        draft = copy_structure_version(structure.live_version, user=user)
    try:
        with transaction.atomic():
            change = ChangeRequest.objects.create(
                kind=ChangeKind.STRUCTURE,
                structure=structure,
                structure_version=draft,
                base_version_id=structure.live_version_id,
                created_by=user,
            )
    except IntegrityError:
        draft.delete()
        return open_change_request(structure=structure)
    record(HistoryAction.CHANGE_STARTED, user, structure=structure, change_request=change)
    return change


def lock(change):
    """Locks the change request row until the end of the transaction (R2) and reloads it:
    every write to a draft and every decision goes through here, so they happen one after
    the other and each one sees the state the previous one left."""
    try:
        change.refresh_from_db(from_queryset=ChangeRequest.objects.select_for_update())
    except ChangeRequest.DoesNotExist:
        raise WorkflowError("Cette demande n'existe plus : elle a été supprimée.") from None
    return change


@contextmanager
def editing(change, user, scope, token):
    """One save of an editing page (R1, R2), used as ``with services.editing(...):`` around
    the form's save and the button's action, in one transaction:

    - the change request row is locked and its state checked again (a correction that
      arrives after the decision, a save after « Supprimer ma demande », are refused);
    - ``token`` (the page's revision, ``revisions.posted_token``) must be the current one,
      else ``StaleDraft`` tells what changed since the page was loaded; None (no token
      posted) skips this check only;
    - the page's content before the save is recorded as revision ``token``: the unique
      constraint on (change request, scope, number) lets one save only from each token.

    Yields the page's new token."""
    with transaction.atomic():
        lock(change)
        ensure_editable(change, user)
        current = revisions.current_token(change, scope)
        if token is not None and token != current:
            raise StaleDraft(revisions.conflict(change, scope, token, current))
        try:
            with transaction.atomic():
                DraftRevision.objects.create(
                    change_request=change,
                    scope=scope,
                    number=current,
                    snapshot=revisions.snapshot(change, scope),
                    author=user,
                )
        except IntegrityError:
            raise StaleDraft(revisions.conflict(change, scope, current, current + 1)) from None
        try:
            yield current + 1
        except PublishedVersionError as error:  # the model layer's last word (guards.py)
            raise WorkflowError(str(error)) from None


def ensure_editable(change, user=None):
    """The OF user edits a draft or a request sent back for more information; Carif staff
    may also correct a submitted request before accepting it (the correction is logged)."""
    editable = change.is_editable_by(user) if user is not None else change.status in EDITABLE_STATUSES
    if not editable:
        raise WorkflowError(f"Cette demande n'est plus modifiable : elle est « {change.get_status_display()} ».")


# --- sessions inside a formation change ---------------------------------------------


@transaction.atomic
def add_session(change, user, **fields):
    """A blank session whose organisme formateur (principal) is the organisme responsable
    and whose lieu (principal) is at the responsable's address, when it is complete (F3, F6)."""
    lock(change)
    ensure_editable(change, user)
    structure = change.formation.structure
    session = Session.objects.create(reference=next_reference("S"), formation=change.formation)
    version = SessionVersion.objects.create(formation_version=change.formation_version, session=session, **fields)
    SessionTrainer.objects.create(session_version=version, structure=structure, is_principal=True)
    lieu = trainer_lieu(structure, user, any_place=True)
    if lieu is not None:
        SessionPlace.objects.create(session_version=version, lieu=lieu, is_principal=True)
        if version.lieu_inscription_id is None:
            version.lieu_inscription = lieu
            version.save(update_fields=["lieu_inscription"])
    return version


@transaction.atomic
def duplicate_session(change, session_version, user, date_debut=None, date_fin=None):
    """« Dupliquer » (E6): every field of the session, under a new Numéro CARIF. Given the
    new session dates, every other date of the copy (registration period, dated recruitment
    slots) moves by the same offset as the start date, so that a session duplicated for the
    next year never publishes last year's dates (F2, F13)."""
    lock(change)
    ensure_editable(change, user)
    if session_version.formation_version_id != change.formation_version_id:
        raise WorkflowError("Cette session n'appartient pas à la demande en cours.")
    (copy,) = copy_session_versions([session_version], change.formation_version, new_identities=True)
    if date_debut is not None:
        offset = date_debut - session_version.date_debut if session_version.date_debut else None
        copy.date_debut = date_debut
        if date_fin is not None:
            copy.date_fin = date_fin
        elif copy.date_fin and offset is not None:
            copy.date_fin = copy.date_fin + offset
        for name in ("debut_inscription", "fin_inscription"):
            value = getattr(copy, name)
            # Without a start date to measure from, an old date is not kept: the user enters it.
            setattr(copy, name, value + offset if value and offset is not None else None)
        copy.save(update_fields=["date_debut", "date_fin", "debut_inscription", "fin_inscription"])
        slots = list(copy.recruitment_slots.exclude(date=None))
        for slot in slots:
            slot.date = slot.date + offset if offset is not None else None
        RecruitmentSlot.objects.bulk_update(slots, ["date"])
    return copy


@transaction.atomic
def remove_session(change, session_version, user=None):
    lock(change)
    ensure_editable(change, user)
    if session_version.formation_version_id != change.formation_version_id:
        raise WorkflowError("Cette session n'appartient pas à la demande en cours.")
    session = session_version.session
    session_version.delete()
    if not session.versions.exists():
        session.delete()  # never published: its reference is simply not used


# --- the OF user's actions ----------------------------------------------------------


@transaction.atomic
def save_draft(change, user, what=""):
    """« Sauvegarder le brouillon » (F15): the data is already saved by the forms; this
    records the moment and the author. A Carif correction of a submitted request is
    written in the history as « Correction par le Carif » (G2)."""
    lock(change)
    ensure_editable(change, user)
    now = timezone.now()
    ChangeRequest.objects.filter(pk=change.pk).update(updated_at=now)
    if user.is_carif:
        record(
            HistoryAction.STAFF_CORRECTION,
            user,
            structure=change.structure,
            formation=change.formation,
            change_request=change,
            details=what,
        )
    else:
        Structure.objects.filter(pk=change.structure_id).update(of_updated_at=now, of_updated_by=user)


@transaction.atomic
def submit(change, user):
    """« Soumettre pour validation » (G1). Raises SubmissionBlocked with the list of
    problems (each with a link to its field) when a rule is not met."""
    lock(change)
    ensure_editable(change)
    problems = rules.problems_of(change)
    if problems:
        raise SubmissionBlocked(problems)
    now = timezone.now()
    updated = ChangeRequest.objects.filter(pk=change.pk, status__in=EDITABLE_STATUSES).update(
        status=ChangeStatus.SUBMITTED, submitted_at=now, updated_at=now
    )
    if not updated:
        raise WorkflowError("Cette demande a déjà été soumise.")
    change.refresh_from_db()
    Structure.objects.filter(pk=change.structure_id).update(of_updated_at=now, of_updated_by=user)
    record(HistoryAction.SUBMITTED, user, structure=change.structure, formation=change.formation, change_request=change)
    return change


@transaction.atomic
def cancel(change, user):
    """« Supprimer ma demande » (C1): the draft is deleted; the published version is
    untouched. A formation that was never published disappears with its draft."""
    lock(change)
    ensure_editable(change)
    updated = ChangeRequest.objects.filter(pk=change.pk, status__in=EDITABLE_STATUSES).update(
        status=ChangeStatus.CANCELLED, updated_at=timezone.now()
    )
    if not updated:
        raise WorkflowError("Cette demande a déjà été traitée.")
    DraftRevision.objects.filter(change_request=change).delete()
    if change.kind == ChangeKind.FORMATION:
        formation = change.formation
        draft = change.formation_version
        ChangeRequest.objects.filter(pk=change.pk).update(formation_version=None)
        _delete_formation_draft(draft)
        if formation.live_version_id is None:
            formation.delete()
            return None
        record(HistoryAction.CANCELLED, user, formation=formation, change_request=change)
    else:
        draft = change.structure_version
        ChangeRequest.objects.filter(pk=change.pk).update(structure_version=None)
        if draft is not None:
            draft.delete()
        record(HistoryAction.CANCELLED, user, structure=change.structure, change_request=change)
    return change


def _delete_formation_draft(draft):
    if draft is None:
        return
    session_ids = list(draft.sessions.values_list("session_id", flat=True))
    draft.delete()
    # Sessions created in this draft and never published go with it.
    Session.objects.filter(pk__in=session_ids, versions__isnull=True).delete()


# --- the Carif's decisions ----------------------------------------------------------


def _decide(change, staff, new_status, action, comment):
    """One decision of the Carif on a submitted request: the conditional update lets a
    single decision through, then the history line and the notification (G2, G3)."""
    _require_carif(staff, "Seule l'équipe du Carif peut traiter une demande.")
    lock(change)
    if change.status != ChangeStatus.SUBMITTED:
        raise WorkflowError(
            f"Cette demande a déjà été traitée ou n'est pas en attente de validation : "
            f"elle est « {change.get_status_display()} »."
        )
    now = timezone.now()
    updated = ChangeRequest.objects.filter(pk=change.pk, status=ChangeStatus.SUBMITTED).update(
        status=new_status, decided_at=now, decided_by=staff, carif_comment=comment, updated_at=now
    )
    if not updated:
        raise WorkflowError("Cette demande a déjà été traitée ou n'est pas en attente de validation.")
    change.refresh_from_db()
    if new_status != ChangeStatus.NEEDS_INFO:
        DraftRevision.objects.filter(change_request=change).delete()
    if new_status == ChangeStatus.ACCEPTED:
        _publish(change, staff, now)
    record(
        action,
        staff,
        structure=change.structure,
        formation=change.formation,
        change_request=change,
        comment=comment,
    )
    notifications.decision(change)
    return change


def _publish(change, staff, now):
    if change.kind == ChangeKind.FORMATION:
        Formation.objects.filter(pk=change.formation_id).update(
            live_version=change.formation_version_id, published_at=now
        )
        send_offer_changed([change.formation_id])
    else:
        Structure.objects.filter(pk=change.structure_id).update(
            live_version=change.structure_version_id, admin_updated_at=now, admin_updated_by=staff
        )
        send_offer_changed(Formation.objects.filter(structure=change.structure_id).values_list("pk", flat=True))


def _require_carif(staff, message):
    if not staff.is_carif:
        raise WorkflowError(message)


def _require_comment(comment, message):
    if not comment.strip():
        raise WorkflowError(message)


@transaction.atomic
def accept(change, staff, comment=""):
    """Publish the draft atomically (G2). Two staff members accepting at once publish once."""
    return _decide(change, staff, ChangeStatus.ACCEPTED, HistoryAction.ACCEPTED, comment)


@transaction.atomic
def request_info(change, staff, comment):
    _require_comment(comment, "Indiquez au demandeur les compléments attendus.")
    return _decide(change, staff, ChangeStatus.NEEDS_INFO, HistoryAction.NEEDS_INFO, comment)


@transaction.atomic
def refuse(change, staff, comment):
    _require_comment(comment, "Indiquez le motif du refus.")
    return _decide(change, staff, ChangeStatus.REFUSED, HistoryAction.REFUSED, comment)


@transaction.atomic
def assign(change, staff):
    _require_carif(staff, "Seule l'équipe du Carif peut traiter une demande.")
    ChangeRequest.objects.filter(pk=change.pk).update(assigned_to=staff)
    change.assigned_to = staff


# --- archiving (G4) -------------------------------------------------------------------


@transaction.atomic
def set_formation_archived(formation, staff, archived):
    _require_carif(staff, "Seule l'équipe du Carif peut archiver ou réactiver.")
    formation.archived_at = timezone.now() if archived else None
    formation.save(update_fields=["archived_at"])
    record(HistoryAction.ARCHIVED if archived else HistoryAction.REACTIVATED, staff, formation=formation)
    send_offer_changed([formation.pk])


@transaction.atomic
def set_session_archived(session, staff, archived):
    _require_carif(staff, "Seule l'équipe du Carif peut archiver ou réactiver.")
    session.archived_at = timezone.now() if archived else None
    session.save(update_fields=["archived_at"])
    record(
        HistoryAction.ARCHIVED if archived else HistoryAction.REACTIVATED,
        staff,
        formation=session.formation,
        details=f"Session {session.reference}",
    )
    send_offer_changed([session.formation_id])

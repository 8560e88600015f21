"""A published version is never modified again (R2), enforced in the model layer.

A version accepted through a change request is what the Carif reviewed and published;
later changes go through a new « Demande de modification » (a new draft). ``pre_save``
receivers refuse to save such a version, one of its session versions, or a row of one of
those (trainer, place, contact, financement, cycle, blocs, équipement, recruitment slot),
whatever the caller: a view, a service or the shell. Versions never reviewed (imports,
demo data, the first version of a structure created from an account request) are not
concerned, and bulk queryset updates are left to data repairs and generators.
``allow_published_changes`` lifts the guard for a data repair or a test that sets up
published data directly; no view or service uses it."""

from contextlib import ContextDecorator
from contextvars import ContextVar

from django.db.models import Q
from django.db.models.signals import m2m_changed, pre_save

from ofeli.formations.models import SESSION_CHILD_MODELS, FormationVersion, SessionVersion
from ofeli.structures.models import StructureVersion

from .enums import ChangeStatus

PUBLISHED = Q(change_request__status=ChangeStatus.ACCEPTED)
_allowed = ContextVar("published_changes_allowed", default=False)


class allow_published_changes(ContextDecorator):  # noqa: N801 - used like a function
    """``with allow_published_changes():`` (or as a decorator) lifts the guard."""

    def __enter__(self):
        self._token = _allowed.set(True)
        return self

    def __exit__(self, *exc):
        _allowed.reset(self._token)
        return False


class PublishedVersionError(Exception):
    """A write to a version that was accepted and published."""

    def __init__(self, what):
        super().__init__(
            f"{what} a été acceptée et publiée : elle n'est plus modifiable. "
            "Ouvrez une « Demande de modification » pour la changer."
        )


def _formation_version_published(formation_version_id):
    return (
        not _allowed.get()
        and formation_version_id is not None
        and FormationVersion.objects.filter(PUBLISHED, pk=formation_version_id).exists()
    )


def guard_formation_version(sender, instance, raw=False, **kwargs):
    if not raw and instance.pk is not None and _formation_version_published(instance.pk):
        raise PublishedVersionError("Cette version de la formation")


def guard_session_version(sender, instance, raw=False, **kwargs):
    if not raw and _formation_version_published(instance.formation_version_id):
        raise PublishedVersionError("Cette version de la session")


def guard_session_row(sender, instance, raw=False, **kwargs):
    if raw or instance.session_version_id is None or _allowed.get():
        return
    if FormationVersion.objects.filter(PUBLISHED, sessions=instance.session_version_id).exists():
        raise PublishedVersionError("Cette version de la session")


def guard_structure_version(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or _allowed.get():
        return
    if StructureVersion.objects.filter(PUBLISHED, pk=instance.pk).exists():
        raise PublishedVersionError("Cette version de la fiche organisme")


def guard_structure_labels(sender, instance, action, reverse, **kwargs):
    if action in ("pre_add", "pre_remove", "pre_clear") and not reverse:
        guard_structure_version(sender, instance)


def connect():
    pre_save.connect(guard_formation_version, sender=FormationVersion, dispatch_uid="r2_formation_version")
    pre_save.connect(guard_session_version, sender=SessionVersion, dispatch_uid="r2_session_version")
    pre_save.connect(guard_structure_version, sender=StructureVersion, dispatch_uid="r2_structure_version")
    m2m_changed.connect(
        guard_structure_labels, sender=StructureVersion.labels.through, dispatch_uid="r2_structure_labels"
    )
    for model in SESSION_CHILD_MODELS:
        pre_save.connect(guard_session_row, sender=model, dispatch_uid=f"r2_{model.__name__}")

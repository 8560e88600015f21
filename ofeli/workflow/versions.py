"""Deep copies of versions, in a fixed number of queries whatever their size.

``copy_formation_version`` starts a change request from the published version;
``copy_session_versions`` also serves « Dupliquer » (E6), which gives the copies new
session identities (new Numéro CARIF)."""

from django.db import transaction

from ofeli.core.models import allocate_references
from ofeli.formations.models import (
    SESSION_CHILD_MODELS,
    FormationVersion,
    Session,
    SessionBlocs,
    SessionVersion,
)
from ofeli.structures.models import StructureVersion


def _field_values(instance, exclude=()):
    """Concrete field values of a row, without its primary key."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.name in exclude:
            continue
        values[field.attname] = getattr(instance, field.attname)
    return values


@transaction.atomic
def copy_structure_version(source, *, user):
    new = StructureVersion.objects.create(
        **_field_values(source, exclude={"created_at", "created_by"}), created_by=user
    )
    new.labels.set(source.labels.all())
    return new


@transaction.atomic
def copy_formation_version(source, *, user):
    new = FormationVersion.objects.create(
        **_field_values(source, exclude={"created_at", "created_by"}), created_by=user
    )
    copy_session_versions(list(source.sessions.all()), new)
    return new


@transaction.atomic
def copy_session_versions(sources, target, *, new_identities=False):
    """Copy session versions (with every child row) into formation version ``target``.
    With ``new_identities`` each copy becomes a new session with a new Numéro CARIF.
    Returns the new SessionVersion rows, in the order of ``sources``."""
    if not sources:
        return []
    if new_identities:
        references = allocate_references("S", len(sources))
        sessions = Session.objects.bulk_create(
            [Session(reference=ref, formation_id=target.formation_id) for ref in references]
        )
    else:
        sessions = [None] * len(sources)
    copies = []
    for source, session in zip(sources, sessions, strict=True):
        copy = SessionVersion(**_field_values(source, exclude={"formation_version"}), formation_version=target)
        if session is not None:
            copy.session = session
        copies.append(copy)
    copies = SessionVersion.objects.bulk_create(copies)
    id_map = {source.pk: copy.pk for source, copy in zip(sources, copies, strict=True)}
    for model in SESSION_CHILD_MODELS:
        rows = list(model.objects.filter(session_version_id__in=id_map))
        if not rows:
            continue
        new_rows = []
        for row in rows:
            values = _field_values(row, exclude={"session_version"})
            new_rows.append(model(**values, session_version_id=id_map[row.session_version_id]))
        created = model.objects.bulk_create(new_rows)
        if model is SessionBlocs:
            through = SessionBlocs.blocs.through
            old_links = through.objects.filter(sessionblocs_id__in=[r.pk for r in rows])
            by_old = {}
            for link in old_links:
                by_old.setdefault(link.sessionblocs_id, []).append(link.bloccompetences_id)
            through.objects.bulk_create(
                [
                    through(sessionblocs_id=new.pk, bloccompetences_id=bloc_id)
                    for old, new in zip(rows, created, strict=True)
                    for bloc_id in by_old.get(old.pk, [])
                ]
            )
    return copies

"""Every row of every table, to prove that a forged request wrote nothing it should not."""

from django.apps import apps

from ofeli.structures.models import Structure


def snapshot():
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        rows[model] = {row["pk"]: row for row in model._default_manager.values("pk", *_columns(model))}
    return rows


def _columns(model):
    return [field.attname for field in model._meta.concrete_fields if not field.primary_key]


def changes(before, after):
    """(model, pk, old row or None, new row or None) for every row added, removed or changed."""
    found = []
    for model, rows in after.items():
        old = before.get(model, {})
        for pk in old.keys() | rows.keys():
            if old.get(pk) != rows.get(pk):
                found.append((model, pk, old.get(pk), rows.get(pk)))
    return found


def _session_owner(session_version_id):
    from ofeli.formations.models import SessionVersion

    return (
        SessionVersion.objects.filter(pk=session_version_id)
        .values_list("formation_version__formation__structure_id", flat=True)
        .first()
    )


def touching(found, structure):
    """The changed rows that belong to ``structure``: its own row, a row of a session of one
    of its formations, or any other row pointing to it (its places, contacts, documents,
    history, versions, formations...). A row of another structure's session that names it
    (as organisme formateur) belongs to that session, not to it."""
    from ofeli.formations.models import SessionVersion

    hits = []
    for model, pk, old, new in found:
        if model is Structure and pk == structure.pk:
            hits.append((model, pk, old, new))
            continue
        session_links = [
            f.attname for f in model._meta.concrete_fields if f.is_relation and f.related_model is SessionVersion
        ]
        if session_links:
            owners = {_session_owner(row[name]) for row in (old, new) if row for name in session_links}
            if structure.pk in owners:
                hits.append((model, pk, old, new))
            continue
        links = [f.attname for f in model._meta.concrete_fields if f.is_relation and f.related_model is Structure]
        for row in (old, new):
            if row and any(row[name] == structure.pk for name in links):
                hits.append((model, pk, old, new))
                break
    return hits

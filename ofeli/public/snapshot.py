"""The search page without criteria, pre-aggregated (S3).

Without any criterion the search matches every session not finished: hundreds of thousands
on a national instance, whose facet counts and order of formations would be an aggregate
over the whole index on every visit. They depend only on the index and on the day (the
sessions finished and the registration status move with it), so they are computed once:

- ``SearchSnapshot``: for (day, generation of the index), the number of sessions and the
  count of every facet option (summed from the same ``GROUP BY facets`` as search.py's, a
  national index has thousands of keys) and the number of formations;
- ``SnapshotFormation``: the formations in the page's order (best registration status of
  their sessions, then their first start, then id: the same order as ``_formation_page``)
  with their number of sessions, so that page n is an index range.

Every rebuild of the index (indexing.py, on publication) increases ``IndexState.generation``
in its own transaction and deletes the snapshots: a snapshot is read only when its
generation is the current one, so the counts are always those of the current index. After
the rebuild commits, the task worker computes the new one (``tasks.py``); when no worker
has done it yet, the first search without criteria does (two aggregate queries).
"""

import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import IndexState, PublishedSession, SearchSnapshot, SnapshotFormation
from .status import status_rank_expression

logger = logging.getLogger(__name__)


def current_generation():
    state = IndexState.objects.filter(pk=1).values_list("generation", flat=True).first()
    return state or 0


def changed():
    """Called by every rebuild, inside its transaction: the snapshots are stale. Once the
    rebuild is committed the task worker computes the new one (``tasks.py``); if it cannot
    be asked, the next search without criteria computes it."""
    updated = IndexState.objects.filter(pk=1).update(generation=F("generation") + 1)
    if not updated:
        IndexState.objects.create(pk=1, generation=1)
    SnapshotFormation.objects.all().delete()
    SearchSnapshot.objects.all().delete()
    transaction.on_commit(enqueue, robust=True)


def enqueue():
    from .tasks import compute_search_snapshot

    try:
        compute_search_snapshot.enqueue()
    except Exception:  # noqa: BLE001 - the next search without criteria computes it
        logger.exception("Page sans critère : calcul en tâche de fond impossible, fait à la prochaine recherche")


def matching(today):
    return PublishedSession.objects.filter(Q(date_fin__gte=today) | Q(date_fin__isnull=True))


def read(today):
    """The current snapshot of ``today`` (one query), or None."""
    # An index never rebuilt has no IndexState row: its generation is 0, as current_generation() says.
    generation = Coalesce(Subquery(IndexState.objects.filter(pk=1).values("generation")[:1]), Value(0))
    return SearchSnapshot.objects.filter(day=today, generation=generation).only("tallies", "formations").first()


def get(today):
    """The snapshot of ``today``, computed when missing."""
    return read(today) or compute(today)


def compute(today):
    generation = current_generation()  # read first: rows changed after it make it stale, never wrong
    qs = matching(today)
    try:
        with transaction.atomic():
            SearchSnapshot.objects.exclude(day=today, generation=generation).delete()
            tallies = counts(qs.values("facets").annotate(n=Count("pk")).order_by().values_list("facets", "n"))
            snapshot = SearchSnapshot.objects.create(day=today, generation=generation, tallies=tallies)
            grouped = (
                qs.values("formation_id")
                .annotate(n=Count("pk"), best_status=Min(status_rank_expression(today)), first_start=Min("date_debut"))
                .order_by()
            )
            sql, params = grouped.query.sql_with_params()
            table = connection.ops.quote_name(SnapshotFormation._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (snapshot_id, position, formation_id, sessions) "
                    "SELECT %s, ROW_NUMBER() OVER (ORDER BY g.best_status, g.first_start IS NULL, g.first_start, "
                    f"g.formation_id), g.formation_id, g.n FROM ({sql}) g",
                    [snapshot.pk, *params],
                )
                snapshot.formations = cursor.rowcount
            snapshot.save(update_fields=["formations"])
    except IntegrityError:  # computed at the same time by another request: read it
        return read(today)  # None (the index changed meanwhile): the search counts from the index
    return snapshot


def counts(rows):
    """{"total": sessions, group: {option: sessions}} from (facet key, sessions) rows: with no
    option chosen every session counts in the total and for each of its options."""
    from .search import facet_values

    tallies = {"total": 0}
    for key, n in rows:
        tallies["total"] += n
        for name, values in facet_values(key).items():
            group = tallies.setdefault(name, {})
            for value in values:
                group[value] = group.get(value, 0) + n
    return tallies


def page(snapshot, start, size):
    """[(formation id, number of sessions)] of positions start+1 … start+size."""
    return list(
        SnapshotFormation.objects.filter(snapshot=snapshot, position__gt=start, position__lte=start + size)
        .order_by("position")
        .values_list("formation_id", "sessions")
    )

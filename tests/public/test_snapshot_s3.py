"""S3: the search page without criteria is read from a pre-aggregated snapshot of the index
(snapshot.py) that gives exactly the counts and the order of the aggregate it replaces, in a
fixed number of queries, and is never read once the index has changed; the facet key holds
every département of a national instance."""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse

from ofeli.core.regions import REGION_OF_DEPARTEMENT
from ofeli.public import facets, snapshot
from ofeli.public.indexing import rebuild
from ofeli.public.models import IndexState, PublishedSession, SearchSnapshot, SnapshotFormation
from ofeli.public.search import SearchForm, search

from .conftest import CHATEAUROUX, TODAY, north_of

pytestmark = pytest.mark.django_db
RENNES = (48.1113, -1.68)


def run(**params):
    form = SearchForm(params)
    assert form.is_valid(), form.errors
    return search(form.cleaned_data)


def summary(results):
    return {
        "total": results.total,
        "count": results.count,
        "num_pages": results.num_pages,
        "page": results.page,
        "facets": {f.name: {o.value: o.count for o in f.options} for f in results.facets},
        "groups": [(g.formation.reference, g.count, [r.numero_carif for r in g.sessions]) for g in results.groups],
    }


def varied_offer(offer, count=25):
    """Formations whose sessions differ in status, dates, financing, modality and place."""
    for i in range(count):
        sessions = [
            {
                "debut": TODAY + datetime.timedelta(days=(i * 7) % 90 - 20),
                "fin": TODAY + datetime.timedelta(days=200 + i),
                "financements": [("CPR02",), ("AFC01",), ("AOP02", "PRF01")][i % 3],
                "modalite": "2" if i % 5 == 0 else "0",
                "point": north_of(CHATEAUROUX, i),
            }
            for _ in range(1 + i % 3)
        ]
        if i % 4 == 0:
            sessions.append({"debut": TODAY - datetime.timedelta(days=300), "fin": TODAY - datetime.timedelta(days=5)})
        offer.formation(f"Formation {i:02d}", sessions=sessions, niveau_sortie=["", "13", "14"][i % 3])


def test_s3_page_without_criteria_from_the_snapshot_is_the_aggregate_it_replaces(offer, monkeypatch):
    varied_offer(offer)
    from_snapshot = [summary(run(page=str(page))) for page in (1, 2, 9)]
    assert SearchSnapshot.objects.count() == 1
    assert SnapshotFormation.objects.count() == from_snapshot[0]["count"] == 25
    monkeypatch.setattr(snapshot, "get", lambda today: None)  # the aggregate over the index
    assert [summary(run(page=str(page))) for page in (1, 2, 9)] == from_snapshot
    assert from_snapshot[0]["total"] == sum(1 + i % 3 for i in range(25))  # finished sessions left out
    assert from_snapshot[2]["page"] == 2  # past the last page: the last one


def test_s3_page_without_criteria_costs_a_fixed_number_of_queries(offer, client, django_assert_num_queries):
    varied_offer(offer, 12)
    url = reverse("public:search")
    client.get(url)  # computes the day's snapshot, warms the cached list of main towns
    # The snapshot (counts, number of formations), the page's formations, their first sessions.
    for page in ("1", "2"):
        with django_assert_num_queries(3):
            response = client.get(url, {"page": page})
        assert response.status_code == 200
    varied_offer(offer, 30)
    client.get(url)
    with django_assert_num_queries(3):
        client.get(url, {"tri": "date"})


def test_s3_a_publication_makes_the_snapshot_stale_and_the_counts_follow(offer):
    varied_offer(offer, 5)
    before = run()
    generation = IndexState.objects.get().generation
    offer.formation("Soudure à l'arc", sessions=[{"financements": ("AFC01",)}, {"modalite": "2"}])
    assert IndexState.objects.get().generation == generation + 1
    assert not SearchSnapshot.objects.exists()  # deleted in the rebuild's transaction
    after = run()
    assert after.total == before.total + 2 and after.count == before.count + 1
    fin = {o.value: o.count for o in next(f for f in after.facets if f.name == "fin").options}
    assert (
        fin["france_travail"]
        == {o.value: o.count for o in next(f for f in before.facets if f.name == "fin").options}["france_travail"] + 1
    )


def test_s3_a_snapshot_of_another_generation_or_day_is_never_read(offer):
    varied_offer(offer, 3)
    run()
    assert snapshot.read(TODAY) is not None
    IndexState.objects.update(generation=IndexState.objects.get().generation + 1)  # a rebuild committed since
    assert snapshot.read(TODAY) is None
    assert snapshot.read(TODAY + datetime.timedelta(days=1)) is None
    assert run().total == 3 + 1 + 2  # computed again
    assert SearchSnapshot.objects.count() == 1  # the stale one was replaced


def test_s3_criteria_never_use_the_snapshot(offer, monkeypatch):
    varied_offer(offer, 4)
    calls = []
    monkeypatch.setattr(snapshot, "get", lambda today: calls.append(today))
    run(q="formation")
    run(fin=["cpf"])
    run(dpt=["36"])
    run(vue="sessions")
    run(debut_min=TODAY.isoformat())
    assert calls == []
    run(tri="distance", page="2")  # no criterion: sort and page only
    assert calls == [TODAY]


def test_s3_facet_key_holds_every_departement_of_a_national_instance():
    assert len(facets.DEPARTEMENTS) == 101
    for departement in REGION_OF_DEPARTEMENT:
        for kinds in (set(), set(facets.KINDS)):
            key = facets.encode(departement, "2", "18", "rs", kinds)
            row = facets.decode(key)
            assert row["departement"] == departement and row["modalite"] == "2"
            assert row["niveau"] == "18" and row["certification_type"] == "rs"
            assert all(value == bool(kinds) for name, value in row.items() if name.startswith("fin_"))
    assert facets.decode(facets.encode("", "0", "", "", set()))["departement"] == ""


def test_s3_national_instance_counts_the_departements_of_every_region(offer, settings):
    from tests.prod.test_region import switch_region

    switch_region(settings, "FR")
    offer.formation(
        "Cuisine", sessions=[{"point": RENNES, "ville": "Rennes", "code_postal": "35000", "code_insee": "35238"}]
    )
    offer.formation("Cuisine", sessions=[{}])
    rebuild()
    assert run().total == 2 and run(lieu="Rennes (35000)").total == 1
    keys = dict(PublishedSession.objects.values_list("code_postal", "facets"))
    assert facets.decode(keys["35000"])["departement"] == "35"
    assert facets.decode(keys["36000"])["departement"] == "36"


def test_s3_an_index_never_rebuilt_reads_its_snapshot_again_instead_of_failing(client):
    """No IndexState row yet (generation 0): the second visit reads the first visit's
    snapshot; it used to miss it, hit the unique constraint and answer 500 (K1 sweep)."""
    IndexState.objects.all().delete()
    SearchSnapshot.objects.all().delete()
    assert client.get(reverse("public:search")).status_code == 200
    assert SearchSnapshot.objects.count() == 1
    assert snapshot.read(TODAY) is not None or snapshot.read(datetime.date.today()) is not None
    assert client.get(reverse("public:search")).status_code == 200
    assert SearchSnapshot.objects.count() == 1


def test_s3_after_a_rebuild_the_task_worker_computes_the_snapshot(offer, django_capture_on_commit_callbacks):
    """No visitor waits for the snapshot after a publication: the rebuild's commit asks the
    task worker (immediate backend in tests) to compute it."""
    varied_offer(offer, 3)
    with django_capture_on_commit_callbacks(execute=True):
        offer.formation("Plomberie", sessions=[{}, {}])
    computed = snapshot.read(TODAY)
    assert computed is not None and computed.tallies["total"] == 3 + 1 + 2 + 2
    assert computed.generation == IndexState.objects.get().generation


def test_s3_a_task_that_cannot_be_enqueued_leaves_the_search_working(offer, monkeypatch, caplog):
    from ofeli.public import tasks

    def refuse():
        raise RuntimeError("no task backend")

    monkeypatch.setattr(tasks, "compute_search_snapshot", SimpleNamespace(enqueue=refuse))
    snapshot.enqueue()
    assert "calcul en tâche de fond impossible" in caplog.text
    varied_offer(offer, 2)
    assert run().total == 3

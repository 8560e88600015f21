"""H1 public search on a crafted offer: words (stemming, accents), place and distance,
dates, every filter and their combination, facet counts, sort, pages, what never shows."""

import datetime
import re

import pytest
from django.urls import reverse

from ofeli.formations.models import Financement, Formation, SessionVersion
from ofeli.public.indexing import rebuild
from ofeli.public.models import PublishedSession
from ofeli.public.search import SearchForm, haversine_km, search
from ofeli.referentials.models import StructureState
from tests.factories import StaffFactory, StructureFactory, published_formation

from .conftest import CHATEAUROUX, TODAY, north_of

pytestmark = pytest.mark.django_db


def run(**params):
    params.setdefault("vue", "sessions")  # one row per session (the page groups by formation)
    form = SearchForm(params)
    form.is_valid()
    return search(form.cleaned_data)


def refs(**params):
    return sorted(r.numero_carif for r in run(**params).rows)


def titles(**params):
    return sorted({r.formation.intitule for r in run(**params).rows})


def counts(results, name):
    facet = next(f for f in results.facets if f.name == name)
    return {o.value: o.count for o in facet.options}


def test_h1_words_french_stemming_and_accents(offer):
    offer.formation("Boucherie et charcuterie : les bases")
    offer.formation("Électricité du bâtiment")
    offer.formation("Anglais professionnel")
    assert titles(q="boucher") == ["Boucherie et charcuterie : les bases"]
    assert titles(q="bouchers") == ["Boucherie et charcuterie : les bases"]
    assert titles(q="electricite") == ["Électricité du bâtiment"]
    assert titles(q="ÉLECTRICITÉ") == ["Électricité du bâtiment"]
    assert titles(q="electricite batiment") == ["Électricité du bâtiment"]
    assert titles(q="electricite anglais") == []  # every word must match
    assert titles(q="plomberie") == []


def test_h1_words_search_objectives_content_certification_and_organisme(offer, rncp_cert):
    organisme = StructureFactory(nom="Institut des métiers de la viande")
    offer.formation("Formation A", objectif="Maîtriser la découpe de la volaille.")
    offer.formation("Formation B", contenu="Hygiène alimentaire et traçabilité.")
    offer.formation("Formation C", certification=rncp_cert)
    offer.formation("Formation D", structure=organisme)
    assert titles(q="volailles") == ["Formation A"]
    assert titles(q="hygiene") == ["Formation B"]
    assert titles(q="cap boucher") == ["Formation C"]
    assert titles(q="RNCP12345") == ["Formation C"]
    assert titles(q="viande") == ["Formation D"]


def test_h1_numero_carif_finds_its_session(offer):
    formation = offer.formation("Soudure TIG", sessions=[{}, {}])
    first = formation.live_version.sessions.order_by("pk").first().session.reference
    assert refs(q=first) == [first]


def test_h1_title_matches_rank_first(offer):
    offer.formation("Comptabilité générale")
    offer.formation("Paie et gestion", objectif="Notions de comptabilité utiles à la paie.")
    results = run(q="comptabilite")
    assert [r.formation.intitule for r in results.rows] == ["Comptabilité générale", "Paie et gestion"]
    assert results.sort == "pertinence"


def test_h1_distance_boundaries_from_the_town(offer):
    near = offer.formation("Près", sessions=[{"point": north_of(CHATEAUROUX, 29.5)}])
    far = offer.formation("Loin", sessions=[{"point": north_of(CHATEAUROUX, 30.5)}])
    offer.formation("À 4 km", sessions=[{"point": north_of(CHATEAUROUX, 4)}])
    assert titles(lieu="Châteauroux (36000)", rayon="30") == sorted(["Près", "À 4 km"])
    assert titles(lieu="Châteauroux (36000)", rayon="5") == ["À 4 km"]
    assert titles(lieu="Châteauroux (36000)", rayon="50") == sorted(["Près", "Loin", "À 4 km"])
    # Sorted by distance by default when a place is given, with the distance shown.
    results = run(lieu="chateauroux", rayon="100")
    assert [r.formation.intitule for r in results.rows] == ["À 4 km", "Près", "Loin"]
    assert results.rows[1].distance_km == pytest.approx(29.5, abs=0.05)
    assert near.pk != far.pk
    assert haversine_km(*CHATEAUROUX, *north_of(CHATEAUROUX, 30.5)) == pytest.approx(30.5, abs=0.01)


def test_h1_place_by_postcode_name_and_ambiguous_or_unknown_town(offer):
    offer.formation("Près", sessions=[{"point": north_of(CHATEAUROUX, 2)}])
    assert titles(lieu="36000", rayon="5") == ["Près"]
    assert titles(lieu="CHATEAUROUX", rayon="5") == ["Près"]
    ambiguous = run(lieu="saint-a")
    assert ambiguous.place.commune is None and ambiguous.place.candidates and ambiguous.rows == []
    unknown = run(lieu="Paris")
    assert unknown.place.error.startswith("Commune inconnue") and unknown.total == 0


def test_h1_start_dates_with_permanent_and_on_demand_sessions(offer):
    d = TODAY
    offer.formation(
        "Dates",
        sessions=[
            {"debut": d + datetime.timedelta(days=10), "fin": d + datetime.timedelta(days=40)},
            {"debut": d + datetime.timedelta(days=100), "fin": d + datetime.timedelta(days=140)},
            {
                "debut": datetime.date(d.year, 1, 1),
                "fin": datetime.date(d.year + 1, 1, 31),
                "entree_sortie_permanente": True,
            },
            {"debut": d + datetime.timedelta(days=200), "fin": d + datetime.timedelta(days=560), "a_la_demande": True},
            {"debut": d - datetime.timedelta(days=100), "fin": d - datetime.timedelta(days=1)},  # finished
        ],
    )
    assert PublishedSession.objects.count() == 4  # a finished session is not indexed
    assert len(refs()) == 4
    low = (d + datetime.timedelta(days=50)).isoformat()
    high = (d + datetime.timedelta(days=150)).isoformat()
    found = run(debut_min=low, debut_max=high).rows
    starts = sorted(r.date_debut for r in found)
    # The regular session starting in the period, the permanent one open during it.
    assert starts == [datetime.date(d.year, 1, 1), d + datetime.timedelta(days=100)]
    # On demand from day 200: in a period reaching it, not before.
    assert len(run(debut_min=(d + datetime.timedelta(days=300)).isoformat()).rows) == 1
    assert run(debut_min=(d + datetime.timedelta(days=300)).isoformat()).rows[0].a_la_demande


def test_h1_each_filter_facet_counts_and_combination(offer, rncp_cert, rs_cert):
    offer.formation(
        "Boucher",
        certification=rncp_cert,
        niveau_sortie="13",
        sessions=[
            {"financements": ["AOP02"]},
            {"financements": ["AOP03"], "point": (47.39484, 0.70398), "ville": "Tours", "code_postal": "37000",
             "code_insee": "37261"},
        ],
    )  # fmt: skip
    offer.formation(
        "Habilitation",
        certification=rs_cert,
        sessions=[{"financements": ["CPR02"], "modalite": "1"}, {"financements": ["AFC01"], "modalite": "2"}],
    )
    offer.formation("Anglais", sessions=[{"financements": ["PRF01", "CPR02"]}, {"financements": ["SCO01"]}])
    everything = run()
    assert everything.total == 6
    fin = counts(everything, "fin")
    assert fin == {
        "france_travail": 1,
        "region": 1,
        "cpf": 0,  # never inferred (P1): CPR02 on a certifying formation is not a CPF financing
        "apprentissage": 1,
        "professionnalisation": 1,
        "individuel": 2,
        "scolaire": 1,
    }
    assert counts(everything, "dpt")["36"] == 5 and counts(everything, "dpt")["37"] == 1
    assert counts(everything, "certif") == {"rncp": 2, "rs": 2, "aucune": 2}
    assert counts(everything, "niveau")["13"] == 2 and counts(everything, "niveau")["1"] == 2
    assert counts(everything, "modalite") == {"0": 4, "1": 1, "2": 1}

    assert titles(fin=["apprentissage"]) == ["Boucher"]
    assert titles(fin=["france_travail"]) == ["Habilitation"]
    assert titles(fin=["region"]) == ["Anglais"]
    assert titles(fin=["cpf"]) == []
    assert titles(dpt=["37"]) == ["Boucher"]
    assert titles(certif=["aucune"]) == ["Anglais"]
    assert titles(code="RS5062") == ["Habilitation"]
    assert titles(code="rncp 12345") == ["Boucher"]
    assert titles(code="12345") == ["Boucher"]
    assert titles(niveau=["13"]) == ["Boucher"]
    assert titles(modalite=["2"]) == ["Habilitation"]
    assert len(refs(modalite=["1", "2"])) == 2  # options of one group: any of them

    # Combination: groups combine with AND; a group's own counts ignore its own choices.
    combined = run(fin=["individuel", "apprentissage"], dpt=["36"])
    assert sorted(r.formation.intitule for r in combined.rows) == ["Anglais", "Boucher", "Habilitation"]
    assert counts(combined, "fin")["professionnalisation"] == 0  # that session is in Tours (37)
    assert counts(combined, "fin")["france_travail"] == 1  # would be added by ticking it
    assert counts(combined, "dpt")["37"] == 0  # the Tours session is financed AOP03 only
    assert titles(q="boucher", fin=["apprentissage"], lieu="Châteauroux (36000)", rayon="10") == ["Boucher"]
    assert titles(q="boucher", fin=["professionnalisation"], lieu="Châteauroux (36000)", rayon="10") == []


def test_h1_only_diffusion_financing_rows_count(offer):
    formation = offer.formation("Archivé", sessions=[{"financements": ["AFC01"]}])
    Financement.objects.filter(session_version__formation_version=formation.live_version).update(etat="AR")
    rebuild([formation.pk])
    assert titles(fin=["france_travail"]) == []


def test_h1_sort_by_date_and_pages_with_a_fixed_number_of_queries(offer, client, django_assert_num_queries):
    offer.formation(
        "Session",
        sessions=[{"debut": TODAY + datetime.timedelta(days=i), "fin": TODAY + datetime.timedelta(days=300)} for i in range(45)],
    )  # fmt: skip
    first = run(tri="date")
    assert first.total == 45 and first.num_pages == 3 and len(first.rows) == 20
    # The session starting today is « en cours » (P1): after those one can still join.
    assert [r.date_debut for r in first.rows] == [TODAY + datetime.timedelta(days=i) for i in range(1, 21)]
    last = run(tri="date", page="3")
    assert len(last.rows) == 5 and last.rows[-1].date_debut == TODAY
    assert run(page="99").page == 3  # out of range: the last page
    url = reverse("public:search")
    client.get(url)  # warms the cached list of main towns
    # Per session: facet combinations (total and every count), the page's keys, its rows.
    with django_assert_num_queries(3):
        client.get(url, {"page": "2", "vue": "sessions"})
    with django_assert_num_queries(3):
        client.get(
            url, {"q": "session", "fin": ["individuel"], "dpt": ["36"], "tri": "date", "page": "3", "vue": "sessions"}
        )
    with django_assert_num_queries(4):  # + the town
        client.get(
            url,
            {"q": "session", "lieu": "Châteauroux (36000)", "rayon": "30", "fin": ["individuel"], "vue": "sessions"},
        )


def test_h1_archived_undiffused_and_pending_offer_never_shown(offer, django_capture_on_commit_callbacks):
    from ofeli.workflow import services

    shown = offer.formation("Menuiserie visible")
    archived = offer.formation("Menuiserie archivée")
    archived.archived_at = archived.published_at
    archived.save(update_fields=["archived_at"])
    partly = offer.formation("Menuiserie deux sessions", sessions=[{}, {}], index=False)
    session = partly.live_version.sessions.order_by("pk").first().session
    session.archived_at = partly.published_at
    session.save(update_fields=["archived_at"])
    hidden_structure = StructureFactory(etat=StructureState.objects.create(code="BRO", libelle="Brouillon"))
    offer.formation("Menuiserie brouillon", structure=hidden_structure)
    rebuild()
    assert titles(q="menuiserie") == ["Menuiserie deux sessions", "Menuiserie visible"]
    assert session.reference not in refs(q="menuiserie")
    assert shown.pk

    # A change waiting for validation never leaks; once accepted, the index follows.
    staff = StaffFactory()
    formation = published_formation(intitule="Ébénisterie d'art", staff=staff)
    rebuild([formation.pk])
    change = services.start_formation_change(formation, formation.created_by)
    change.formation_version.intitule = "Ébénisterie et marqueterie"
    change.formation_version.save(update_fields=["intitule"])
    services.submit(change, formation.created_by)
    rebuild()
    assert titles(q="marqueterie") == []
    assert titles(q="ebenisterie") == ["Ébénisterie d'art"]
    with django_capture_on_commit_callbacks(execute=True):
        services.accept(change, staff)
    assert titles(q="marqueterie") == ["Ébénisterie et marqueterie"]
    # Archiving through the workflow removes it at once (offer_changed receiver).
    with django_capture_on_commit_callbacks(execute=True):
        services.set_formation_archived(Formation.objects.get(pk=formation.pk), staff, True)
    assert titles(q="marqueterie") == []


def test_h1_place_edits_reach_the_index(offer, django_capture_on_commit_callbacks):
    formation = offer.formation("Maçonnerie", sessions=[{"point": north_of(CHATEAUROUX, 60)}])
    assert titles(lieu="Châteauroux (36000)", rayon="30") == []
    sv = SessionVersion.objects.get(formation_version=formation.live_version)
    lieu = sv.places.get().lieu
    with django_capture_on_commit_callbacks(execute=True):
        lieu.latitude, lieu.longitude = CHATEAUROUX
        lieu.save()
    assert titles(lieu="Châteauroux (36000)", rayon="30") == ["Maçonnerie"]


def test_h1_p2_invalid_criteria_are_reported_at_the_top_and_nothing_is_listed(client, offer):
    offer.formation("Cuisine")
    response = client.get(
        reverse("public:search"), {"debut_min": "pas une date", "code": "XYZ", "rayon": "1000", "page": "-4"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Saisissez une date valide" in html
    assert "Saisissez un code RNCP ou RS" in html
    assert "Choisissez un rayon de 5, 10, 20, 30, 50 ou 100 km." in html
    assert "3 critères à corriger" in html
    assert "Cuisine" not in html and not re.search(r"\d+ sessions? de formation", html)

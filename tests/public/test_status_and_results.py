"""P1 (one status per session, from today's date; financing as entered) and P2 (results by
formation, refused criteria, remote sessions, département in the place field) on a crafted
offer around today's date."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from ofeli.formations import models as fm
from ofeli.public import status as st
from ofeli.public.models import PublishedSession
from ofeli.public.search import SESSIONS_PER_GROUP, SearchForm, search

from .conftest import CHATEAUROUX, TODAY, north_of

pytestmark = pytest.mark.django_db
D = datetime.timedelta
URL = "/"


def run(**params):
    form = SearchForm(params)
    assert form.is_valid(), form.errors
    return search(form.cleaned_data, today=params.pop("today", None))


def jsonld_of(html):
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


# Every case of the status rules, with the dates that decide it.
CASES = [
    ("terminee", {"date_debut": TODAY - D(60), "date_fin": TODAY - D(1), "recrutement": "ouvert"}),
    ("en-cours", {"date_debut": TODAY, "date_fin": TODAY + D(30), "recrutement": "ouvert"}),
    ("en-cours", {"date_debut": TODAY - D(5), "date_fin": TODAY + D(30), "fin_inscription": TODAY + D(3)}),
    ("closes", {"date_debut": TODAY + D(20), "date_fin": TODAY + D(90), "fin_inscription": TODAY - D(1)}),
    ("closes", {"date_debut": TODAY + D(20), "date_fin": TODAY + D(90), "recrutement": "ferme"}),
    ("a-venir", {"date_debut": TODAY + D(60), "date_fin": TODAY + D(90), "debut_inscription": TODAY + D(1)}),
    ("a-venir", {"date_debut": TODAY + D(60), "date_fin": TODAY + D(90)}),
    ("ouvertes", {"date_debut": TODAY + D(9), "date_fin": TODAY + D(90), "debut_inscription": TODAY, "fin_inscription": TODAY}),
    ("ouvertes", {"date_debut": TODAY + D(9), "date_fin": TODAY + D(90), "recrutement": "ouvert"}),
    ("permanente", {"date_debut": TODAY - D(90), "date_fin": TODAY + D(90), "entree_sortie_permanente": True}),
    ("permanente", {"date_debut": TODAY + D(5), "date_fin": TODAY + D(90), "a_la_demande": True}),
    ("closes", {"date_debut": TODAY - D(9), "date_fin": TODAY + D(90), "entree_sortie_permanente": True, "recrutement": "ferme"}),
    ("terminee", {"date_debut": TODAY - D(90), "date_fin": TODAY - D(1), "entree_sortie_permanente": True}),
]  # fmt: skip


@pytest.mark.parametrize(("expected", "fields"), CASES)
def test_p1_one_status_per_session_from_todays_date(expected, fields):
    assert st.status_of(today=TODAY, **fields).code == expected
    assert st.status_of(today=TODAY, **fields).joinable == (expected in {"ouvertes", "a-venir", "permanente"})


def test_p1_sql_status_rank_agrees_with_the_python_rules(offer):
    formation = offer.formation("Statuts", sessions=[], index=False)
    rows = []
    for _expected, fields in CASES:
        session = fm.Session.objects.create(reference=f"9{len(rows):05d}S", formation=formation)
        rows.append(
            PublishedSession(session=session, formation_id=formation.pk, numero_carif=session.reference, modalite="0", kind="", **fields)
        )  # fmt: skip
    from ofeli.public.indexing import rebuild
    from ofeli.public.models import PublishedFormation

    offer.session(formation.live_version)
    rebuild([formation.pk])  # the formation row (its own session is indexed too)
    assert PublishedFormation.objects.filter(pk=formation.pk).exists()
    PublishedSession.objects.bulk_create(rows)
    ranked = PublishedSession.objects.filter(pk__in=[r.pk for r in rows]).annotate(
        rank=st.status_rank_expression(TODAY)
    )
    for row in ranked:
        assert row.rank == st.status_of_row(row, TODAY).rank, row.numero_carif


def test_p1_status_is_computed_when_shown_and_never_goes_stale_in_the_index(offer):
    offer.formation(
        "Soudure",
        sessions=[{"debut": TODAY + D(10), "fin": TODAY + D(60), "debut_inscription": TODAY - D(5), "fin_inscription": TODAY + D(3)}],
    )  # fmt: skip
    assert [r.status.code for r in run(vue="sessions").rows] == ["ouvertes"]
    # No rebuild in between: the same index read later says what is true that day.
    later = search({"vue": "sessions"}, today=TODAY + D(5))
    assert [r.status.code for r in later.rows] == ["closes"]
    assert [r.status.code for r in search({"vue": "sessions"}, today=TODAY + D(20)).rows] == ["en-cours"]
    assert search({"vue": "sessions"}, today=TODAY + D(61)).total == 0  # finished: gone


def test_p1_sort_puts_the_sessions_one_can_join_first(offer):
    offer.formation(
        "Plomberie",
        sessions=[
            {"debut": TODAY + D(2), "fin": TODAY + D(60), "fin_inscription": TODAY - D(1)},  # closes
            {"debut": TODAY - D(2), "fin": TODAY + D(60)},  # en cours
            {"debut": TODAY + D(30), "fin": TODAY + D(60), "debut_inscription": TODAY + D(5)},  # à venir
            {"debut": TODAY + D(40), "fin": TODAY + D(90), "debut_inscription": TODAY - D(1)},  # ouvertes
        ],
    )
    rows = run(vue="sessions", tri="date").rows
    assert [r.status.code for r in rows] == ["ouvertes", "a-venir", "closes", "en-cours"]


def test_p1_formation_page_never_shows_a_dead_session_as_open(client, offer):
    formation = offer.formation("CAP Boucher", sessions=[], index=False)
    version = formation.live_version
    dead = offer.session(version, debut=TODAY - D(200), fin=TODAY - D(10))  # recrutement « ouvert » by default
    current = offer.session(
        version,
        debut=TODAY - D(20),
        fin=TODAY + D(200),
        debut_inscription=TODAY - D(120),
        fin_inscription=TODAY - D(30),
    )
    future = offer.session(version, debut=TODAY + D(60), fin=TODAY + D(200), debut_inscription=TODAY - D(1))
    for sv, when in [(current, TODAY - D(40)), (future, TODAY + D(20))]:
        fm.RecruitmentSlot.objects.create(
            session_version=sv, modalite="9", date=when, lien_web="https://example.org/inscription",
            structure=formation.structure,
        )  # fmt: skip
    from ofeli.public.indexing import rebuild

    rebuild([formation.pk])
    html = client.get(reverse("public:formation_short", args=[formation.reference]), follow=True).content.decode()

    def block(sv):
        start = html.index(f'id="session-{sv.session.reference}"')
        return html[start : html.index("</section>", start)]

    for sv in (dead, current):
        assert "recrutement ouvert" not in block(sv)
        assert "data-carif-hint" not in block(sv)  # nobody can still apply
        assert "S'inscrire" not in block(sv)
    assert 'data-status="terminee">Terminée' in block(dead)
    assert 'data-status="en-cours">En cours' in block(current)
    assert "(période terminée)" in block(current)
    assert "Information collective le " in block(current) and "(date passée)" in block(current)
    assert 'data-status="ouvertes">Inscriptions ouvertes' in block(future)
    assert "recrutement ouvert" in block(future) and "data-carif-hint" in block(future)
    assert "S'inscrire" in block(future) and "(date passée)" not in block(future)
    assert html.index("Sessions terminées") < html.index(f'id="session-{dead.session.reference}"')
    assert "1 session ouverte à l'inscription ou à venir" in html
    # JSON-LD: the same statuses; a finished session is not offered.
    instances = {i["identifier"]: i for i in jsonld_of(html)["hasCourseInstance"]}
    assert set(instances) == {current.session.reference, future.session.reference}
    assert instances[future.session.reference]["offers"]["availability"] == "https://schema.org/InStock"
    assert instances[current.session.reference]["offers"]["availability"] == "https://schema.org/SoldOut"
    assert instances[current.session.reference]["offers"]["description"] == "En cours"
    # The results say the same.
    found = client.get(URL, {"q": "boucher", "vue": "sessions"}).content.decode()
    assert 'data-status="en-cours"' in found and 'data-status="ouvertes"' in found
    assert 'data-status="terminee"' not in found


def test_p2_one_card_per_formation_nearest_and_soonest_first_with_more_sessions(offer, client):
    far, near = north_of(CHATEAUROUX, 25), north_of(CHATEAUROUX, 2)
    electricity = offer.formation(
        "Électricité du bâtiment",
        sessions=[
            {"point": far, "debut": TODAY + D(5)},
            {"point": near, "debut": TODAY + D(50)},
            {"point": near, "debut": TODAY + D(40)},
            {"point": far, "debut": TODAY + D(10)},
            {"point": far, "debut": TODAY + D(15)},
        ],
    )
    offer.formation("Électricité industrielle", sessions=[{"point": far}])
    results = run(q="electricite")
    assert results.count == 2 and results.total == 6
    assert [g.formation.intitule for g in results.groups] == ["Électricité du bâtiment", "Électricité industrielle"]
    assert len(results.groups[0].sessions) == SESSIONS_PER_GROUP and results.groups[0].more == 2
    # Without a place: the soonest start first; with a place: the nearest first.
    assert [s.date_debut for s in results.groups[0].sessions] == [TODAY + D(5), TODAY + D(10), TODAY + D(15)]
    placed = run(q="electricite", lieu="Châteauroux (36000)", rayon="30")
    first = placed.groups[0]
    assert first.formation.reference == electricity.reference
    assert [s.date_debut for s in first.sessions] == [TODAY + D(40), TODAY + D(50), TODAY + D(5)]
    html = client.get(URL, {"q": "electricite"}).content.decode()
    assert html.count('class="fr-card fr-card--no-arrow fr-card--sm result-card formation-card"') == 2
    assert "+ 2 autres sessions" in html
    assert "2 formations (6 sessions)" in html
    # The switch to the list of sessions.
    sessions = client.get(URL, {"q": "electricite", "vue": "sessions"}).content.decode()
    assert sessions.count("data-numero-carif-result=") == 6 and "6 sessions de formation" in sessions


def test_p2_grouped_results_page_costs_a_fixed_number_of_queries(offer, client, django_assert_num_queries):
    for i in range(25):
        offer.formation(f"Formation {i}", sessions=[{"debut": TODAY + D(j + 1)} for j in range(i % 5 + 1)])
    client.get(URL)  # warms the cached list of main towns
    # Facet combinations, the page's formations with their number, their sessions.
    with django_assert_num_queries(3):
        response = client.get(URL, {"q": "formation", "page": "2"})
    assert response.content.decode().count("formation-card") == 5
    assert "25 formations (75 sessions)" in response.content.decode()
    with django_assert_num_queries(3):
        client.get(URL, {"fin": ["individuel"], "dpt": ["36"], "tri": "date"})
    with django_assert_num_queries(4):  # + the town
        client.get(URL, {"q": "formation", "lieu": "Châteauroux (36000)", "rayon": "30"})
    with django_assert_num_queries(5):  # past the last page: + the count, the last page
        response = client.get(URL, {"q": "formation", "page": "9"})
    assert "page 2 sur 2" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"code": "RNCP-36395"}, "id_code", "Saisissez un code RNCP ou RS"),
        ({"debut_min": "2026-13-45"}, "id_debut_min", "Saisissez une date valide"),
        ({"lieu": "Tours", "rayon": "-5"}, "id_rayon", "Choisissez un rayon de 5, 10, 20, 30, 50 ou 100 km."),
    ],
)
def test_p2_refused_criteria_are_shown_at_the_top_tied_to_their_field_and_list_nothing(
    client, offer, params, field, message
):
    offer.formation("Comptabilité")
    html = client.get(URL, params).content.decode()
    summary = html.index('id="erreurs-criteres"')
    assert summary < html.index('id="id_q"')  # at the top of the page, before the form
    assert f'<a href="#{field}">' in html[summary:]
    assert f'id="{field}-error">{message}' in html
    assert f'aria-describedby="{field}-hint {field}-error"' in html or f'aria-describedby="{field}-error"' in html
    assert "Comptabilité" not in html and "data-numero-carif-result" not in html
    assert "Recherche non lancée" in html
    # What was typed is kept in the field.
    for name, value in params.items():
        assert f'value="{value}"' in html or f'<option value="{value}"' in html or name == "rayon"


def test_p2_refused_criterion_with_htmx_reloads_the_full_page_with_its_errors(client, offer):
    response = client.get(URL, {"code": "RNCP-36395"}, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == "/?code=RNCP-36395"


def test_p2_remote_session_appears_in_a_place_search_marked_as_remote(offer, client):
    remote = offer.formation("Anglais en ligne", sessions=[{"modalite": "2", "point": None}])
    offer.formation("Anglais à Orléans", sessions=[{"point": north_of(CHATEAUROUX, 120)}])
    results = run(q="anglais", lieu="Châteauroux (36000)", rayon="30", vue="sessions")
    assert [r.formation.reference for r in results.rows] == [remote.reference]
    assert results.rows[0].remote and results.rows[0].distance_km is None
    html = client.get(URL, {"q": "anglais", "lieu": "Châteauroux (36000)"}).content.decode()
    assert "data-remote>À distance" in html and "Formation à distance" in html
    assert [r.formation.reference for r in run(q="anglais", lieu="Loiret", vue="sessions").rows] == [remote.reference]


def test_p2_departement_or_region_typed_in_the_place_field(offer, client):
    offer.formation("Menuiserie Indre")
    offer.formation(
        "Menuiserie Loiret",
        sessions=[{"point": (47.9029, 1.9093), "ville": "Orléans", "code_postal": "45000", "code_insee": "45234"}],
    )
    for typed in ("Indre", "36", "indre (36)", "Département de l'Indre"):
        results = run(q="menuiserie", lieu=typed, vue="sessions")
        assert results.place.departement == "36", typed
        assert [r.formation.intitule for r in results.rows] == ["Menuiserie Indre"], typed
    assert [r.formation.intitule for r in run(q="menuiserie", lieu="Loiret", vue="sessions").rows] == [
        "Menuiserie Loiret"
    ]
    assert run(q="menuiserie", lieu="Centre-Val de Loire").total == 2
    html = client.get(URL, {"q": "menuiserie", "lieu": "Indre"}).content.decode()
    assert "Commune inconnue" not in html and "Dans le département <strong>Indre (36)</strong>" in html
    # A town still is a town.
    assert run(q="menuiserie", lieu="Châteauroux (36000)").place.commune.nom == "Châteauroux"


def test_p2_spelling_suggestion_and_one_typo_tolerated_in_long_words(offer, client):
    offer.formation("Comptabilité et gestion")
    offer.formation("Cuisine")
    # One typo in a long word: corrected at once, and said plainly.
    results = run(q="comptabilte")
    assert results.total == 1 and results.corrected_from == "comptabilte" and results.used_text == "comptabilité"
    html = client.get(URL, {"q": "comptabilte"}).content.decode()
    assert "Aucun résultat pour « comptabilte » : résultats pour « <strong>comptabilité</strong> »" in html
    # Two typos, or a short word: only a suggestion, the search finds nothing.
    results = run(q="cmptabilte gestoin")
    assert results.total == 0 and results.suggestion == "comptabilité gestion"
    html = client.get(URL, {"q": "cusine"}).content.decode()
    assert 'Vouliez-vous dire <a href="?q=cuisine">cuisine</a> ?' in html
    assert run(q="xylophone").suggestion == ""  # nothing near: nothing offered
    # A word of a new formation is known at once (partial rebuild).
    offer.formation("Maroquinerie")
    assert run(q="maroquinnerie").used_text == "maroquinerie"


def test_p2_spelling_costs_no_query_when_the_search_finds_something(offer, django_assert_num_queries):
    offer.formation("Comptabilité")
    form = SearchForm({"q": "comptabilite", "vue": "sessions"})
    assert form.is_valid()
    with django_assert_num_queries(3):
        search(form.cleaned_data)

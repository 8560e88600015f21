"""The « Formations » search screen (SPEC D1-D4): criteria, result table, column filters,
sorting, selection, counts, markers, scope, and a fixed number of queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ofeli.formations.models import Financement
from ofeli.formations.search import SearchParams, rows_queryset
from ofeli.workflow import services
from ofeli.workflow.guards import allow_published_changes
from tests.factories import (
    DispositifFactory,
    FinanceurFactory,
    LieuFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db
URL = reverse("formations:search")


def rows_of(response):
    """The row keys of the result table (``data-row`` attributes), in order."""
    return re.findall(r'data-row="([^"]+)"', response.content.decode())


def refs_of(response):
    html = response.content.decode()
    return re.findall(r'<tr[^>]*data-row="[^"]+">.*?<a href="/ofeli/formations/([0-9A-Z]+)/"', html, re.S)


def session_refs_of(response):
    html = response.content.decode()
    body = html[html.index("<tbody") :]
    return re.findall(r'<td class="nowrap">([0-9]{6}S)</td>', body)


@pytest.fixture
def of_user(client):
    structure = StructureFactory(nom="OF présentation OFELI")
    membership = MembershipFactory(structure=structure)
    client.force_login(membership.user)
    return membership.user, structure


def test_d1_search_screen_has_a_foldable_criteria_panel_and_the_guide_words(client, of_user):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<details class="search-panel" open id="criteres">' in html  # foldable, works without JS
    for words in ("Référence", "Mesure", "Numéro de marché", "Réinitialiser", "Exporter", "Export Excel", "LHÉO 2.2"):
        assert words in html, words
    assert "Version LHEO" in html and "LHÉO 2.3" in html
    for column in ("Référence", "Intitulé", "N° session", "Date de début", "Date de fin", "OF Formateur"):
        assert f">{column}" in html
    for column in ("Dispositif", "État", "Dpt", "Ville"):
        assert f">{column}" in html
    # Criteria are a GET form (they live in the URL); column filters belong to the same form.
    assert re.search(r'<form method="get" id="search-form" action="/ofeli/formations/"', html)
    assert 'name="f_intitule" value="" form="search-form"' in html


def test_d3_one_row_per_session_and_a_formation_without_sessions_once(client, of_user):
    user, structure = of_user
    published = published_formation(structure, sessions=3, intitule="Comptabilité générale")
    empty = draft_formation(structure, user, sessions=0, intitule="Formation sans session")
    published_formation(intitule="Formation d'un autre organisme")  # not in scope
    response = client.get(URL)
    html = response.content.decode()
    assert len(rows_of(response)) == 4
    assert "2 formations / 3 sessions" in html
    assert html.count(f'href="/ofeli/formations/{published.reference}/"') == 3
    assert html.count(f'href="/ofeli/formations/{empty.formation.reference}/"') == 1
    assert "Formation d&#x27;un autre organisme" not in html


def test_d3_the_row_shows_the_draft_when_a_change_is_open_else_the_published_version(client, of_user):
    user, structure = of_user
    formation = published_formation(structure, intitule="Intitulé publié")
    assert "Intitulé publié" in client.get(URL).content.decode()
    change = services.start_formation_change(formation, user)
    change.formation_version.intitule = "Intitulé en brouillon"
    change.formation_version.save()
    new = services.add_session(
        change, user, date_debut=datetime.date(2027, 1, 4), date_fin=datetime.date(2027, 3, 31), duree_centre=100
    )
    html = client.get(URL).content.decode()
    assert "Intitulé en brouillon" in html and "Intitulé publié" not in html
    assert new.session.reference in html
    # Staff see the same rows (the version being worked on), across structures.
    client.force_login(StaffFactory())
    html = client.get(URL).content.decode()
    assert "Intitulé en brouillon" in html and new.session.reference in html


def test_d2_staff_search_across_every_structure_and_by_organisme(client):
    a = published_formation(StructureFactory(nom="Centre Alpha"), intitule="Formation Alpha")
    b = published_formation(StructureFactory(nom="Centre Beta"), intitule="Formation Beta")
    client.force_login(StaffFactory())
    html = client.get(URL).content.decode()
    assert a.reference in html and b.reference in html
    html = client.get(URL, {"organisme": "beta"}).content.decode()
    assert b.reference in html and a.reference not in html
    assert 'name="organisme"' in html


def test_d2_of_user_without_structure_space_chooses_one_first(client):
    user = MembershipFactory().user
    MembershipFactory(user=user)  # two structures: B2 asks to choose
    client.force_login(user)
    assert client.get(URL).url == reverse("choose_structure")


def test_d2_reference_criterion_formation_or_session(client, of_user):
    _user, structure = of_user
    one = published_formation(structure, sessions=2)
    other = published_formation(structure)
    s_ref = one.live_version.sessions.order_by("date_debut").first().session.reference
    response = client.get(URL, {"reference": one.reference, "type_reference": "F"})
    assert set(refs_of(response)) == {one.reference} and len(rows_of(response)) == 2
    response = client.get(URL, {"reference": s_ref, "type_reference": "S"})
    assert session_refs_of(response) == [s_ref]
    response = client.get(URL, {"reference": s_ref, "type_reference": "F"})
    assert rows_of(response) == []
    response = client.get(URL, {"reference": s_ref.lower()})  # F or S, any case
    assert session_refs_of(response) == [s_ref]
    assert other.reference not in client.get(URL, {"reference": one.reference}).content.decode()


def test_d2_etat_criterion_and_dashboard_links(client, of_user):
    user, structure = of_user
    staff = StaffFactory()
    diffused = published_formation(structure, intitule="Diffusée")
    archived = published_formation(structure, intitule="Archivée")
    services.set_formation_archived(archived, staff, True)
    creation = draft_formation(structure, user, intitule="En création").formation
    submitted = draft_formation(structure, user, intitule="Soumise")
    services.submit(submitted, user)
    complement = draft_formation(structure, user, intitule="À compléter")
    services.submit(complement, user)
    services.request_info(complement, staff, "Précisez les dates.")
    brouillon = published_formation(structure, intitule="Brouillon")
    services.start_formation_change(brouillon, user)
    broken = published_formation(structure, intitule="Lien cassé")
    broken.link_error = "Erreur 404 : la page n'existe pas."
    broken.save()

    def refs(etat):
        return set(refs_of(client.get(URL, {"etat": etat})))

    assert refs("diffusion") == {diffused.reference, brouillon.reference, broken.reference}
    assert refs("archive") == {archived.reference}
    assert refs("creation") == {creation.reference}
    assert refs("attente") == {submitted.formation.reference}
    assert refs("complement") == {complement.formation.reference}
    assert refs("brouillon") == {brouillon.reference}
    assert refs("erreur_liens") == {broken.reference}
    assert refs("inconnu") == refs("")  # an unknown value is ignored


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_d2_fonds_publics_mesure_and_numero_de_marche(client, of_user):
    _user, structure = of_user
    region = FinanceurFactory(code="CR24", libelle="Conseil régional", lheo_code="2", is_public=True)
    prf = DispositifFactory(
        code="PRF01", libelle="Programme régional : Parcours métiers", financeur=region, is_public_funds=True
    )
    public = published_formation(structure, intitule="Financée par la Région")
    sv = public.live_version.sessions.get()
    Financement.objects.create(
        session_version=sv, dispositif=prf, financeur=region, numero_marche="2025-PRF-12", nb_places=8
    )
    private = published_formation(structure, intitule="Financement privé")
    assert set(refs_of(client.get(URL, {"etat": "fonds_publics"}))) == {public.reference}
    assert set(refs_of(client.get(URL, {"mesure": "PRF01 - Programme régional : Parcours métiers"}))) == {
        public.reference
    }
    assert set(refs_of(client.get(URL, {"mesure": "prf01"}))) == {public.reference}
    assert set(refs_of(client.get(URL, {"mesure": "CPR02"}))) == {public.reference, private.reference}
    assert set(refs_of(client.get(URL, {"mesure": "parcours mét"}))) == {public.reference}  # a few letters
    assert set(refs_of(client.get(URL, {"marche": "2025-PRF"}))) == {public.reference}
    # « Mesure » offers every dispositif for type-ahead (a datalist: no JavaScript needed).
    html = client.get(URL).content.decode()
    assert '<input class="fr-input" id="mesure" name="mesure" list="mesures"' in html
    assert '<option value="PRF01 - Programme régional : Parcours métiers">' in html


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_d3_column_filters(client, of_user):
    _user, structure = of_user
    a = published_formation(structure, intitule="Anglais professionnel", sessions=2)
    b = published_formation(structure, intitule="Comptabilité")
    a_first, a_second = a.live_version.sessions.order_by("date_debut")
    place = b.live_version.sessions.get().places.get()
    place.lieu = LieuFactory(structure=structure, ville="Bourges", code_postal="18000", code_insee="18033")
    place.save()

    def refs(**params):
        return set(refs_of(client.get(URL, params)))

    assert refs(f_intitule="anglais") == {a.reference}
    assert refs(f_ref=b.reference[:-1]) == {b.reference}
    assert session_refs_of(client.get(URL, {"f_session": a_second.session.reference})) == [a_second.session.reference]
    assert session_refs_of(client.get(URL, {"f_debut": a_second.date_debut.isoformat(), "f_intitule": "anglais"})) == [
        a_second.session.reference
    ]
    assert refs(f_fin="2027-06-29") == set()
    assert refs(f_fin="30/06/2027") == {a.reference, b.reference}  # the French format works too
    assert refs(f_formateur=structure.nom[:8]) == {a.reference, b.reference}
    assert refs(f_formateur="personne") == set()
    assert refs(f_dispositif="entreprise ou le particulier") == {a.reference, b.reference}
    assert refs(f_dispositif="CPR02") == {a.reference, b.reference}
    assert refs(f_etat="diffusion") == {a.reference, b.reference}
    assert refs(f_etat="archive") == set()
    assert refs(f_dpt="18") == {b.reference}
    assert refs(f_ville="bourg") == {b.reference}
    assert refs(f_ville="tours") == {a.reference}


@pytest.mark.parametrize(
    "column", ["ref", "intitule", "session", "debut", "fin", "formateur", "dispositif", "etat", "dpt", "ville"]
)
def test_d3_sort_by_any_column(client, of_user, column):
    _user, structure = of_user
    for title in ("Bureautique", "Anglais", "Comptabilité"):
        published_formation(structure, intitule=title, sessions=2)
    ascending = rows_of(client.get(URL, {"tri": column}))
    descending = rows_of(client.get(URL, {"tri": f"-{column}"}))
    assert len(ascending) == len(descending) == 6
    assert sorted(ascending) == sorted(descending)
    html = client.get(URL, {"tri": column}).content.decode()
    assert 'aria-sort="ascending"' in html


def test_d3_sort_orders(client, of_user):
    _user, structure = of_user
    b = published_formation(structure, intitule="Bureautique")
    a = published_formation(structure, intitule="Anglais")
    assert refs_of(client.get(URL, {"tri": "intitule"})) == [a.reference, b.reference]
    assert refs_of(client.get(URL, {"tri": "-intitule"})) == [b.reference, a.reference]
    assert refs_of(client.get(URL, {"tri": "ref"})) == [b.reference, a.reference]
    html = client.get(URL, {"tri": "intitule"}).content.decode()
    assert 'href="?tri=-intitule&amp;par_page=25"' in html  # clicking again reverses


def test_d3_rows_per_page_and_pagination_keep_the_criteria(client, of_user):
    _user, structure = of_user
    published_formation(structure, intitule="Comptabilité", sessions=10)
    published_formation(structure, intitule="Comptabilité analytique", sessions=2)
    published_formation(structure, intitule="Autre sujet")
    response = client.get(URL, {"f_intitule": "compta", "par_page": "10"})
    assert len(rows_of(response)) == 10
    html = response.content.decode()
    assert "2 formations / 12 sessions" in html
    links = re.findall(r'href="\?([^"]*page=2[^"]*)"', html)
    assert links and "f_intitule=compta" in links[0].replace("&amp;", "&") and "par_page=10" in links[0]
    page_two = client.get(URL + "?" + links[0].replace("&amp;", "&"))
    assert len(rows_of(page_two)) == 2
    assert 'value="compta"' in page_two.content.decode()  # the filter is still shown
    assert len(rows_of(client.get(URL, {"par_page": "7"}))) == 13  # not an allowed size: 25


def test_d3_select_all_results_and_rows(client, of_user):
    _user, structure = of_user
    published_formation(structure, sessions=3)
    html = client.get(URL).content.decode()
    assert "Sélectionner tous les résultats" in html
    body = html[html.index("<tbody") : html.index("</tbody>")]
    assert body.count('name="rows"') == 3 and "checked" not in body
    html = client.get(URL, {"sel": "tout"}).content.decode()
    body = html[html.index("<tbody") : html.index("</tbody>")]
    assert body.count(" checked>") == 3
    assert '<input type="hidden" name="tout" value="1" form="export-form">' in html


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_d4_markers_pencil_orange_and_dots_with_text(client, of_user):
    user, structure = of_user
    staff = StaffFactory()
    draft = draft_formation(structure, user, intitule="En cours de saisie")
    pending = draft_formation(structure, user, intitule="Envoyée")
    services.submit(pending, user)
    archived = published_formation(structure, intitule="Session archivée", sessions=2)
    session = archived.live_version.sessions.order_by("date_debut").last().session
    services.set_session_archived(session, staff, True)
    fin = archived.live_version.sessions.order_by("date_debut").first().financements.get()
    fin.etat = "EA"
    fin.save()
    html = client.get(URL).content.decode()
    draft_row = re.search(
        rf'<tr data-row="[^"]+">(?:(?!</tr>).)*{draft.formation.reference}/"(?:(?!</tr>).)*</tr>', html, re.S
    ).group(0)
    assert 'aria-label="En cours de modification, non soumise à validation"' in draft_row
    assert 'class="row-pending"' in html
    pending_row = re.search(rf'<tr class="row-pending"(?:(?!</tr>).)*{pending.formation.reference}/', html, re.S).group(
        0
    )
    assert "(en attente de validation)" in pending_row
    assert "Session : Archive." in html and "Session : Diffusion." in html and "Session : En attente." in html
    assert "Financement En attente : " in html and "Financement Diffusion : " in html
    assert "Organisme : Diffusion." in html
    assert 'class="dot dot--archive"' in html


def test_d1_htmx_swaps_only_the_results(client, of_user):
    _user, structure = of_user
    published_formation(structure)
    html = client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="resultats"')
    assert "<html" not in html


def test_d3_fixed_number_of_queries_whatever_the_number_of_rows(client, of_user, django_assert_num_queries):
    _user, structure = of_user
    for _ in range(5):
        published_formation(structure)
    assert len(rows_of(client.get(URL))) == 5
    with CaptureQueriesContext(connection) as captured:
        client.get(URL, {"par_page": "100"})
    few = len(captured.captured_queries)  # read now: later requests reset the query log
    for _ in range(9):
        published_formation(structure, sessions=5)  # 45 more rows
    assert len(rows_of(client.get(URL, {"par_page": "100"}))) == 50
    with django_assert_num_queries(few):
        response = client.get(URL, {"par_page": "100"})
    assert len(rows_of(response)) == 50
    assert few <= 12
    for tri in ("dispositif", "etat", "-ville"):  # sorting by a computed column costs no more
        with django_assert_num_queries(few):
            client.get(URL, {"par_page": "100", "tri": tri, "f_intitule": "compta", "etat": "diffusion"})


def test_d2_criteria_are_shared_with_the_export(client, of_user):
    user, structure = of_user
    published_formation(structure)
    params = SearchParams.from_query({"f_intitule": "compta", "tri": "-debut", "etat": "diffusion", "par_page": "50"})
    assert params.criteria() == {"etat": "diffusion", "tri": "-debut", "par_page": "50", "f_intitule": "compta"}
    assert SearchParams.from_query(params.criteria()) == params
    assert rows_queryset(user, structure, params).count() == 1
    html = client.get(URL, {"f_intitule": "compta"}).content.decode()
    assert 'name="criteres" value="tri=intitule&amp;par_page=25&amp;f_intitule=compta" form="export-form"' in html


def test_d2_sessions_dates_from_last_publication(client, of_user):
    """The dates shown are those of the version: a draft's new dates before they are published."""
    user, structure = of_user
    formation = published_formation(structure)
    change = services.start_formation_change(formation, user)
    sv = change.formation_version.sessions.get()
    sv.date_debut, sv.date_fin = datetime.date(2030, 1, 7), datetime.date(2030, 6, 28)
    sv.save()
    html = client.get(URL).content.decode()
    assert "07/01/2030" in html

"""« Me géolocaliser » (issue 10, C4, F6) in Chromium: the browser's position (mocked by
Playwright) goes through OFeli's proxy to the BAN reverse endpoint (a local fake, no network)
and the nearest address fills the structure's Coordonnées and a new place of a session."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.helpers import login, watch
from tests.factories import ContactFactory, MembershipFactory, StructureFactory, draft_formation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORLEANS = {"latitude": 47.90252, "longitude": 1.90463}  # near 8 Rue Jeanne d'Arc
CHATEAUROUX = {"latitude": 46.81102, "longitude": 1.69047}  # near 10 Rue Grande


def open_coordonnees(page):
    page.locator("[data-fr-js-tab-button]").first.wait_for(state="attached")
    tab = page.get_by_role("tab", name="Coordonnées")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def test_c4_me_geolocaliser_fills_the_structure_address_from_the_browser_position(page, fake_ban, live_server):
    structure = StructureFactory(nom="OF présentation OFELI")
    user = MembershipFactory(structure=structure).user
    ContactFactory(structure=structure, is_principal=True, types=["5"])
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(ORLEANS)
    errors = watch(page)
    login(page, user.email)
    page.goto(reverse("structures:detail", args=[structure.reference]))
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_role("button", name="Soumettre pour validation").wait_for()
    open_coordonnees(page)
    button = page.get_by_role("button", name="Me géolocaliser")
    expect(button).to_be_visible()
    button.click()
    page.get_by_text("Adresse la plus proche de votre position : 8 Rue Jeanne d'Arc 45000 Orléans").wait_for()
    assert page.get_by_label("Numéro et voie").input_value() == "8 Rue Jeanne d'Arc"
    assert page.get_by_label("Code postal").input_value() == "45000"
    assert page.get_by_label("Ville").input_value() == "Orléans"
    assert "code INSEE 45234" in page.locator("[data-address-geo]").inner_text()
    path, params = fake_ban.requests[-1]
    assert path == "/reverse/" and params["lat"].startswith("47.9025") and params["lon"].startswith("1.9046")
    page.get_by_role("button", name="Sauvegarder le brouillon").first.click()
    page.get_by_text("Brouillon sauvegardé").wait_for()
    draft = structure.change_requests.get().structure_version
    assert (draft.adresse, draft.code_postal, draft.ville, draft.code_insee) == (
        "8 Rue Jeanne d'Arc",
        "45000",
        "Orléans",
        "45234",
    )
    assert str(draft.latitude) == "47.902503"
    errors.check()


def test_c4_me_geolocaliser_refused_by_the_browser_says_so_and_changes_nothing(page, fake_ban, live_server):
    structure = StructureFactory(nom="OF présentation OFELI")
    user = MembershipFactory(structure=structure).user
    page.context.clear_permissions()  # the user says no to the browser's question
    errors = watch(page)
    login(page, user.email)
    page.goto(reverse("structures:detail", args=[structure.reference]))
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_role("button", name="Soumettre pour validation").wait_for()
    open_coordonnees(page)
    before = page.get_by_label("Numéro et voie").input_value()
    page.get_by_role("button", name="Me géolocaliser").click()
    page.get_by_text("Vous n'avez pas autorisé la géolocalisation").wait_for()
    assert page.get_by_label("Numéro et voie").input_value() == before
    assert not any(path == "/reverse/" for path, _ in fake_ban.requests)
    errors.check()


def test_f6_me_geolocaliser_fills_a_new_place_of_the_session(page, fake_ban, live_server):
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(CHATEAUROUX)
    errors = watch(page)
    login(page, change.created_by.email)
    page.goto(reverse("formations:session", args=[change.formation.reference, sv.session.reference]))
    page.get_by_text("Créer un nouveau lieu de formation").click()
    panel = page.locator("#create-place")
    panel.get_by_label("Nom du lieu").fill("Antenne de Châteauroux")
    button = panel.get_by_role("button", name="Me géolocaliser")
    expect(button).to_be_visible()
    button.click()
    panel.get_by_text("Adresse la plus proche de votre position : 10 Rue Grande 36000 Châteauroux").wait_for()
    assert panel.get_by_label("Numéro et voie").input_value() == "10 Rue Grande"
    assert page.locator("[name='lieu-code_insee']").input_value() == "36044"
    assert page.locator("[name='lieu-latitude']").input_value() == "46.811000"
    panel.get_by_role("button", name="Sauvegarder et choisir").click()
    page.get_by_role("cell", name="Antenne de Châteauroux").first.wait_for()
    place = sv.places.select_related("lieu").get(lieu__nom="Antenne de Châteauroux").lieu
    assert (place.adresse, place.code_postal, place.ville, place.code_insee) == (
        "10 Rue Grande",
        "36000",
        "Châteauroux",
        "36044",
    )
    errors.check()


def test_c4_me_geolocaliser_is_hidden_without_a_browser_geolocation(page, fake_ban):
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    page.add_init_script("Object.defineProperty(navigator, 'geolocation', {value: undefined})")
    login(page, user.email)
    page.goto(reverse("structures:detail", args=[structure.reference]))
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_role("button", name="Soumettre pour validation").wait_for()
    open_coordonnees(page)
    page.locator("[data-address-locate-box][data-address-ready]").wait_for(state="attached")
    expect(page.get_by_role("button", name="Localiser l'adresse")).to_be_visible()
    expect(page.get_by_role("button", name="Me géolocaliser")).to_be_hidden()

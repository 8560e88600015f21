"""The structure record in Chromium (C1, C2, C4, C6): the change request with the address
search against a local BAN, the Carif's acceptance, the BAN being down, the keyboard, deep
links to tabs and the page without JavaScript."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest
from tests.factories import ContactFactory, MembershipFactory, StaffFactory, StructureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Motdepasse!1"


def login(page, email):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def logout(page):
    page.get_by_role("button", name="Se déconnecter").click()


def open_tab(page, name):
    """Click a tab once the DSFR script has set the tabs up (a real user cannot be faster)."""
    page.locator("[data-fr-js-tab-button]").first.wait_for(state="attached")
    tab = page.get_by_role("tab", name=name)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


@pytest.fixture
def record():
    structure = StructureFactory(nom="OF présentation OFELI")
    user = MembershipFactory(structure=structure).user
    ContactFactory(structure=structure, prenom="Equipe", nom="OFFRE", types=["5"], is_principal=True)
    return structure, user


def test_c1_c4_structure_change_request_with_address_search_then_carif_accepts(page, fake_ban, record):
    structure, user = record
    staff = StaffFactory()

    # « Ma structure » → read mode → « Demande de modification »
    login(page, user.email)
    page.get_by_role("link", name="Ma structure").click()
    page.get_by_role("heading", name="OF présentation OFELI").wait_for()
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_role("button", name="Soumettre pour validation").wait_for()

    # Coordonnées: « Rechercher une adresse » against the (local) BAN, chosen with the keyboard.
    open_tab(page, "Coordonnées")
    assert page.get_by_label("Numéro et voie").is_editable() is False  # filled by the BAN unless « Saisie manuelle »
    page.locator("[data-address-search][data-address-ready]").wait_for(state="attached")  # its script is set up
    search = page.get_by_label("Rechercher une adresse")
    search.press_sequentially("8 rue jeanne d'arc", delay=20)
    page.get_by_role("button", name="8 Rue Jeanne d'Arc 45000 Orléans").wait_for()
    search.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.get_by_label("Numéro et voie").input_value() == "8 Rue Jeanne d'Arc"
    assert page.get_by_label("Code postal").input_value() == "45000"
    assert page.get_by_label("Ville").input_value() == "Orléans"
    geo = page.locator("[data-address-geo]")
    assert "code INSEE 45234" in geo.inner_text() and "latitude 47.902503" in geo.inner_text()
    assert any(path == "/search/" for path, _ in fake_ban.requests)

    # « Soumettre pour validation »: the published record is unchanged until the Carif accepts.
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Votre demande de modification est envoyée").wait_for()
    change = ChangeRequest.objects.get(structure=structure, status=ChangeStatus.SUBMITTED)
    structure.refresh_from_db()
    assert structure.live_version.adresse == "10 Rue Saint-Étienne"
    logout(page)

    # A staff member accepts via the review screen.
    login(page, staff.email)
    page.goto(reverse("workflow:review", args=[change.pk]))
    page.get_by_role("button", name="Accepter et publier").click()
    page.get_by_text("Demande acceptée").first.wait_for()
    logout(page)

    # The record shows the new address.
    login(page, user.email)
    page.goto(reverse("structures:detail", args=[structure.reference]))
    open_tab(page, "Coordonnées")  # deep links are tested in test_c1_c2_problem_links_and_deep_links_open_the_right_tab
    address = page.locator("[data-structure-address]")
    address.wait_for()
    assert address.inner_text() == "8 Rue Jeanne d'Arc 45000 Orléans"
    expect(page.get_by_role("tab", name="Coordonnées")).to_have_attribute("aria-selected", "true")


def test_c4_ban_unreachable_user_types_the_address_by_hand_with_the_keyboard(page, settings, record):
    settings.BAN_API_URL = "http://127.0.0.1:9"
    structure, user = record
    login(page, user.email)
    page.goto(reverse("structures:detail", args=[structure.reference]))
    page.get_by_role("button", name="Demande de modification").click()
    page.goto(reverse("structures:detail", args=[structure.reference]) + "#coordonnees")
    page.locator("[data-address-search][data-address-ready]").wait_for(state="attached")  # its script is set up
    page.get_by_label("Rechercher une adresse").fill("3 chemin des Vignes")
    page.get_by_text("ne répond pas pour le moment").first.wait_for()
    assert page.get_by_label("Saisie manuelle").is_checked()
    street = page.get_by_label("Numéro et voie")
    assert street.is_editable()
    street.fill("3 Chemin des Vignes")
    page.get_by_label("Code postal").fill("45100")
    page.get_by_label("Ville").fill("Orléans")
    assert "adresse non localisée" in page.locator("[data-address-geo]").inner_text()
    page.get_by_role("button", name="Localiser l'adresse").click()  # tells, never blocks
    page.locator("[data-address-locate-result]").get_by_text("ne répond pas").wait_for()
    phone = page.get_by_label("Téléphone principal")
    phone.fill("02.38.77.04.90")
    phone.press("Enter")  # implicit submission = « Sauvegarder le brouillon », never « Supprimer ma demande »
    page.get_by_text("Brouillon sauvegardé").wait_for()
    change = ChangeRequest.objects.get(structure=structure, status=ChangeStatus.DRAFT)
    draft = change.structure_version
    assert (draft.adresse, draft.code_postal, draft.saisie_manuelle, draft.latitude) == (
        "3 Chemin des Vignes",
        "45100",
        True,
        None,
    )
    assert draft.telephone == "02 38 77 04 90"


def test_c1_c2_problem_links_and_deep_links_open_the_right_tab(page, record):
    structure, user = record
    url = reverse("structures:detail", args=[structure.reference])
    login(page, user.email)
    page.goto(url + "#contacts")
    expect(page.get_by_role("tab", name="Contacts")).to_have_attribute("aria-selected", "true")
    page.get_by_role("cell", name="OFFRE", exact=True).wait_for()
    # keyboard: arrows move between tabs (DSFR, once its script has started); an arrow key is a
    # choice of the user, so the deep link's pending work gives way to it (app.js)
    contacts_tab = page.get_by_role("tab", name="Contacts")
    expect(contacts_tab).to_have_attribute("data-fr-js-tab-button", "true")
    # the arrow keys are handled by the tab list's own DSFR instance, made separately
    expect(page.locator(".fr-tabs__list").first).to_have_attribute("data-fr-js-tabs-list", "true")
    contacts_tab.press("ArrowRight")
    page.get_by_role("tabpanel", name="Complément organisme de formation").wait_for()

    page.goto(url)
    page.get_by_role("button", name="Demande de modification").click()
    open_tab(page, "Coordonnées")
    # DSFR draws the box on the label: click it, once the panel has finished opening.
    label = page.locator("label[for=id_saisie_manuelle]")
    expect(label).to_be_visible()
    label.click()
    expect(page.get_by_label("Saisie manuelle")).to_be_checked()
    page.get_by_label("Ville").fill("")
    open_tab(page, "Identité")
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Avant de soumettre, corrigez ces points").wait_for()
    page.get_by_role("link", name=re.compile("L'adresse de la structure est incomplète")).click()
    ville = page.get_by_label("Ville")
    ville.wait_for()
    expect(page.locator("#id_ville")).to_be_focused()
    assert ville.is_visible()


def test_c2_without_javascript_every_panel_is_readable_and_the_draft_can_be_saved(
    _playwright_browser, live_server, record
):
    structure, user = record
    context = _playwright_browser.new_context(locale="fr-FR", base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, user.email)
        page.goto(reverse("structures:detail", args=[structure.reference]))
        for heading in ("Identité", "Coordonnées", "Organisation", "Contacts", "Gestion"):
            assert page.get_by_role("heading", name=heading, exact=True).is_visible()
        assert page.get_by_text("OFFRE", exact=True).is_visible()
        page.get_by_role("button", name="Demande de modification").click()
        assert not page.get_by_label("Rechercher une adresse").is_visible()  # needs JavaScript
        page.get_by_label("Complément d'adresse").fill("Bâtiment B")
        page.get_by_label("Site web").fill("http://www.example.org")
        page.get_by_role("button", name="Sauvegarder le brouillon").click()
        assert page.locator("#id_site_web-desc-error").is_visible()
        assert page.get_by_label("Complément d'adresse").input_value() == "Bâtiment B"
        page.get_by_label("Site web").fill("https://www.example.org")
        page.get_by_role("button", name="Sauvegarder le brouillon").click()
        page.get_by_text("Brouillon sauvegardé").wait_for()
        assert ChangeRequest.objects.get(structure=structure).structure_version.complement == "Bâtiment B"
    finally:
        context.close()


def test_f6_address_partials_fill_the_prefixed_fields_of_another_form(page, fake_ban, settings, record):
    """The session's « Créer un nouveau lieu de formation » (lead) uses the partials with
    prefix="lieu-" and form_id="session-form": see docs/structures.md."""
    settings.ROOT_URLCONF = "tests.structures.lieu_demo_urls"
    _, user = record
    login(page, user.email)
    page.goto("/essai-lieu/")
    page.get_by_label("Nom du lieu").fill("AFPA de Tours")
    page.locator("[data-address-search][data-address-ready]").wait_for(state="attached")  # its script is set up
    search = page.get_by_label("Rechercher une adresse")
    search.press_sequentially("56 avenue du danemark", delay=20)
    page.get_by_role("button", name="56 Avenue du Danemark 37100 Tours").click()
    assert page.get_by_label("Numéro et voie").input_value() == "56 Avenue du Danemark"
    assert page.get_by_label("Code postal").input_value() == "37100"
    assert page.get_by_label("Ville").input_value() == "Tours"
    assert page.locator("[name='lieu-latitude']").input_value() == "47.419900"
    assert page.get_by_label("Numéro et voie").is_editable()  # no « Saisie manuelle » box: nothing locked
    # typing by hand drops the geolocation; « Localiser l'adresse » finds it again in place
    page.get_by_label("Numéro et voie").fill("10 Rue Grande")
    page.get_by_label("Code postal").fill("36000")
    page.get_by_label("Ville").fill("Châteauroux")
    assert page.locator("[name='lieu-latitude']").input_value() == ""
    page.get_by_role("button", name="Localiser l'adresse").click()
    page.get_by_text("Adresse localisée : 10 Rue Grande 36000 Châteauroux").wait_for()
    assert page.locator("[name='lieu-code_insee']").input_value() == "36044"
    page.get_by_role("button", name="Sauvegarder et choisir").click()
    expect(page.locator("#saved")).to_have_text("10 Rue Grande|36000|Châteauroux|36044|46.811000|1.690500")

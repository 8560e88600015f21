"""Issue 10, « Smaller ones » (OF side) in Chromium: what a person sees of the recruitment
modalities (F13), the « Personne » search of a session contact (F7), « Me géolocaliser »
(C4, F6), the account request's file and consent link (A2) and the login after activation
(A4). Every page is checked for script and console errors (U1)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from ofeli.formations.models import RecruitmentSlot
from tests.e2e.helpers import in_viewport, login, watch
from tests.factories import ContactFactory, StructureFactory, draft_formation
from tests.public.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session_page():
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    return change, sv, url


def test_f13_recruitment_modalities_read_like_the_guide(page, session_page):
    change, sv, url = session_page
    RecruitmentSlot.objects.filter(session_version=sv).update(modalite="8")
    errors = watch(page)
    login(page, change.created_by.email)
    page.goto(url)
    table = page.locator("#inscription tbody")
    expect(table.get_by_role("cell", name="Rendez-vous individuel", exact=True)).to_be_visible()
    assert "8 - " not in table.inner_text()
    page.get_by_text("Ajouter une modalité de recrutement").click()
    select = page.get_by_label("Modalité de recrutement")
    expect(select).to_be_visible()
    options = select.locator("option").all_inner_texts()
    assert "Réunion d'information collective" in options and "Inscription sur candidature" in options
    assert not [o for o in options if re.match(r"\d+ - ", o)]
    errors.check()


def test_f7_personne_is_searched_with_a_type_ahead_and_chosen_by_its_radio(page, session_page, axe_source):
    change, sv, url = session_page
    structure = change.formation.structure
    laure = ContactFactory(structure=structure, nom="THEVENIN", prenom="Laure")
    ContactFactory(structure=structure, nom="MARC", prenom="Carole")
    ContactFactory(structure=StructureFactory(), nom="THEVENIN", prenom="Louise")  # not the user's structure
    errors = watch(page)
    login(page, change.created_by.email)
    page.goto(url)
    page.get_by_text("Ajouter un contact", exact=True).click()
    search = page.get_by_label("Personne")
    expect(search).to_be_visible()
    assert search.evaluate("el => el.tagName") == "INPUT"  # not a drop-down
    search.press_sequentially("theve", delay=20)
    choice = page.get_by_label(f"{laure.reference} Laure THEVENIN")
    choice.wait_for()
    assert page.locator("#contact-results").get_by_text("Louise").count() == 0
    assert page.locator("#contact-results").get_by_role("cell", name="MARC").count() == 0
    # Entrée in the field runs the search, it never submits the page with another button
    page.evaluate("window.ofsmallMarker = 1")
    search.press("Enter")
    expect(page.locator("#contact-results input[type=radio]")).to_have_count(1)
    assert page.evaluate("window.ofsmallMarker") == 1  # no page load: the search ran in place
    # the radio is drawn (the guide: select at the left), and usable with the keyboard
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    label = page.locator(f'label[for="ct-contact-{laure.pk}"]')
    label.scroll_into_view_if_needed()
    assert in_viewport(label)
    # the DSFR radio is drawn by the label's ::before: the label has room and visible text
    assert label.bounding_box()["width"] >= 40 and laure.reference in label.inner_text()
    assert [v for v in axe_violations(page, axe_source) if "contact" in " ".join(v["nodes"])] == []
    search.press("ArrowDown")
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    page.locator("#id_ct-type_contact").select_option(label="3 - Référent pédagogique")
    page.get_by_role("button", name="Valider ma sélection").first.click()
    page.get_by_role("cell", name="Laure THEVENIN", exact=True).wait_for()
    assert sv.contacts.get(contact=laure).type_contact == "3"
    # the magnifier with nothing typed lists every contact of the user's structures
    page.get_by_text("Ajouter un contact", exact=True).click()
    page.locator("[data-contact-search]").get_by_role("button", name="Rechercher").click()
    page.locator("#contact-results").get_by_role("cell", name="MARC", exact=True).wait_for()
    assert page.locator("#contact-results").get_by_text("Louise").count() == 0
    errors.check()


def test_f11_total_duration_unit_follows_the_number_typed(page, session_page):
    """Issue 10 plurals: « 1 heure », « 2 heures » also when the total is computed as one types."""
    change, sv, url = session_page
    errors = watch(page)
    login(page, change.created_by.email)
    page.goto(url)
    total = page.locator("[data-duration-unit]")
    expect(total).to_have_text("heures")  # 600 from the factory
    page.get_by_label("Durée en centre (heures)").fill("1")
    page.get_by_label("Durée en entreprise (heures)").fill("0")
    expect(page.locator("[data-duration-total]")).to_have_text("1")
    expect(total).to_have_text("heure")
    page.get_by_label("Durée en entreprise (heures)").fill("1")
    expect(total).to_have_text("heures")
    errors.check()


def test_a2_account_request_keeps_the_chosen_file_and_links_the_consent(page, tmp_path, axe_source):
    from ofeli.users.models import AccountRequest

    proof = tmp_path / "declaration.pdf"
    proof.write_bytes(b"%PDF-1.4 declaration")
    errors = watch(page)
    page.goto(reverse("users:account_request"))
    # the consent text links to the personal-data page (new window)
    link = page.locator("#consent-text").get_by_role("link", name=re.compile("politique de gestion des données"))
    expect(link).to_be_visible()
    with page.expect_popup() as popup:
        link.click()
    popup.value.get_by_role("heading", name=re.compile("données personnelles", re.I)).first.wait_for()
    popup.value.close()
    page.get_by_label("SIRET de l'établissement de formation").fill("123")
    page.locator("#id_nda").fill("24370369337")
    page.locator("#id_last_name").fill("Dupont")
    page.get_by_label("Prénom du contact référent").fill("Marie")
    page.get_by_label("Téléphone du contact référent").fill("0238000000")
    page.get_by_label("Adresse e-mail du contact référent").fill("marie.dupont@example.org")
    page.get_by_label("Fichier de déclaration d'activité (facultatif)").set_input_files(str(proof))
    page.locator("label[for=id_consent]").click()
    page.get_by_role("button", name="Créer votre compte").click()
    summary = page.locator("[data-error-summary]")
    assert in_viewport(summary)
    kept = page.get_by_text("Fichier conservé : declaration.pdf")
    expect(kept).to_be_visible()
    assert axe_violations(page, axe_source) == []
    page.get_by_label("SIRET de l'établissement de formation").fill("21860076500018")
    page.get_by_role("button", name="Créer votre compte").click()
    page.wait_for_url(re.compile("confirmation"))
    request_row = AccountRequest.objects.get()
    with request_row.nda_file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 declaration"
    errors.check()


def test_a4_after_activation_the_login_form_is_prefilled_with_the_email(page):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from tests.factories import UserFactory

    # fixed names: a random one (« Martin ») may be too close to the password for its validator
    user = UserFactory(email="marie.dupont@example.org", first_name="Marie", last_name="Dupont")
    uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    errors = watch(page)
    page.goto(reverse("users:activate", args=[uid, token]))
    page.locator("#id_new_password1").fill("Formation!2026")
    page.get_by_label("Confirmation du mot de passe").fill("Formation!2026")
    page.get_by_role("button", name="Sauvegarder").click()
    page.wait_for_url(re.compile("/connexion/"))
    page.get_by_text("Votre mot de passe est enregistré").wait_for()
    expect(page.get_by_label("Adresse e-mail")).to_have_value("marie.dupont@example.org")
    password = page.get_by_label(re.compile(r"^\s*Mot de passe"))
    expect(password).to_be_focused()
    password.fill("Formation!2026")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", name=re.compile("Tableau de bord|Espace structure|Choisir")).first.wait_for()
    errors.check()


@pytest.mark.parametrize("width", [1280, 900, 375])
def test_f7_u1_personne_search_is_usable_at_every_width(page, session_page, width):
    change, sv, url = session_page
    laure = ContactFactory(structure=change.formation.structure, nom="THEVENIN", prenom="Laure")
    errors = watch(page, width=width)
    login(page, change.created_by.email)
    page.goto(url)
    page.get_by_text("Ajouter un contact", exact=True).click()
    search = page.get_by_label("Personne")
    search.scroll_into_view_if_needed()
    assert in_viewport(search)
    button = page.locator("[data-contact-search]").get_by_role("button", name="Rechercher")
    assert in_viewport(button)
    box = button.bounding_box()
    assert box["x"] + box["width"] <= width  # the magnifier is not pushed out of the window
    button.click()
    label = page.locator(f'label[for="ct-contact-{laure.pk}"]')
    label.wait_for()
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    label.scroll_into_view_if_needed()
    assert in_viewport(label)
    label.click()
    expect(page.get_by_label(f"{laure.reference} Laure THEVENIN")).to_be_checked()
    errors.check()

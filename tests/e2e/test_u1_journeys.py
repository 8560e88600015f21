"""U1 (issue 10): the OF journey and the Carif review, walked in Chromium the way the user
guide tells them, at 1280, 900 and 375 px wide.

Each test fails on any JavaScript error or console error of any page it visits, clicks only
controls it has seen visible (at 375 px the header's « Menu » button and the left menu's
« Menu » button open what the DSFR folds), and after refused actions checks that the error
message is inside the window and has the focus. axe-core runs on every page of the OF
journey and on the Carif pages (dashboard, queue, requests, account requests, structures,
broadcast): no serious or critical violation."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from ofeli.mails.models import MailKind, MailStatus, OutgoingMail
from ofeli.users.models import AccountRequest, User
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest
from tests.e2e.helpers import WIDTHS, login, watch
from tests.factories import (
    DispositifFactory,
    StaffFactory,
    StructureFactory,
    StructureStateFactory,
    StructureTypeFactory,
    draft_formation,
)
from tests.public.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ofeli-2026!"


# --- what every step checks -------------------------------------------------------------


def assert_in_viewport(locator, what="the error message"):
    """The element is visible and its top lies inside the window (the page may still be
    scrolling to it: checked for up to 2 seconds, what a person would see)."""
    expect(locator).to_be_visible()
    page = locator.page
    window = page.viewport_size
    for _ in range(20):
        box = locator.bounding_box()
        if box and -2 <= box["y"] < window["height"] - 20 and -2 <= box["x"] < window["width"] - 20:
            return box
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} is out of the {window['width']}×{window['height']} window: {box}")


def assert_error_in_view(locator):
    """After a refused action: the error summary is in the window and has the focus (read first)."""
    assert_in_viewport(locator)
    expect(locator).to_be_focused()


def click(locator):
    """A person clicks only what is drawn: visible, then clicked."""
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_visible()
    locator.click()


def side_menu(page, name):
    """A link of the left menu; below 768 px the DSFR folds it behind its « Menu » button."""
    link = page.locator("#app-sidemenu").get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        click(page.locator("#app-sidemenu").get_by_role("button", name="Menu"))
        page.wait_for_function("() => document.querySelector('#sidemenu-wrapper').getBoundingClientRect().height > 0")
    with page.expect_navigation():
        click(link)


def logout(page):
    """« Se déconnecter » in the header; below 992 px it is in the menu the « Menu » button opens."""
    button = page.locator("header .fr-header__tools").get_by_role("button", name="Se déconnecter")
    if not button.is_visible():
        click(page.locator("#header-menu-button"))  # « Menu »
        button = page.locator("#header-menu").get_by_role("button", name="Se déconnecter")
    with page.expect_navigation():
        click(button)


def axe_clean(page, axe_source, found):
    violations = axe_violations(page, axe_source)
    if violations:
        found[page.url] = violations


# --- the OF journey ---------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_of_journey_account_structure_formation_session_submit(page, width, axe_source):
    """U1: « Créer mon compte » → activation link of the mail → « Ma structure » (Demande de
    modification, Soumettre pour validation) → « Formations » « Ajouter » → a session →
    « Soumettre pour validation », each refusal shown in the window; axe-core on each page
    (with its error shown): no serious or critical violation."""
    errors = watch(page, width)
    found = {}
    StructureTypeFactory()
    StructureStateFactory()
    DispositifFactory()
    staff = StaffFactory()
    email = f"laure.{width}@example.org"

    # 1. « Créer mon compte » (from the login page, whatever the width).
    page.goto("/ofeli/")
    click(page.locator("main").get_by_role("link", name="Créer mon compte"))
    page.get_by_label("SIRET de l'établissement de formation").fill("21860076500019")  # wrong key
    page.get_by_role("textbox", name="Numéro de déclaration d'activité").fill("24370369337")
    page.get_by_role("textbox", name="Nom du contact référent", exact=True).fill("Thevenin")
    page.get_by_label("Prénom du contact référent").fill("Laure")
    page.get_by_label("Téléphone du contact référent").fill("0238778335")
    page.get_by_label("Adresse e-mail du contact référent").fill(email)
    click(page.get_by_text("J'accepte la"))
    with page.expect_navigation():
        click(page.get_by_role("button", name="Créer votre compte"))
    assert_error_in_view(page.locator("#form-errors"))
    axe_clean(page, axe_source, found)
    expect(page.locator("#form-errors")).to_contain_text("SIRET")
    page.get_by_label("SIRET de l'établissement de formation").fill("21860076500018")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Créer votre compte"))
    expect(page.get_by_text("Votre demande de compte est enregistrée")).to_be_visible()
    errors.check()

    # 2. The Carif accepts the request (its screen is walked in the Carif test); the
    #    activation mail is recorded in the outbox and sent.
    from ofeli.users import services as user_services

    user_services.accept_account_request(
        AccountRequest.objects.get(email=email),
        staff,
        raison_sociale="OF PRESENTATION OFELI",
        nom="OF présentation OFELI",
    )
    assert OutgoingMail.objects.filter(kind=MailKind.ACTIVATION, to=email, status=MailStatus.SENT).exists()
    link = re.search(r"http://\S+/activer/\S+/", mail.outbox[-1].body).group(0)

    # 3. « activer mon compte » : a weak password is refused in view, then « Sauvegarder ».
    page.goto(link)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill("motdepasse")
    page.get_by_label("Confirmation du mot de passe").fill("motdepasse")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder"))
    assert_error_in_view(page.locator("#form-errors"))
    axe_clean(page, axe_source, found)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder"))
    expect(page.get_by_text("Votre mot de passe est enregistré")).to_be_visible()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(PASSWORD)
    with page.expect_navigation():
        click(page.get_by_role("button", name="Se connecter"))
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    axe_clean(page, axe_source, found)
    errors.check()

    # 4. « Ma structure » → « Demande de modification »: an e-mail without @ is
    #    refused in view, then « Sauvegarder le brouillon » and « Soumettre pour validation ».
    side_menu(page, "Ma structure")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Demande de modification"))
    click(page.get_by_role("tab", name="Coordonnées"))
    click(page.locator("label[for='id_saisie_manuelle']"))  # « Saisie manuelle »
    page.get_by_label("Numéro et voie").fill("10 Rue Saint-Étienne")
    page.get_by_label("Code postal").fill("45000")
    page.get_by_label("Ville").fill("Orléans")
    page.get_by_label("Site web").fill("https://www.of-presentation.fr")
    page.get_by_label("E-mail principal").fill("contact.of-presentation.fr")  # no @
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder le brouillon"))
    assert_error_in_view(page.locator("#form-errors"))
    axe_clean(page, axe_source, found)
    expect(page.locator("#form-errors")).to_contain_text("E-mail principal")
    page.get_by_label("E-mail principal").fill("contact@of-presentation.fr")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder le brouillon"))
    expect(page.get_by_text("Brouillon sauvegardé")).to_be_visible()
    with page.expect_navigation():
        click(page.get_by_role("button", name="Soumettre pour validation"))
    user = User.objects.get(email=email)
    structure = user.memberships.get().structure
    assert ChangeRequest.objects.filter(structure=structure, formation=None, status=ChangeStatus.SUBMITTED).exists()
    errors.check()

    # 5. « Formations » → « Ajouter »: « Créer » without a title is refused in view.
    side_menu(page, "Formations")
    click(page.get_by_role("link", name="Ajouter", exact=True))
    click(page.locator("label[for='id_certifiante_0']"))  # « Non »
    with page.expect_navigation():
        click(page.get_by_role("button", name="Créer", exact=True))
    assert_error_in_view(page.locator("#form-errors"))
    axe_clean(page, axe_source, found)
    page.get_by_label("Intitulé de la formation").fill("Accueil et relation client en agence")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Créer", exact=True))
    expect(page.get_by_role("heading", name="Accueil et relation client en agence")).to_be_visible()
    page.get_by_label("Objectif").fill("Accueillir, informer et orienter la clientèle d'une agence.")
    page.get_by_label("Contenu").fill("Accueil physique et téléphonique, traitement des réclamations.")
    page.get_by_label("Niveau d'entrée").select_option(label="Niveau 3")

    # 6. « Soumettre pour validation » before any session: refused, the points in view.
    with page.expect_navigation():
        click(page.get_by_role("button", name="Soumettre pour validation"))
    assert_error_in_view(page.locator("#problems"))
    axe_clean(page, axe_source, found)

    # 7. « Ajouter » a session: dates, a new place, a financement, a recruitment modality, durations.
    with page.expect_navigation():
        click(page.locator("#formation-form").get_by_role("button", name="Ajouter", exact=True))
    page.get_by_role("textbox", name="Date de début").fill("2027-09-06")
    page.get_by_role("textbox", name="Date de fin").fill("2028-06-30")
    click(page.get_by_text("Créer un nouveau lieu de formation"))
    page.get_by_label("Nom du lieu").fill("OF pour les tests OFELI")
    page.get_by_label("Numéro et voie").fill("10 Rue Saint-Étienne")
    page.get_by_label("Code postal").fill("45000")
    page.get_by_label("Ville").fill("Orléans")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder et choisir"))
    expect(page.get_by_text("Lieu « OF pour les tests OFELI » créé")).to_be_visible()
    click(page.get_by_text("Ajouter un financement"))
    page.get_by_label("Financeur").select_option(index=1)
    page.locator("#id_fin-dispositif option").nth(1).wait_for(state="attached")
    page.get_by_label("Mesure").select_option(index=1)
    with page.expect_navigation():
        click(page.locator("#add-financement").get_by_role("button", name="Valider"))
    # an information meeting needs its date and times: « Valider » without them is refused in view
    click(page.get_by_text("Ajouter une modalité de recrutement"))
    page.get_by_label("Modalité de recrutement").select_option(value="9")
    with page.expect_navigation():
        click(page.locator("#add-slot").get_by_role("button", name="Valider"))
    assert_error_in_view(page.locator("#error-summary"))
    axe_clean(page, axe_source, found)
    assert page.locator("#add-slot").evaluate("el => el.open"), "the refused panel is not re-opened"
    page.get_by_label("Modalité de recrutement").select_option(value="7")  # « inscription sur candidature »
    with page.expect_navigation():
        click(page.locator("#add-slot").get_by_role("button", name="Valider"))
    page.get_by_label("Durée en centre (heures)").fill("300")
    page.get_by_label("Durée en entreprise (heures)").fill("140")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Sauvegarder le brouillon"))
    expect(page.get_by_text("Session sauvegardée dans le brouillon")).to_be_visible()

    # 8. Back on the formation: « Soumettre pour validation ».
    with page.expect_navigation():
        click(page.get_by_role("button", name="Soumettre pour validation"))
    expect(page.get_by_text("Votre demande est envoyée")).to_be_visible()
    assert ChangeRequest.objects.filter(
        structure=structure, formation__isnull=False, status=ChangeStatus.SUBMITTED
    ).exists()
    if width < 992:  # the header's tools are folded behind its « Menu » button
        expect(page.locator(".fr-header__tools-links")).to_be_hidden()
        expect(page.locator("#header-menu-button")).to_be_visible()
    logout(page)
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    assert found == {}, found
    errors.check()


# --- the Carif review -------------------------------------------------------------------


def submitted_requests():
    """A submitted formation (to accept) and a submitted structure record (to refuse)."""
    formation_change = draft_formation(intitule="Comptabilité pour les petites entreprises")
    user = formation_change.created_by
    services.submit(formation_change, user)
    structure = formation_change.structure
    structure_change = services.start_structure_change(structure, user)
    version = structure_change.structure_version
    version.site_web = "https://www.exemple-of.fr"
    version.save()
    services.submit(structure_change, user)
    return formation_change, structure_change


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_carif_review_queue_accept_refuse_and_axe(page, width, axe_source):
    """U1: « Demandes à valider » → open a request → « Accepter et publier »; the other one
    « Refuser » without a comment is refused in view, then with one. axe-core on the
    dashboard, the queue, both requests, « Demandes de compte », « Structures » and
    « Écrire à plusieurs structures »."""
    errors = watch(page, width)
    formation_change, structure_change = submitted_requests()
    StructureFactory(nom="Autre organisme")
    staff = StaffFactory()
    found = {}
    login(page, staff.email, "Motdepasse!1")
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    axe_clean(page, axe_source, found)

    # « Demandes à valider » → the formation request → « Accepter et publier ».
    side_menu(page, "Demandes à valider")
    axe_clean(page, axe_source, found)
    results = page.locator("#queue-results")
    click(results.get_by_role("link", name=f"Ouvrir la demande n°{formation_change.pk}", exact=True))
    expect(page.get_by_role("heading", name=f"Demande n°{formation_change.pk}")).to_be_visible()
    axe_clean(page, axe_source, found)
    with page.expect_navigation():
        click(page.get_by_role("button", name="Accepter et publier"))
    assert_in_viewport(page.get_by_text("Demande acceptée : la nouvelle version est publiée."), "the confirmation")
    formation_change.refresh_from_db()
    assert formation_change.status == ChangeStatus.ACCEPTED

    # The structure request: « Refuser » without a comment is refused, the message in view.
    click(
        page.locator("#queue-results").get_by_role(
            "link", name=f"Ouvrir la demande n°{structure_change.pk}", exact=True
        )
    )
    expect(page.get_by_role("heading", name=f"Demande n°{structure_change.pk}")).to_be_visible()
    axe_clean(page, axe_source, found)
    with page.expect_navigation():
        click(page.get_by_role("button", name="Refuser"))
    assert_error_in_view(page.locator("#form-errors"))
    axe_clean(page, axe_source, found)
    structure_change.refresh_from_db()
    assert structure_change.status == ChangeStatus.SUBMITTED
    page.get_by_label("Commentaire").fill("Le site web indiqué ne répond pas.")
    with page.expect_navigation():
        click(page.get_by_role("button", name="Refuser"))
    assert_in_viewport(page.get_by_text("Demande refusée."), "the confirmation")
    structure_change.refresh_from_db()
    assert structure_change.status == ChangeStatus.REFUSED

    # « Demandes de compte », « Structures » and « Écrire à plusieurs structures ».
    side_menu(page, "Demandes de compte")
    axe_clean(page, axe_source, found)
    side_menu(page, "Structures")
    axe_clean(page, axe_source, found)
    side_menu(page, "Messagerie Carif")
    with page.expect_navigation():
        click(page.get_by_role("link", name="Écrire à plusieurs structures"))
    axe_clean(page, axe_source, found)
    assert found == {}, found
    errors.check()

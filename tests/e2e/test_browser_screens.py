"""Issue 10 in Chromium: errors in view after a refused action (U1, F13), the principal
trainer question in view and no leftover place (F3), the header at narrow widths (B1).
Every test fails on any JavaScript or console error of the pages it visits."""

import datetime

import pytest
from django.urls import reverse

from ofeli.formations.models import RecruitmentSlot, SessionTrainer
from ofeli.structures.models import StructureVersion
from tests.e2e.helpers import WIDTHS, in_viewport, is_focused, login, watch
from tests.factories import StructureFactory, draft_formation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def session_url(change):
    sv = change.formation_version.sessions.get()
    return f"/ofeli/formations/{change.formation.reference}/sessions/{sv.session.reference}/", sv


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_f13_refused_slot_comes_back_with_the_error_summary_in_view(page, width):
    errors = watch(page, width)
    change = draft_formation()
    url, sv = session_url(change)
    RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="9",
        date=datetime.date(2027, 3, 1),
        heure_debut=datetime.time(10),
        heure_fin=datetime.time(11),
        nb_places=10,
        structure=change.formation.structure,
    )
    login(page, change.created_by.email)
    page.goto(url)
    page.get_by_text("Ajouter une modalité de recrutement").click()
    page.locator("#id_rs-modalite").select_option(value="9")
    page.locator("#id_rs-date").fill("2027-03-01")
    page.locator("#id_rs-heure_debut").fill("10:30")
    page.locator("#id_rs-heure_fin").fill("11:30")
    page.locator("#id_rs-nb_places").fill("5")
    page.get_by_label("Adresse OF Formateur").check(force=True)
    with page.expect_navigation():
        page.locator("#add-slot").get_by_role("button", name="Valider").click()
    summary = page.locator("#error-summary")
    assert in_viewport(summary), "the error summary is not in the window"
    assert is_focused(summary)
    assert "se chevauchent" in summary.inner_text()
    assert page.locator("#add-slot").evaluate("el => el.open"), "the refused panel is not re-opened"
    # the summary links to the field: following it brings the field into view, typed values kept
    summary.get_by_role("link").first.click()
    field = page.locator("#id_rs-heure_debut")
    assert in_viewport(field) and is_focused(field)
    assert field.input_value() == "10:30"
    assert sv.recruitment_slots.filter(date__isnull=False).count() == 1  # nothing was added
    errors.check()


def other_trainer(name, adresse, code_postal, ville):
    structure = StructureFactory(nom=name, with_version=False)
    version = StructureVersion.objects.create(
        structure=structure, adresse=adresse, code_postal=code_postal, ville=ville, code_insee="37261"
    )
    structure.live_version = version
    structure.save(update_fields=["live_version"])
    return structure


@pytest.mark.parametrize("width", (1280, 375))
def test_f3_principal_trainer_question_is_in_view_and_switching_back_leaves_no_place(page, width):
    errors = watch(page, width)
    change = draft_formation()
    url, sv = session_url(change)
    responsable = change.formation.structure
    other = other_trainer("Formateur associé", "2 Place Jean Jaurès", "37000", "Tours")
    SessionTrainer.objects.create(session_version=sv, structure=other, is_principal=False)
    login(page, change.created_by.email)
    page.goto(url)
    home = responsable.live_version.adresse
    for target, expected in ((other, "2 Place Jean Jaurès"), (responsable, home), (other, "2 Place Jean Jaurès")):
        with page.expect_navigation():
            page.get_by_role("button", name=f"Rendre principal {target.nom}").click()
        question = page.locator("#principal-question")
        assert in_viewport(question), "the « Vous venez de modifier l'OF Formateur principal » question is out of view"
        assert in_viewport(question.get_by_role("button", name="Oui"))
        with page.expect_navigation():
            question.get_by_role("button", name="Oui").click()
        places = list(sv.places.select_related("lieu"))
        assert [p.lieu.adresse for p in places] == [expected], "the former trainer's place stayed in the session"
        sv.refresh_from_db()
        assert sv.lieu_inscription.adresse == expected
    assert "Lieu de formation principal et lieu d'inscription" in page.locator("[role=status]").inner_text()
    errors.check()


@pytest.mark.parametrize("width", WIDTHS)
def test_b1_u1_header_menu_at_every_width_without_script_error(page, width):
    errors = watch(page, width)
    change = draft_formation()
    login(page, change.created_by.email)
    page.goto("/ofeli/")
    logout = page.get_by_role("button", name="Se déconnecter")
    if width < 992:
        menu = page.locator("#header-menu-button")
        assert in_viewport(menu)
        menu.click()
        logout = page.locator("#header-menu").get_by_role("button", name="Se déconnecter")
        assert in_viewport(page.locator("#header-menu").get_by_role("link", name="Site"))
    assert in_viewport(logout)
    errors.check()


def radio_is_drawn(page, input_id):
    """The DSFR draws a radio as its label's background, right after the input: the label
    must follow its input and have a size; a person clicks the drawn radio (the label)."""
    label = page.locator(f"label[for='{input_id}']")
    assert page.locator(f"#{input_id} + label").count() == 1, f"the label of #{input_id} does not follow its input"
    box = label.bounding_box()
    assert box and box["height"] >= 20 and box["width"] >= 20, f"nothing drawn for #{input_id}: {box}"
    assert "radial-gradient" in label.evaluate("el => getComputedStyle(el).backgroundImage")
    return label


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_e2_f3_radios_are_drawn_on_ajouter_certification_results_and_trainer_results(page, width):
    from tests.factories import CertificationFactory

    errors = watch(page, width)
    certification = CertificationFactory(code_certifinfo="54913", intitule="CAP boucher", code_rncp="37473")
    change = draft_formation()
    login(page, change.created_by.email)
    page.goto("/ofeli/formations/ajouter/")
    for choice in ("id_certifiante_0", "id_certifiante_1"):
        assert in_viewport(radio_is_drawn(page, choice))
    page.goto("/ofeli/formations/ajouter/?q=boucher")
    label = radio_is_drawn(page, f"cert-{certification.pk}")
    label.scroll_into_view_if_needed()
    label.click()  # « cochez la case à gauche »
    assert page.locator(f"#cert-{certification.pk}").is_checked()
    assert page.locator("#id_certifiante_1").is_checked()
    # « Ajouter un organisme formateur » results
    url, _sv = session_url(change)
    other = StructureFactory(nom="Organisme partenaire boucherie")
    page.goto(url)
    page.get_by_text("Ajouter un organisme formateur").click()
    page.locator("#trainer_q").fill("partenaire")
    page.locator(f"#trainer-{other.pk}").wait_for(state="attached")
    label = radio_is_drawn(page, f"trainer-{other.pk}")
    label.scroll_into_view_if_needed()
    label.click()
    assert page.locator(f"#trainer-{other.pk}").is_checked()
    errors.check()


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_c2_gestion_tab_in_view_and_no_blank_under_the_tabs(page, width):
    from tests.factories import MembershipFactory

    errors = watch(page, width)
    structure = StructureFactory(nom="OF présentation OFELI")
    user = MembershipFactory(structure=structure).user
    login(page, user.email)
    page.goto(f"/ofeli/structures/{structure.reference}/")
    page.locator("[data-fr-js-tab-button]").first.wait_for(state="attached")
    tab = page.get_by_role("tab", name="Gestion")
    page.locator(".fr-tabs__list").scroll_into_view_if_needed()
    assert in_viewport(tab)
    box, window = tab.bounding_box(), page.viewport_size
    assert box["x"] + box["width"] <= window["width"], "« Gestion » is pushed off to the right"
    tab.click()
    panel = page.locator("#gestion")
    heading = panel.locator("h2").first
    heading.scroll_into_view_if_needed()
    assert in_viewport(heading)
    gap = heading.bounding_box()["y"] - page.locator(".fr-tabs__list").bounding_box()["y"]
    tabs_height = page.locator(".fr-tabs__list").bounding_box()["height"]
    assert gap - tabs_height < 120, f"blank area of {gap - tabs_height:.0f} px under the tabs"
    errors.check()


def test_u1_axe_of_and_carif_pages_have_no_serious_or_critical_violation(page, axe_source):
    from tests.factories import StaffFactory
    from tests.public.conftest import axe_violations

    errors = watch(page, 1280)
    change = draft_formation()
    url, sv = session_url(change)
    formation = change.formation
    of_pages = [
        "/ofeli/",
        "/ofeli/formations/",
        "/ofeli/formations/ajouter/",
        f"/ofeli/formations/{formation.reference}/",
        url,
        f"/ofeli/formations/{formation.reference}/sessions/{sv.session.reference}/dupliquer/",
        f"/ofeli/structures/{formation.structure.reference}/",
    ]
    found = {}
    login(page, change.created_by.email)
    for path in of_pages:
        page.goto(path)
        found[path] = axe_violations(page, axe_source)
    from ofeli.workflow import services

    services.submit(change, change.created_by)
    page.context.clear_cookies()
    login(page, StaffFactory().email)
    for path in ("/ofeli/", "/ofeli/carif/demandes/", f"/ofeli/carif/demandes/{change.pk}/"):
        page.goto(path)
        found[path] = axe_violations(page, axe_source)
    found = {path: v for path, v in found.items() if v}
    assert found == {}, found
    errors.check()


@pytest.mark.parametrize("width", WIDTHS)
def test_u1_f15_session_page_side_menu_section_status_and_save_bar_in_view(page, width):
    errors = watch(page, width)
    change = draft_formation()
    url, sv = session_url(change)
    sv.financements.all().delete()
    login(page, change.created_by.email)
    page.goto(url)
    menu = page.locator(".ofeli-session-menu")
    if width < 768:  # the DSFR folds the side menu behind its button
        button = menu.get_by_role("button", name="Rubriques de la session")
        assert in_viewport(button)
        button.click()
        page.wait_for_function(
            "() => document.querySelector(\".ofeli-session-menu a[href='#financements']\")"
            ".getBoundingClientRect().height > 0"
        )
        menu.locator("a[href='#financements']").scroll_into_view_if_needed()
    financements = menu.locator("a[href='#financements']")
    assert in_viewport(financements)
    assert "À compléter" in financements.text_content()  # the submission rule: no financement
    assert "Complète" in menu.locator("a[href='#durees']").text_content()
    menu.locator("a[href='#inscription']").click()
    assert in_viewport(page.locator("#inscription-title"))
    save = page.get_by_role("button", name="Sauvegarder le brouillon")
    assert in_viewport(save), "the save bar is not in view in the middle of the page"
    page.locator("#durees-title").scroll_into_view_if_needed()
    assert in_viewport(save)
    errors.check()


def test_g4_archiving_asks_for_confirmation(page):
    from tests.factories import StaffFactory, published_formation

    errors = watch(page, 1280)
    formation = published_formation()
    login(page, StaffFactory().email)
    page.goto(f"/ofeli/formations/{formation.reference}/")
    button = page.get_by_role("button", name="Archiver la formation")
    assert in_viewport(button) or button.scroll_into_view_if_needed() is None
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    button.click()
    page.wait_for_timeout(300)
    assert asked and "ne seront plus diffusées" in asked[0]
    formation.refresh_from_db()
    assert formation.archived_at is None  # « Annuler »: nothing archived
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        button.click()
    formation.refresh_from_db()
    assert formation.archived_at is not None
    errors.check()


def test_f15_enter_in_a_field_saves_the_draft_and_never_presses_another_button(page):
    """Entrée in a plain field of the session page submits it with the form's default button:
    that is « Sauvegarder le brouillon », not the first button of the page's tables (here
    « Rendre principal » of a second trainer, which would change the session)."""
    errors = watch(page)
    change = draft_formation()
    url, sv = session_url(change)
    other = other_trainer("Formateur associé", "2 Place Jean Jaurès", "37000", "Tours")
    SessionTrainer.objects.create(session_version=sv, structure=other, is_principal=False)
    login(page, change.created_by.email)
    page.goto(url)
    field = page.get_by_label("Durée hebdomadaire")
    field.fill("31")
    with page.expect_navigation():
        field.press("Enter")
    page.get_by_text("Session sauvegardée dans le brouillon.").wait_for()
    sv.refresh_from_db()
    assert sv.duree_hebdomadaire == 31
    assert sv.trainers.get(is_principal=True).structure == change.formation.structure
    assert page.locator("#principal-question").count() == 0
    errors.check()


def test_f1_enter_in_a_formation_field_saves_the_draft_and_never_offers_to_delete_the_request(page):
    """Entrée in a field of the formation page saves the draft: it never presses « Supprimer
    ma demande », the first button of the page (its confirmation would be one click from losing
    the request)."""
    errors = watch(page)
    change = draft_formation()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, change.created_by.email)
    page.goto(reverse("formations:detail", args=[change.formation.reference]))
    field = page.get_by_label("Intitulé de la formation")
    field.fill("Boucher (CAP) en alternance")
    with page.expect_navigation():
        field.press("Enter")
    page.get_by_text("Brouillon sauvegardé.").wait_for()
    assert dialogs == []
    change.formation_version.refresh_from_db()
    assert change.formation_version.intitule == "Boucher (CAP) en alternance"
    errors.check()

"""P1 and P2 in Chromium at 1280 and 375 px on a crafted offer around today's date: dead
sessions never « ouvertes », one card per formation, the « Filtrer » dialog (and its
disclosure without JavaScript), refused criteria at the top. Any console error fails."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from .conftest import CHATEAUROUX, SIZES, TODAY, OfferBuilder, axe_violations, north_of
from .conftest import open_screen as _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.timedelta


@pytest.fixture(params=list(SIZES))
def screen(request, _playwright_browser, live_server):
    context, page, errors = _open(_playwright_browser, live_server, request.param)
    page.phone = request.param == "375px"
    yield page
    context.close()
    assert errors == [], errors  # no console error


@pytest.fixture
def phone_without_js(_playwright_browser, live_server):
    context, page, errors = _open(_playwright_browser, live_server, "375px", java_script_enabled=False)
    yield page
    context.close()
    assert errors == []


@pytest.fixture
def crafted():
    """« CAP Boucher » near Châteauroux with a finished, a running (registration closed), a
    closed and an open session; another boucher formation; a remote one."""
    offer = OfferBuilder()
    boucher = offer.formation("CAP Boucher", sessions=[], index=False)
    version = boucher.live_version
    offer.session(version, debut=TODAY - D(300), fin=TODAY - D(3))
    offer.session(
        version, debut=TODAY - D(30), fin=TODAY + D(200), debut_inscription=TODAY - D(90), fin_inscription=TODAY - D(31)
    )
    offer.session(version, debut=TODAY + D(20), fin=TODAY + D(220), fin_inscription=TODAY - D(1))
    offer.session(version, debut=TODAY + D(60), fin=TODAY + D(260), debut_inscription=TODAY - D(10))
    offer.session(version, debut=TODAY + D(90), fin=TODAY + D(290), point=north_of(CHATEAUROUX, 12))
    from ofeli.public.indexing import rebuild

    rebuild([boucher.pk])
    other = offer.formation("Boucher charcutier traiteur", sessions=[{"point": north_of(CHATEAUROUX, 20)}])
    remote = offer.formation("Hygiène alimentaire en boucherie", sessions=[{"modalite": "2", "point": None}])
    return boucher, other, remote


def in_viewport(page, locator):
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + 10 <= page.viewport_size["height"]


def test_p1_p2_boucher_near_chateauroux_one_card_per_formation_and_no_dead_session_open(screen, crafted, axe_source):
    page = screen
    boucher, other, remote = crafted
    page.goto("/?q=boucher&lieu=Ch%C3%A2teauroux+%2836000%29&rayon=30")
    cards = page.locator(".formation-card")
    cards.first.wait_for()
    assert cards.count() == 3  # one card per formation, the remote one included
    card = page.locator(f'[data-formation-result="{boucher.reference}"]')
    # Four sessions still running or to come: three shown, « + 1 autre session ».
    assert card.locator(".group-session").count() == 3
    assert card.get_by_role("link", name="+ 1 autre session").is_visible()
    # Nearest first, then those one can join: the finished session is not in the results.
    statuses = [t.strip() for t in card.locator("[data-status]").all_text_contents()]
    assert statuses == ["Inscriptions ouvertes", "Inscriptions closes", "En cours"]
    assert (
        page.locator(f'[data-formation-result="{remote.reference}"]').get_by_text("Formation à distance").is_visible()
    )
    # Results first on a phone: the first card is within the first two screens.
    top = cards.first.bounding_box()["y"]
    assert top < 2 * page.viewport_size["height"], top
    if page.phone:
        assert not page.locator("#filtre-dpt").is_visible()  # the filters wait in their dialog
    assert axe_violations(page, axe_source) == []

    card.get_by_role("link", name="CAP Boucher", exact=True).click()
    page.get_by_role("heading", level=1, name="CAP Boucher").wait_for()
    sections = page.locator("section[id^=session-]")
    assert sections.count() == 5
    for index in range(sections.count()):
        section = sections.nth(index)
        status = section.locator("[data-status]").text_content().strip()
        hint = section.get_by_text("À indiquer à votre conseiller France Travail")
        assert hint.count() == (1 if status in ("Inscriptions ouvertes", "À venir", "Entrée permanente") else 0)
        if status in ("Terminée", "En cours", "Inscriptions closes"):
            assert "recrutement ouvert" not in section.inner_text()
    finished = page.locator("h2", has_text="Sessions terminées")
    assert finished.is_visible()
    assert page.locator("section[id^=session-]").last.locator("[data-status]").text_content() == "Terminée"
    assert axe_violations(page, axe_source) == []

    # The switch to the per-session list.
    page.go_back()
    page.get_by_role("link", name="Par session").click()
    page.locator(".result-card[data-numero-carif-result]").first.wait_for()
    assert page.locator(".result-card[data-numero-carif-result]").count() == 6
    assert page.get_by_role("heading", name="6 sessions de formation").is_visible()


def test_p2_filters_in_a_dialog_on_a_phone_beside_the_results_on_a_desktop(screen, crafted, axe_source):
    page = screen
    page.goto("/?q=boucher")
    page.locator(".formation-card").first.wait_for()
    opener = page.get_by_role("button", name="Filtrer")
    if not page.phone:
        assert not opener.is_visible()
        assert page.locator("#filtre-fin").is_visible()
        return
    assert opener.is_visible() and in_viewport(page, opener)
    assert not page.locator("#filtre-fin").is_visible()
    opener.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Affiner la recherche").wait_for()
    assert dialog.locator("#filtre-fin").is_visible()
    assert axe_violations(page, axe_source) == []
    with page.expect_response(lambda r: "modalite=2" in r.url):
        dialog.locator("label[for=modalite-2]").click()
    page.locator("#nb-filtres-actifs", has_text="1").wait_for()
    # The results follow the ticked box at once (htmx); closing the dialog shows them.
    page.get_by_role("heading", name="1 formation (1 session)").wait_for(state="attached")
    close = page.get_by_role("button", name="Fermer les filtres")
    if close.is_visible():
        close.click()
    page.get_by_role("heading", name="1 formation (1 session)").wait_for()
    expect(page.locator("#filtre-fin")).to_be_hidden()  # waits for the dialog's closing
    assert page.locator(".filters-open").is_visible()
    assert re.sub(r"\s+", " ", page.locator("#nb-filtres-actifs").text_content()).strip() == "(1 filtre actif)"
    assert page.locator(".formation-card").count() == 1


def test_p2_filters_are_a_disclosure_without_javascript(phone_without_js, crafted):
    page = phone_without_js
    page.goto("/?q=boucher")
    page.locator(".formation-card").first.wait_for()
    assert not page.locator("#filtre-fin").is_visible()
    summary = page.locator("summary", has_text="Filtrer")
    assert summary.is_visible()
    summary.click()
    assert page.locator("#filtre-modalite").is_visible()
    page.locator("label[for=modalite-2]").click()
    page.get_by_role("button", name="Appliquer les filtres").click()
    page.get_by_role("heading", name="1 formation (1 session)").wait_for()
    assert page.locator("summary", has_text="Filtrer (1").is_visible()


def test_p2_refused_criterion_at_the_top_tied_to_its_field(screen, crafted, axe_source):
    page = screen
    page.goto("/?code=RNCP-36395")
    alert = page.get_by_role("alert")
    assert alert.is_visible() and in_viewport(page, alert)
    assert "Saisissez un code RNCP ou RS" in alert.inner_text()
    assert page.locator(".result-card").count() == 0
    assert page.get_by_role("heading", name="Recherche non lancée : corrigez les critères signalés").count() == 1
    alert.get_by_role("link", name="Code RNCP ou RS").click()
    field = page.locator("#id_code")
    if page.phone:
        # The field is inside the filters: the disclosure / dialog shows it once asked for.
        page.get_by_role("button", name="Filtrer").click()
    field.wait_for(state="visible")
    assert field.input_value() == "RNCP-36395"
    assert page.locator("#id_code-error").inner_text().startswith("Saisissez un code RNCP ou RS")
    assert axe_violations(page, axe_source) == []

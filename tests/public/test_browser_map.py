"""P3 in Chromium at 1280 and 375 px: a map of the results and of a formation's places
(markers present, tiles disabled by the test settings), « Me géolocaliser » with a mocked
position; no console error; axe-core clean."""

import pytest
from playwright.sync_api import expect

from .conftest import CHATEAUROUX, OfferBuilder, axe_violations, north_of
from .test_browser_results import SIZES, _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=list(SIZES))
def located(request, _playwright_browser, live_server):
    # Near Déols, north of Châteauroux: the nearest bundled commune is Déols (36130).
    context, page, errors = _open(
        _playwright_browser,
        live_server,
        request.param,
        geolocation={"latitude": 46.8290, "longitude": 1.7030},
        permissions=["geolocation"],
    )
    page.phone = request.param == "375px"
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def placed():
    offer = OfferBuilder()
    two_places = offer.formation("CAP Boucher", sessions=[{}, {"point": north_of(CHATEAUROUX, 15)}])
    offer.formation("Boucher traiteur", sessions=[{}])  # same place as the first: one marker
    offer.formation("Boucherie en ligne", sessions=[{"modalite": "2", "point": None}])  # remote: no marker
    return two_places


def test_p3_map_of_the_results_and_of_a_formations_places(located, placed, axe_source):
    page = located
    page.goto("/?q=boucher")
    page.locator(".formation-card").first.wait_for()
    details = page.locator("details[data-map-details]")
    details.wait_for(state="attached")
    if page.phone:  # the results first; the map one tap away
        assert not page.locator("#carte-resultats").is_visible()
        details.locator("summary").click()
    page.locator("#carte-resultats .leaflet-marker-icon").first.wait_for()
    # Three places with coordinates on the page: Châteauroux (shared by two sessions) and 15 km north.
    assert page.locator("#carte-resultats .leaflet-marker-icon").count() == 2
    assert page.locator("#carte-resultats .leaflet-tile").count() == 0  # tiles disabled in tests
    page.locator("#carte-resultats .leaflet-marker-icon").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")  # faded in: axe sees its real colours
    assert popup.get_by_role("link").count() >= 1
    assert axe_violations(page, axe_source) == []

    page.goto(f"/formation/{placed.reference}/")
    page.get_by_role("heading", name="Carte des lieux de formation").wait_for()
    assert page.locator("#carte-lieux .leaflet-marker-icon").count() == 2
    assert axe_violations(page, axe_source) == []


def test_p3_geolocate_fills_the_nearest_bundled_commune(located, placed):
    page = located
    page.goto("/")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.get_by_role("button", name="Me géolocaliser").click()
    field = page.get_by_label("Ville ou code postal")
    expect(field).to_have_value("Déols (36130)")
    assert page.locator("#geolocalisation-statut").inner_text() == "Commune la plus proche : Déols (36130)."
    # Computed here: only our own list of communes was fetched, the position is not sent.
    assert [u for u in requests if "positions.json" in u] and all("46.82" not in u for u in requests)
    assert all(u.startswith(page.url.split("/")[0] + "//" + page.url.split("/")[2]) for u in requests)


def test_p3_without_javascript_the_list_stays_and_no_empty_map(_playwright_browser, live_server, placed):
    context, page, errors = _open(_playwright_browser, live_server, "375px", java_script_enabled=False)
    page.goto("/?q=boucher")
    assert page.locator(".formation-card").count() == 3
    assert not page.locator("details[data-map-details]").is_visible()
    assert not page.get_by_role("button", name="Me géolocaliser").is_visible()
    page.goto(f"/formation/{placed.reference}/")
    assert not page.get_by_role("heading", name="Carte des lieux de formation").is_visible()
    context.close()
    assert errors == []

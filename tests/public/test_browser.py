"""H1 in Chromium: the guide's « CAP Boucher » found near Châteauroux in the demo with its
Numéro CARIF; keyboard use of the search form; axe-core on the public pages."""

import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from ofeli.public.models import PublishedSession

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    call_command("load_demo", verbosity=0)
    call_command("rebuild_public_index", verbosity=0)


def test_h1_demo_visitor_finds_cap_boucher_near_chateauroux_and_reads_its_numero_carif(page, demo, axe_source):
    page.goto("/")
    page.get_by_label("Métier, formation, diplôme, organisme").fill("boucher")
    town = page.get_by_label("Ville ou code postal")
    town.fill("Châteaur")
    # The type-ahead (htmx) offers the town in the field's list.
    page.locator('#communes-suggestions option[value="Châteauroux (36000)"]').wait_for(state="attached")
    town.fill("Châteauroux (36000)")
    page.get_by_label("Rayon").select_option("30")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_text("Autour de Châteauroux (36000), dans un rayon de 30 km").wait_for()
    card = page.locator(".result-card", has=page.get_by_role("link", name="CAP Boucher", exact=True))
    assert card.count() >= 1
    assert re.search(r"à (moins de )?\d+ km", card.first.inner_text())
    assert axe_violations(page, axe_source) == []

    card.first.get_by_role("link", name="CAP Boucher", exact=True).click()
    page.get_by_role("heading", level=1, name="CAP Boucher").wait_for()
    expected = set(
        PublishedSession.objects.filter(formation__reference="0019057F", date_fin__gte=timezone.localdate())
        .filter(ville="Châteauroux")
        .values_list("numero_carif", flat=True)
    )
    shown = page.locator("[data-numero-carif]").first.inner_text().strip()
    assert shown in expected
    assert page.get_by_text(f"Numéro CARIF : {shown}").is_visible()
    # The change of contenu waiting for validation is not shown.
    assert "volaille et du gibier" not in page.content()
    assert axe_violations(page, axe_source) == []

    page.get_by_role("link", name="GIP Alfa Centre").first.click()
    page.get_by_role("heading", level=1, name="GIP Alfa Centre").wait_for()
    assert page.get_by_role("link", name="CAP Boucher").is_visible()
    assert axe_violations(page, axe_source) == []


def test_h1_search_form_works_with_the_keyboard(page, demo, axe_source):
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Contenu"  # skip link first
    page.get_by_label("Métier, formation, diplôme, organisme").focus()
    page.keyboard.type("boucher")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_lieu"
    page.keyboard.type("36000")
    page.keyboard.press("Tab")  # « Me géolocaliser » (P3) belongs to the place field
    assert page.evaluate("document.activeElement.textContent.trim()") == "Me géolocaliser"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_rayon"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Rechercher"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.locator("[data-place]", has_text="Châteauroux (36000)").wait_for()
    assert page.get_by_role("link", name="CAP Boucher").count() >= 1

    # A facet ticked with the space bar updates the results; focus stays on it.
    box = page.locator("#fin-apprentissage")
    box.focus()
    with page.expect_response(lambda r: "fin=apprentissage" in r.url):
        page.keyboard.press("Space")
    assert box.is_checked()
    assert page.evaluate("document.activeElement.id") == "fin-apprentissage"
    page.locator("#nb-resultats").get_by_text("session").wait_for()
    assert "fin=apprentissage" in page.url  # the address can be shared or bookmarked
    assert axe_violations(page, axe_source) == []


def test_h1_search_works_without_javascript(browser_without_js, demo):
    page = browser_without_js
    page.goto("/")
    page.get_by_label("Métier, formation, diplôme, organisme").fill("boucher")
    page.get_by_label("Ville ou code postal").fill("chateauroux")
    page.get_by_role("button", name="Rechercher").click()
    page.locator("[data-place]", has_text="Châteauroux (36000)").wait_for()
    page.get_by_role("link", name="CAP Boucher", exact=True).first.click()
    assert page.locator("[data-numero-carif]").first.inner_text().strip().endswith("S")


@pytest.fixture
def browser_without_js(_playwright_browser, live_server):
    context = _playwright_browser.new_context(locale="fr-FR", base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()

"""B1 « Affichage menu »: the left menu folds and unfolds, with the keyboard too, and the
choice is remembered on this browser."""

import pytest

from tests.e2e.test_browser_path import login
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_b1_left_menu_folds_and_is_remembered(page):
    user = MembershipFactory().user
    login(page, user.email, "Motdepasse!1")
    toggle = page.get_by_role("button", name="Affichage menu")
    menu = page.locator("#app-sidemenu")
    assert menu.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    toggle.focus()
    page.keyboard.press("Enter")
    assert not menu.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    page.reload()
    assert not page.locator("#app-sidemenu").is_visible()
    page.get_by_role("button", name="Affichage menu").click()
    assert page.locator("#app-sidemenu").is_visible()

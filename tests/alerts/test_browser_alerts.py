"""P5 in Chromium at 1280 and 375 px: « Créer une alerte » from the results, a refused
address, confirmation, the digest's unsubscribe link, « Gérer mes alertes »; axe-core on
every alert page, any console error fails; the whole path also works without JavaScript."""

import datetime
import re

import pytest

from ofeli.alerts import digest
from ofeli.alerts.models import Alert
from ofeli.mails.models import MailKind, OutgoingMail
from ofeli.public.indexing import rebuild
from tests.public.conftest import CHATEAUROUX, SIZES, TODAY, OfferBuilder, axe_violations, north_of
from tests.public.conftest import open_screen as _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.timedelta
SEARCH = "/?q=boucher&lieu=Ch%C3%A2teauroux+%2836000%29&rayon=30"


@pytest.fixture(params=list(SIZES))
def screen(request, _playwright_browser, live_server, settings):
    settings.SITE_URL = live_server.url
    context, page, errors = _open(_playwright_browser, live_server, request.param)
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def phone_without_js(_playwright_browser, live_server, settings):
    settings.SITE_URL = live_server.url
    context, page, errors = _open(_playwright_browser, live_server, "375px", java_script_enabled=False)
    yield page
    context.close()
    assert errors == []


@pytest.fixture
def boucher():
    offer = OfferBuilder()
    formation = offer.formation("CAP Boucher", sessions=[{"debut": TODAY + D(40)}])
    digest.run()  # what is published now is not « new » for alerts created later
    return offer, formation


def _mail_link(kind, address, name):
    body = OutgoingMail.objects.filter(kind=kind, to=address).latest("pk").body
    return re.search(r"https?://\S+/alertes/" + name + r"/\S+/", body).group(0)


def _in_viewport(page, locator):
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + 10 <= page.viewport_size["height"]


def _clean(page, axe_source):
    assert axe_violations(page, axe_source) == []


def test_p5_alert_life_cycle_in_the_browser(screen, boucher, axe_source):
    page = screen
    offer, formation = boucher
    address = f"lea.{page.viewport_size['width']}@example.fr"
    page.goto(SEARCH)
    button = page.get_by_role("link", name="Créer une alerte pour cette recherche")
    assert button.is_visible()
    if page.viewport_size["width"] < 500:
        # On a phone the button comes with the results, before the first cards' end.
        assert button.bounding_box()["y"] < page.locator(".formation-card").first.bounding_box()["y"]
    button.click()
    page.get_by_role("heading", level=1, name="Créer une alerte").wait_for()
    assert page.get_by_text("« boucher »").is_visible()
    _clean(page, axe_source)

    # A wrong address: the message on the field, in view, what was typed and the search kept.
    page.get_by_label("Votre adresse e-mail").fill("lea@exemple")
    page.get_by_role("button", name="Créer l'alerte").click()
    error = page.locator("#id_email-error")
    error.wait_for()
    assert "Saisissez une adresse e-mail valide" in error.inner_text()
    assert page.get_by_label("Votre adresse e-mail").input_value() == "lea@exemple"
    assert page.get_by_text("« boucher »").is_visible()
    assert _in_viewport(page, page.locator("#erreurs-formulaire"))
    _clean(page, axe_source)

    page.get_by_label("Votre adresse e-mail").fill(address)
    page.get_by_role("button", name="Créer l'alerte").click()
    page.get_by_role("heading", level=1, name="Confirmez votre alerte").wait_for()
    _clean(page, axe_source)

    page.goto(_mail_link(MailKind.ALERT_CONFIRMATION, address, "confirmer"))
    page.get_by_role("heading", level=1, name="Confirmer mon alerte").wait_for()
    _clean(page, axe_source)
    page.get_by_role("button", name="Confirmer mon alerte").click()
    page.get_by_role("heading", level=1, name="Alerte confirmée").wait_for()
    assert Alert.objects.get(email=address).is_confirmed
    _clean(page, axe_source)

    # A new session nearby: the nightly digest mails it, with the unsubscribe link.
    new = offer.session(formation.live_version, debut=TODAY + D(60), point=north_of(CHATEAUROUX, 8))
    rebuild([formation.pk])
    digest.run()
    body = OutgoingMail.objects.get(kind=MailKind.ALERT_DIGEST, to=address).body
    assert new.session.reference in body

    page.goto(_mail_link(MailKind.ALERT_DIGEST, address, "gerer"))
    page.get_by_role("heading", level=1, name="Mes alertes").wait_for()
    assert page.locator("[data-alert]").count() == 1
    _clean(page, axe_source)

    page.goto(_mail_link(MailKind.ALERT_DIGEST, address, "desinscription"))
    page.get_by_role("heading", level=1, name="Se désinscrire d'une alerte").wait_for()
    _clean(page, axe_source)
    page.get_by_role("button", name="Me désinscrire").click()
    page.get_by_role("heading", level=1, name="Désinscription confirmée").wait_for()
    assert not Alert.objects.filter(email=address).exists()
    _clean(page, axe_source)


def test_p5_manage_my_alerts_in_the_browser(screen, boucher, axe_source):
    page = screen
    address = f"zoe.{page.viewport_size['width']}@example.fr"
    from ofeli.alerts import services

    for words in ("boucher", "charcutier"):
        alert = Alert.objects.create(email=address, criteria={"q": words})
        services.confirm(alert)
    page.goto("/alertes/")
    page.get_by_role("heading", level=1, name="Gérer mes alertes").wait_for()
    _clean(page, axe_source)
    page.get_by_label("Votre adresse e-mail").fill("")
    page.get_by_role("button", name="Recevoir le lien").click()
    assert "Saisissez votre adresse e-mail." in page.locator("#id_email-error").inner_text()
    page.get_by_label("Votre adresse e-mail").fill(address)
    page.get_by_role("button", name="Recevoir le lien").click()
    page.get_by_role("heading", level=1, name="Lien envoyé").wait_for()
    _clean(page, axe_source)

    page.goto(_mail_link(MailKind.ALERT_MANAGE, address, "gerer"))
    page.get_by_role("heading", level=1, name="Mes alertes").wait_for()
    assert page.locator("[data-alert]").count() == 2
    _clean(page, axe_source)
    page.get_by_role("button", name="Se désinscrire de l'alerte « charcutier »").click()
    page.get_by_text("L'alerte est supprimée").wait_for()
    assert page.locator("[data-alert]").count() == 1
    page.get_by_role("button", name="Se désinscrire de l'alerte « boucher »").click()
    page.get_by_role("heading", name="Vous n'avez plus aucune alerte").wait_for()
    _clean(page, axe_source)
    assert not Alert.objects.filter(email=address).exists()


def test_p5_alert_without_javascript(phone_without_js, boucher):
    page = phone_without_js
    page.goto(SEARCH)
    page.get_by_role("link", name="Créer une alerte pour cette recherche").click()
    page.get_by_label("Votre adresse e-mail").fill("sans.js@example.fr")
    page.get_by_role("button", name="Créer l'alerte").click()
    page.get_by_role("heading", level=1, name="Confirmez votre alerte").wait_for()
    page.goto(_mail_link(MailKind.ALERT_CONFIRMATION, "sans.js@example.fr", "confirmer"))
    page.get_by_role("button", name="Confirmer mon alerte").click()
    page.get_by_role("heading", level=1, name="Alerte confirmée").wait_for()
    page.get_by_role("link", name="Me désinscrire de cette alerte").click()
    page.get_by_role("button", name="Me désinscrire").click()
    page.get_by_role("heading", level=1, name="Désinscription confirmée").wait_for()
    assert not Alert.objects.exists()


def test_p5_create_alert_follows_the_filters_changed_with_htmx(_playwright_browser, live_server, settings, boucher):
    settings.SITE_URL = live_server.url
    context, page, errors = _open(_playwright_browser, live_server, "1280px")
    page.goto(SEARCH)
    link = page.get_by_role("link", name="Créer une alerte pour cette recherche")
    assert "dpt=" not in link.get_attribute("href")
    page.locator("label[for=dpt-36]").click()  # submitted on change, results swapped by htmx
    page.wait_for_url(re.compile(r"dpt=36"))
    page.wait_for_function("() => (document.querySelector('[data-alert-create] a') || {}).href?.includes('dpt=36')")
    link.click()
    page.get_by_role("heading", level=1, name="Créer une alerte").wait_for()
    assert page.get_by_text("Indre (36)").is_visible()
    context.close()
    assert errors == []

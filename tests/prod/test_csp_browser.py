"""S1 in Chromium: the Content-Security-Policy (no 'unsafe-inline', no eval) lets the DSFR,
htmx, the address search and the public site work; no page reports a violation."""

import re

import pytest

from ofeli.structures.models import Structure
from tests.factories import MembershipFactory, StaffFactory, published_formation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def _watch(page):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    return errors


def _visit(page, errors, url):
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], (url, violations)
    assert errors == [], (url, errors)


def _login(page, email):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill("Motdepasse!1")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("networkidle")


def test_s1_main_pages_report_no_csp_violation_in_chromium(page):
    formation = published_formation(intitule="Boucher charcutier")
    structure = formation.structure
    user = MembershipFactory(structure=structure).user
    session = formation.live_version.sessions.first().session
    errors = _watch(page)

    # public site: search (htmx results), a formation page with its JSON-LD, an organisme page
    _visit(page, errors, "/")
    page.locator("#form-recherche input[name='q']").fill("boucher")
    page.locator("#form-recherche input[name='q']").press("Enter")  # htmx swaps the results in
    page.get_by_role("link", name=re.compile("Boucher charcutier")).first.wait_for()
    assert page.evaluate("window.__cspViolations") == [] and errors == []
    _visit(page, errors, f"/formation/{formation.reference}/")
    assert page.locator("script[type='application/ld+json']").count() == 1
    _visit(page, errors, f"/organisme/{structure.reference}/")

    # OF space: login, dashboard, « Formations » search, formation, session, structure record
    _visit(page, errors, "/ofeli/connexion/")
    _login(page, user.email)
    _visit(page, errors, "/ofeli/")
    _visit(page, errors, "/ofeli/formations/")
    _visit(page, errors, f"/ofeli/formations/{formation.reference}/")
    _visit(page, errors, f"/ofeli/formations/{formation.reference}/sessions/{session.reference}/")
    _visit(page, errors, f"/ofeli/structures/{structure.reference}/")

    # a confirmation that used to be an inline onclick handler still asks first
    page.get_by_role("button", name="Demande de modification").first.click()
    page.wait_for_load_state("networkidle")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Supprimer ma demande").first.click()
    assert asked and asked[0].startswith("Supprimer votre demande ?")
    assert Structure.objects.get(pk=structure.pk).change_requests.filter(status="draft").exists()
    assert page.evaluate("window.__cspViolations") == [] and errors == []


def test_s1_staff_pages_report_no_csp_violation_in_chromium(page):
    published_formation()
    staff = StaffFactory()
    errors = _watch(page)
    _login(page, staff.email)
    for url in ("/ofeli/", "/ofeli/carif/demandes/", "/ofeli/formations/", "/ofeli/comptes/"):
        response = page.goto(url)
        if response.status == 404:
            continue
        _visit(page, errors, url)

"""J2: the API documentation page works in a browser, from vendored files only, under the
site's Content-Security-Policy, without a script or console error."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_j2_api_documentation_page_renders_in_chromium_without_errors(page, live_server):
    errors, outside = [], []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: req.url.startswith(live_server.url) or outside.append(req.url))
    page.goto("/api/v1/docs/")
    page.get_by_text("API de l'offre de formation").first.wait_for()
    page.get_by_text("/api/v1/sessions/").first.wait_for()
    assert page.get_by_role("button", name="Authorize").is_visible()
    assert errors == []
    assert [url for url in outside if not url.startswith("data:")] == []  # no CDN

"""Q3 in Chromium: the readiness panel follows what the OF types on the session page (htmx,
under the CSP), without saving it."""

import pytest

from ofeli.formations import models as fm
from tests.e2e.helpers import login, watch, with_password
from tests.exports.builders import long_text
from tests.quality.test_readiness import complete_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_q3_panel_follows_the_typed_text_without_saving(page):
    page.set_default_timeout(30_000)  # a shared, loaded machine
    change, sv = complete_draft()
    errors = watch(page)
    login(page, with_password(change.created_by).email)
    page.goto(f"/ofeli/formations/{change.formation.reference}/sessions/{sv.session.reference}/")
    panel = page.locator("#readiness")
    panel.get_by_text("Prête", exact=True).wait_for()
    assert panel.get_attribute("data-ready") == "oui"
    page.get_by_label("Pré-requis").fill(long_text(3000))
    page.locator("#readiness [data-readiness-issue='conditions-specifiques']").wait_for()
    assert "sera coupé" in page.locator("#readiness").inner_text()
    # the panel computed it from the typed text: nothing was saved
    assert fm.SessionVersion.objects.get(pk=sv.pk).prerequis == "Niveau 3e."
    page.get_by_label("Pré-requis").fill("Niveau 3e.")
    page.locator("#readiness [data-readiness-issue='conditions-specifiques']").wait_for(state="detached")
    errors.check()

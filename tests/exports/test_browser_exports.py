"""Issue 5 « Done when », in Chromium: an OF user searches their offer, selects rows and
exports them as Excel and as LHEO 2.2 and 2.3 from the browser, then opens the files."""

import re

import pytest
from openpyxl import load_workbook

from ofeli.exports.validation import validate_lheo
from tests.factories import MembershipFactory, StructureFactory, UserFactory, published_formation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, email, password):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def select_rows(page, references):
    for reference in references:
        page.get_by_label(re.compile(f"Sélectionner .* session {reference}")).check(force=True)


def export_and_download(page, tmp_path, fmt_label, version=None):
    if fmt_label == "LHEO":
        page.get_by_label("LHEO", exact=True).check(force=True)
        page.get_by_label("Version LHEO").select_option(label=f"LHÉO {version}")
    else:
        page.get_by_label("Export Excel").check(force=True)
    page.get_by_role("button", name="Exporter").click()
    page.get_by_text("Export prêt").wait_for()
    with page.expect_download() as info:
        page.locator("#mes-exports li").first.get_by_role("link", name=re.compile("Télécharger")).click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target


def test_d5_of_user_exports_a_selection_as_excel_and_lheo_22_and_23_in_the_browser(page, tmp_path):
    structure = StructureFactory(nom="OF présentation OFELI")
    user = UserFactory(email="laure@example.org")
    MembershipFactory(user=user, structure=structure)
    bts = published_formation(structure, intitule="BTS assurance", sessions=3)
    published_formation(structure, intitule="CAP Boucher")
    published_formation(intitule="Formation d'un autre organisme")
    chosen = [sv.session.reference for sv in bts.live_version.sessions.order_by("date_debut")[:2]]

    login(page, user.email, "Motdepasse!1")
    page.get_by_role("link", name="Formations", exact=True).click()
    page.get_by_text("2 formations / 4 sessions").first.wait_for()
    assert "Formation d'un autre organisme" not in page.content()

    # Column filter (htmx swaps the results and keeps the criteria in the URL).
    page.get_by_label("Filtrer la colonne Intitulé").fill("assurance")
    page.get_by_label("Filtrer la colonne Intitulé").press("Enter")
    page.get_by_text("1 formation / 3 sessions").first.wait_for()
    assert "f_intitule=assurance" in page.url

    # Excel of two selected rows.
    select_rows(page, chosen)
    assert page.locator("#selection-count").inner_text() == "2 lignes sélectionnées"
    xlsx = export_and_download(page, tmp_path, "Excel")
    assert xlsx.suffix == ".xlsx"
    sheet = load_workbook(xlsx)["Sessions"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[2] for row in rows] == chosen
    assert rows[0][1] == "BTS assurance" and sheet.freeze_panes == "A2"
    assert "f_intitule=assurance" in page.url  # back on the same search

    # LHEO 2.2 and 2.3 of the same selection.
    for version in ("2.2", "2.3"):
        select_rows(page, chosen)
        xml = export_and_download(page, tmp_path, "LHEO", version)
        assert xml.name.startswith(f"ofeli-lheo-{version}-")
        assert validate_lheo(str(xml), version) == []
        text = xml.read_text(encoding="utf-8")
        assert all(reference in text for reference in chosen)
        assert text.count("<session ") == 2 and "CAP Boucher" not in text

    # « Mes exports » lists the three files, each with its download icon.
    assert page.locator("#mes-exports li a.fr-icon-download-line").count() == 3

    # Sorting swaps the results and keeps the criteria in the URL; the back button returns.
    page.get_by_role("link", name="Date de début").click()
    page.wait_for_url(re.compile(r"tri=debut"))
    assert "f_intitule=assurance" in page.url
    page.get_by_role("link", name="Date de début").click()
    page.wait_for_url(re.compile(r"tri=-debut"))
    assert (
        page.locator("tbody tr")
        .first.get_attribute("data-row")
        .endswith(str(bts.live_version.sessions.order_by("-date_debut").first().pk))
    )
    page.go_back()
    page.wait_for_url(re.compile(r"tri=debut(&|$)"))
    # A row's link opens the formation (a real page, not swapped into the table).
    page.locator("tbody").get_by_role("link", name=bts.reference).first.click()
    page.wait_for_url(f"**/ofeli/formations/{bts.reference}/")
    page.get_by_role("heading", name="BTS assurance").first.wait_for()

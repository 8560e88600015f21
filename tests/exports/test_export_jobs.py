"""« Exporter » from the search screen (SPEC D5): the background task, Excel and LHEO files,
download rights, the 7-day expiry and the purge."""

import datetime
import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from ofeli.exports import jobs
from ofeli.exports.models import ExportFormat, ExportJob, ExportStatus
from ofeli.exports.validation import validate_lheo
from ofeli.workflow import services
from tests.exports.builders import full_published_formation
from tests.factories import MembershipFactory, StaffFactory, StructureFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db
SEARCH = reverse("formations:search")
CREATE = reverse("exports:create")


@pytest.fixture
def of_user(client):
    structure = StructureFactory(nom="OF présentation OFELI")
    membership = MembershipFactory(structure=structure)
    client.force_login(membership.user)
    return membership.user, structure


def row_keys(client, **params):
    return re.findall(r'data-row="([^"]+)"', client.get(SEARCH, params).content.decode())


def export(client, fmt="xlsx", version="2.3", rows=(), criteria="", **extra):
    data = {"format": fmt, "version": version, "criteres": criteria, "next": SEARCH, **extra}
    if rows:
        data["rows"] = list(rows)
    response = client.post(CREATE, data)
    assert response.status_code == 302
    return ExportJob.objects.latest("pk")


def download(client, job):
    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def test_d5_excel_export_of_the_selected_rows(client, of_user):
    user, structure = of_user
    formation = published_formation(structure, intitule="BTS assurance", sessions=3)
    published_formation(structure, intitule="Autre formation")
    keys = row_keys(client, f_intitule="assurance")
    job = export(client, rows=keys[:2])
    assert job.status == ExportStatus.DONE, job.error
    assert job.user == user and job.structure == structure and job.format == ExportFormat.EXCEL
    assert job.row_count == 2 and job.progress == 100
    assert job.expires_at - job.finished_at == datetime.timedelta(days=7)
    data = download(client, job)
    sheet = load_workbook(io.BytesIO(data))["Sessions"]
    header = [cell.value for cell in sheet[1]]
    assert header[:10] == [
        "Référence",
        "Intitulé",
        "N° session",
        "Date de début",
        "Date de fin",
        "OF Formateur",
        "Dispositif",
        "État",
        "Dpt",
        "Ville",
    ]
    assert "Durée totale (heures)" in header and "Organisme responsable" in header and "Financeur" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 45
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2
    first = rows[0]
    sessions = list(formation.live_version.sessions.order_by("date_debut"))
    assert first[0] == formation.reference and first[1] == "BTS assurance"
    assert first[2] == sessions[0].session.reference
    assert isinstance(first[3], datetime.datetime) and first[3].date() == sessions[0].date_debut  # a real date
    assert sheet.cell(row=2, column=4).number_format == "DD/MM/YYYY"
    assert first[7] == "Diffusion" and first[8] == "37" and first[9] == "Tours"
    assert first[header.index("Durée totale (heures)")] == 600
    assert first[header.index("Organisme responsable")] == "OF présentation OFELI"


def test_d5_export_without_selection_exports_every_result_of_the_criteria(client, of_user):
    _user, structure = of_user
    published_formation(structure, intitule="Anglais", sessions=2)
    published_formation(structure, intitule="Comptabilité", sessions=3)
    draft_formation(structure, of_user[0], intitule="Comptabilité en création", sessions=0)
    job = export(client, criteria="f_intitule=compta&tri=-intitule")
    sheet = load_workbook(io.BytesIO(download(client, job)))["Sessions"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == ["Comptabilité en création"] + ["Comptabilité"] * 3
    assert rows[0][2] is None  # a formation without sessions is one row


def test_d5_select_all_results_exports_everything(client, of_user):
    _user, structure = of_user
    published_formation(structure, sessions=3)
    job = export(client, rows=row_keys(client)[:1], tout="1")
    assert job.row_count == 3


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_d5_lheo_export_of_the_selection_is_valid(client, of_user, version):
    _user, structure = of_user
    full = full_published_formation()
    structure = full.structure
    user = MembershipFactory(structure=structure).user
    client.force_login(user)
    other = published_formation(structure, intitule="Non sélectionnée")
    keys = row_keys(client, f_intitule="assurance")
    assert len(keys) == 2
    job = export(client, fmt="lheo", version=version, rows=keys[:1])
    assert job.status == ExportStatus.DONE, job.error
    assert job.filename.startswith(f"ofeli-lheo-{version}-") and job.filename.endswith(".xml")
    data = download(client, job)
    assert validate_lheo(io.BytesIO(data), version) == []
    assert full.reference.encode() in data and other.reference.encode() not in data
    assert data.count(b"<session ") == 1
    assert job.report["sessions"] == 1


def test_d5_lheo_export_of_unpublished_rows_fails_with_a_clear_message(client, of_user):
    user, structure = of_user
    draft_formation(structure, user)
    job = export(client, fmt="lheo", version="2.3")
    assert job.status == ExportStatus.FAILED
    assert "Aucune session publiée" in job.error
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    assert "Aucune session publiée" in client.get(SEARCH).content.decode()


def test_d5_lheo_exports_the_published_content_even_while_a_change_is_open(client, of_user):
    user, structure = of_user
    formation = published_formation(structure, intitule="Intitulé publié")
    change = services.start_formation_change(formation, user)
    change.formation_version.intitule = "Intitulé en brouillon"
    change.formation_version.save()
    data = download(client, export(client, fmt="lheo", version="2.3"))
    assert b"Intitul\xc3\xa9 publi\xc3\xa9" in data and b"brouillon" not in data


def test_d5_only_the_requester_and_staff_download(client, of_user):
    _user, structure = of_user
    published_formation(structure)
    job = export(client)
    url = reverse("exports:download", args=[job.pk])
    assert client.get(url).status_code == 200
    other = MembershipFactory().user  # another OF user
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.force_login(MembershipFactory(structure=structure).user)  # same structure, not the requester
    assert client.get(url).status_code == 404
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_d5_an_export_never_reaches_beyond_the_search_scope(client, of_user):
    """Row keys of another structure's formation, posted by hand, export nothing of it."""
    _user, structure = of_user
    mine = published_formation(structure)
    foreign = published_formation(intitule="Formation d'un autre organisme")
    fv = foreign.live_version
    forged = [f"{fv.pk}:{fv.sessions.get().pk}"]
    job = export(client, rows=forged)
    assert job.status == ExportStatus.DONE and job.row_count == 0
    job = export(client, fmt="lheo", rows=forged)
    assert job.status == ExportStatus.FAILED
    assert mine.reference not in job.error


def test_d5_the_page_shows_progress_then_a_download_icon(client, of_user, monkeypatch):
    _user, structure = of_user
    published_formation(structure)
    from ofeli.exports import tasks

    class Queued:  # the worker has not taken the job yet
        id = "queued"

        @staticmethod
        def enqueue(pk):
            return Queued()

    monkeypatch.setattr(tasks, "build_export", Queued)
    job = export(client)
    assert job.status == ExportStatus.PENDING
    html = client.get(SEARCH).content.decode()
    assert 'hx-get="/ofeli/exports/mes-exports/" hx-trigger="every 2s"' in html  # htmx polls while building
    assert "<progress" in html
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, progress=40)
    assert 'value="40"' in client.get(reverse("exports:panel")).content.decode()
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.PENDING)
    jobs.run_export(job.pk)  # what the worker does
    html = client.get(reverse("exports:panel")).content.decode()
    assert "fr-icon-download-line" in html and reverse("exports:download", args=[job.pk]) in html
    assert "hx-trigger" not in html  # nothing left to wait for
    assert jobs.run_export(job.pk) is None  # a job is built once


def test_d5_files_expire_after_7_days_and_are_purged(client, of_user):
    _user, structure = of_user
    published_formation(structure)
    old, recent = export(client), export(client)
    assert default_storage.exists(old.file.name)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert client.get(reverse("exports:download", args=[old.pk])).status_code == 404  # expired
    assert client.get(reverse("exports:download", args=[recent.pk])).status_code == 200
    out = io.StringIO()
    call_command("purge_exports", stdout=out)
    assert "1 export(s)" in out.getvalue()
    assert not ExportJob.objects.filter(pk=old.pk).exists()
    assert not default_storage.exists(old.file.name)
    assert default_storage.exists(recent.file.name)
    # Seven days later, the recent one goes too.
    assert jobs.purge_exports(now=timezone.now() + datetime.timedelta(days=7, minutes=1)) == 1
    assert not ExportJob.objects.exists()


def test_d5_purge_removes_orphan_files_and_stuck_jobs(of_user):
    user, structure = of_user
    orphan = default_storage.save("exports/999/1/perdu.xlsx", io.BytesIO(b"x"))
    stuck = ExportJob.objects.create(user=user, structure=structure, format=ExportFormat.EXCEL)
    ExportJob.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    import os

    path = default_storage.path(orphan)
    old = (timezone.now() - datetime.timedelta(days=8)).timestamp()
    os.utime(path, (old, old))
    assert jobs.purge_exports() == 1
    assert not default_storage.exists(orphan)


def test_d5_purge_task_and_enqueue_option(of_user):
    from ofeli.exports.tasks import purge_exports

    assert purge_exports.enqueue().return_value == 0
    out = io.StringIO()
    call_command("purge_exports", "--enqueue", stdout=out)
    assert "worker" in out.getvalue()


def test_d5_export_refuses_an_unknown_format(client, of_user):
    response = client.post(CREATE, {"format": "pdf", "next": SEARCH})
    assert response.status_code == 302 and not ExportJob.objects.exists()
    response = client.post(CREATE, {"format": "lheo", "version": "2.1", "next": "https://evil.example/"})
    assert response.url == SEARCH  # never redirected off site
    assert client.get(CREATE).status_code == 405


def test_d5_staff_export_every_structure(client):
    a = published_formation(StructureFactory(nom="Centre Alpha"))
    b = published_formation(StructureFactory(nom="Centre Beta"))
    staff = StaffFactory()
    client.force_login(staff)
    job = export(client, fmt="lheo", version="2.2")
    assert job.structure is None and job.status == ExportStatus.DONE
    data = download(client, job)
    assert a.reference.encode() in data and b.reference.encode() in data

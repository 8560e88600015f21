"""Partner flows: every delta is an LHEO document, withdrawals included, and every delta still
kept can be downloaded by number or date (H2b); a ``publish_lheo_flows`` process killed at
any step never leaves a manifest listing files of two runs, and the next run cleans up (R3)."""

import datetime
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from ofeli.exports import flows, lheo
from ofeli.exports.flows import publish_flow
from ofeli.exports.models import FlowRun, FlowStatus, Partner
from ofeli.exports.validation import safe_parser, validate_lheo
from ofeli.workflow import services
from tests.factories import StaffFactory, published_formation

VERSIONS = ["2.2", "2.3"]


@pytest.fixture(autouse=True)
def _flows_dir(settings, tmp_path):
    settings.LHEO_FLOWS_DIR = tmp_path / "flows"


@pytest.fixture
def token(db):
    partner = Partner(name="France Travail", slug="france-travail")
    value = partner.new_token()
    partner.save()
    return value


def later(minutes):
    return timezone.now() + datetime.timedelta(minutes=minutes)


def parse(path):
    return etree.parse(str(path), safe_parser()).getroot()


def listed(root, version, info):
    ns = lheo.NAMESPACES[version]
    return [
        extra.get("numero")
        for extras in root.findall(f"{{{ns}}}extras")
        if extras.get("info") == info
        for extra in extras.findall(f"{{{ns}}}extra")
    ]


def sessions_of(root, version):
    return {el.get("numero") for el in root.iter(f"{{{lheo.NAMESPACES[version]}}}session")}


# --- H2b: withdrawals are an LHEO delta -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("version", VERSIONS)
def test_h2b_a_night_with_only_a_withdrawal_produces_an_lheo_delta(client, token, version):
    formation = published_formation(sessions=2)
    publish_flow(version)
    sessions = list(formation.live_version.sessions.order_by("date_debut"))
    withdrawn, kept = sessions[-1].session, sessions[0].session
    services.set_session_archived(withdrawn, StaffFactory(), True)
    run = publish_flow(version, now=later(10))
    assert run.status == FlowStatus.DONE, run.error
    assert (run.new_sessions, run.modified_sessions, run.withdrawn_sessions) == (0, 0, 1)
    delta = flows.flow_files(run)["delta"]
    assert delta is not None and validate_lheo(str(delta), version) == []
    root = parse(delta)
    assert listed(root, version, "sessions-retirees") == [withdrawn.reference]
    # The formation that lost the session is sent with the session it keeps.
    assert sessions_of(root, version) == {kept.reference}
    assert listed(root, version, "sessions-nouvelles") == listed(root, version, "sessions-modifiees") == []
    response = client.get(
        reverse("exports:flow", args=[version, "modifications"]), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == delta.read_bytes()


@pytest.mark.django_db
def test_h2b_a_whole_formation_withdrawn_is_still_an_lheo_delta():
    staff = StaffFactory()
    unchanged = published_formation(intitule="Toujours publiée")
    gone = published_formation(intitule="Archivée", sessions=2)
    gone_refs = sorted(s.session.reference for s in gone.live_version.sessions.all())
    publish_flow("2.3")
    services.set_formation_archived(gone, staff, True)
    run = publish_flow("2.3", now=later(10))
    assert run.status == FlowStatus.DONE and run.withdrawn_sessions == 2
    delta = flows.flow_files(run)["delta"]
    assert validate_lheo(str(delta), "2.3") == []
    root = parse(delta)
    assert listed(root, "2.3", "sessions-retirees") == gone_refs
    # A document holds at least one formation: an unchanged one carries the list, and the
    # lists of new and modified sessions (empty) tell the partner nothing else changed.
    ns = lheo.NAMESPACES["2.3"]
    assert [f.get("numero") for f in root.iter(f"{{{ns}}}formation")] == [unchanged.reference]
    assert listed(root, "2.3", "sessions-nouvelles") == listed(root, "2.3", "sessions-modifiees") == []
    manifest = json.loads(flows.flow_files(run)["manifest"].read_text())
    assert manifest["modifications"]["sessions_retirees"] == gone_refs


@pytest.mark.django_db
def test_h2b_every_kept_delta_can_be_downloaded_by_number_or_date(client, token, settings):
    settings.LHEO_FLOWS_KEEP = 3
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    runs, created = [], {}
    for night in range(4):
        formation = published_formation(intitule=f"Nuit {night}")
        runs.append(publish_flow("2.3", now=later(60 * 24 * night)))
        created[runs[-1].pk] = {s.session.reference for s in formation.live_version.sessions.all()}
    assert [r.sequence for r in runs] == [1, 2, 3, 4]
    kept = [r for r in runs if FlowRun.objects.filter(pk=r.pk).exists()]
    assert [r.sequence for r in kept] == [2, 3, 4]
    manifest = json.loads(
        b"".join(client.get(reverse("exports:flow", args=["2.3", "manifeste"]), **auth).streaming_content)
    )
    assert manifest["numero"] == 4 and manifest["numero_precedent"] == 3
    listed_deltas = manifest["modifications_disponibles"]
    assert [d["numero"] for d in listed_deltas] == [2, 3, 4]
    for entry, run in zip(listed_deltas, kept, strict=True):
        response = client.get(entry["url"], **auth)
        assert response.status_code == 200
        data = b"".join(response.streaming_content)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == run.delta_sha256
        assert response["X-Flux-Numero"] == str(run.sequence)
        assert parse_bytes_sessions(data) == created[run.pk]  # that night's new formation
    by_number = client.get(reverse("exports:flow", args=["2.3", "modifications"]), {"numero": 3}, **auth)
    assert b"".join(by_number.streaming_content) == flows.flow_files(kept[1])["delta"].read_bytes()
    day = timezone.localtime(kept[0].started_at).date().isoformat()
    by_date = client.get(reverse("exports:flow", args=["2.3", "modifications"]), {"date": day}, **auth)
    assert by_date.status_code == 200 and by_date["X-Flux-Numero"] == "2"
    # A delta no longer kept, a bad date, no token: clear refusals.
    assert client.get(reverse("exports:flow_delta", args=["2.3", 1]), **auth).status_code == 404
    assert (
        client.get(reverse("exports:flow", args=["2.3", "modifications"]), {"date": "hier"}, **auth).status_code == 404
    )
    assert client.get(reverse("exports:flow_delta", args=["2.3", 2])).status_code == 401


def parse_bytes_sessions(data):
    root = etree.fromstring(data, safe_parser())
    return sessions_of(root, "2.3")


# --- R3: a killed publish_lheo_flows never leaves a mixed flow ----------------------------


def _check_manifests(directory):
    """Every manifest lists only files of its own folder, all present with their checksums."""
    manifests = sorted((directory / flows.RUNS_DIR).glob("*/manifeste-*.json"))
    for path in manifests:
        manifest = json.loads(path.read_text())
        for key in ("complet", "modifications"):
            name = manifest[key]["fichier"]
            if name is None:
                continue
            file = path.parent / name
            assert file.exists(), f"{path} names a missing file {name}"
            assert hashlib.sha256(file.read_bytes()).hexdigest() == manifest[key]["sha256"]
    return manifests


class _Child:
    """``manage.py publish_lheo_flows`` in another process, on the test database."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        if connection.vendor == "sqlite":
            # The test database lives in memory: the child works on a file copy of it.
            self.sqlite = tmp_path / "db.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(self.sqlite) as target:
                connection.connection.backup(target)
            url = f"sqlite:///{self.sqlite}"
        else:
            self.sqlite = None
            db = connection.settings_dict
            url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": url,
            "OFELI_LHEO_FLOWS_DIR": str(settings.LHEO_FLOWS_DIR),
        }
        self.env.pop(flows.PAUSE_ENV, None)

    def start(self, pause=None):
        env = dict(self.env, **({flows.PAUSE_ENV: pause} if pause else {}))
        return subprocess.Popen(
            [sys.executable, "manage.py", "publish_lheo_flows", "--lheo-version", "2.3"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def runs(self):
        query = "SELECT sequence, status, error FROM exports_flowrun WHERE version = '2.3' ORDER BY started_at, id"
        if self.sqlite:
            with sqlite3.connect(self.sqlite) as db:
                return db.execute(query).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", ["written", "renamed", "recorded"])
def test_r3_publish_killed_at_any_step_never_mixes_two_runs(tmp_path, step):
    formation = published_formation(sessions=2)
    first = publish_flow("2.3")
    directory = flows.flows_dir("2.3")
    current = directory / flows.CURRENT_LINK
    assert current.resolve() == flows.run_folder(first).resolve()
    services.set_session_archived(formation.live_version.sessions.first().session, StaffFactory(), True)
    child = _Child(tmp_path)

    process = child.start(pause=step)
    marker = directory / f".pause-{step}"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the child never reached the step"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    marker.unlink()

    # Whatever the step, each manifest lists only its own run's files, and the link still
    # points to a complete run.
    manifests = _check_manifests(directory)
    assert current.resolve() == flows.run_folder(first).resolve()
    statuses = [status for _seq, status, _err in child.runs()]
    if step == "written":
        assert len(manifests) == 1 and any(directory.glob(".tmp-*"))
        assert statuses == [FlowStatus.DONE, FlowStatus.RUNNING]
    elif step == "renamed":
        assert len(manifests) == 2  # complete, but never recorded as published
        assert statuses == [FlowStatus.DONE, FlowStatus.RUNNING]
    else:
        assert len(manifests) == 2 and statuses == [FlowStatus.DONE, FlowStatus.DONE]

    # The next night: the dead run is marked interrupted, its leftovers go, the link follows.
    process = child.start()
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err.decode()
    runs = child.runs()
    assert runs[-1][1] == FlowStatus.DONE
    if step == "recorded":
        assert [r[0] for r in runs] == [1, 2, 3]
    else:
        assert runs[1][1] == FlowStatus.FAILED and "interrompue" in runs[1][2]
        assert [r[0] for r in runs] == [1, None, 2]
    assert not any(directory.glob(".tmp-*"))
    manifests = _check_manifests(directory)
    assert len(manifests) == len([r for r in runs if r[1] == FlowStatus.DONE])
    latest = json.loads(sorted(manifests)[-1].read_text())
    assert current.resolve() == sorted(manifests)[-1].parent.resolve()
    assert latest["numero"] == runs[-1][0]
    assert Path(current.resolve() / latest["complet"]["fichier"]).exists()

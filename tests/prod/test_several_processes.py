"""S4: several web and worker processes on one database are safe — nightly jobs are locked
in the database, background tasks are claimed once by concurrent workers, the cache and the
sessions are not tied to one process. The health endpoint (S1) reports what it reads."""

import json
import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

import ofeli.core.management.commands.nightly as nightly
from ofeli.core import locks
from ofeli.core.models import JobLock, NightlyRun
from tests.factories import published_formation

from .server import PYTHON, ROOT, manage, prod_env

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="worker processes must open the test database (PostgreSQL)"
)
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


# --- the database lock -------------------------------------------------------------------


@pytest.mark.django_db
def test_s4_a_lock_is_held_once_and_refused_with_its_holder():
    first = locks.acquire("essai", timedelta(minutes=5), holder="machine-a:1:x")
    with pytest.raises(locks.LockHeld, match=r"« essai » est déjà en cours \(machine-a:1:x, depuis le"):
        locks.acquire("essai", timedelta(minutes=5), holder="machine-b:2:y")
    first.release()
    second = locks.acquire("essai", timedelta(minutes=5), holder="machine-b:2:y")
    assert JobLock.objects.get(name="essai").holder == second.holder


@pytest.mark.django_db
def test_s4_an_expired_lock_or_one_of_a_dead_process_is_taken_over():
    locks.acquire("essai", timedelta(minutes=5), holder="machine-a:1:x")
    JobLock.objects.filter(name="essai").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert locks.acquire("essai", timedelta(minutes=5), holder="machine-b:2:y").holder == "machine-b:2:y"

    dead = subprocess.Popen([PYTHON, "-c", "pass"])
    dead.wait()
    JobLock.objects.filter(name="essai").update(holder=f"{locks.socket.gethostname()}:{dead.pid}:z")
    assert locks.acquire("essai", timedelta(minutes=5), holder="machine-c:3:w").holder == "machine-c:3:w"
    # a live process of this machine keeps its lock until it expires
    JobLock.objects.filter(name="essai").update(holder=f"{locks.socket.gethostname()}:{os.getpid()}:v")
    with pytest.raises(locks.LockHeld):
        locks.acquire("essai", timedelta(minutes=5), holder="machine-d:4:u")


@pytest.mark.django_db
def test_s4_second_nightly_exits_with_a_message_while_one_runs(monkeypatch):
    monkeypatch.setattr(nightly, "call_command", lambda name, **kw: None)
    running = locks.acquire(nightly.LOCK_NAME, timedelta(hours=1), holder="autre-machine:4242:abcd")
    with pytest.raises(CommandError, match="Travaux de nuit non lancés : « nightly » est déjà en cours"):
        call_command("nightly")
    assert not NightlyRun.objects.exists()
    running.release()
    call_command("nightly")
    run = NightlyRun.objects.get()
    assert run.status == NightlyRun.Status.SUCCEEDED and run.finished_at is not None
    assert not JobLock.objects.exists()  # released at the end


@pytest.mark.django_db
def test_s4_nightly_records_failures_and_closes_runs_of_killed_processes(monkeypatch):
    killed = NightlyRun.objects.create(started_at=timezone.now() - timedelta(hours=5), holder="x:1:y")

    def fake(name, **kw):
        if name == "purge_exports":
            raise RuntimeError("disque plein")

    monkeypatch.setattr(nightly, "call_command", fake)
    with pytest.raises(CommandError):
        call_command("nightly")
    killed.refresh_from_db()
    assert killed.status == NightlyRun.Status.FAILED and killed.failed_jobs == "interrompu (processus arrêté)"
    last = NightlyRun.objects.latest("started_at")
    assert last.status == NightlyRun.Status.FAILED and last.failed_jobs == "purge_exports"


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_s4_two_nightly_processes_at_once_one_runs_the_other_exits(tmp_path):
    """Real processes: while one ``nightly`` holds the lock (here: a job held back), a second
    started meanwhile exits with the message and a non-zero status; the first succeeds."""
    published_formation()  # an offer to publish, so that the real jobs succeed
    release = tmp_path / "release"
    env = prod_env(tmp_path / "var", OFELI_TEST_RELEASE=str(release))
    slow = subprocess.Popen(
        [PYTHON, "-c", SLOW_NIGHTLY], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not JobLock.objects.filter(name="nightly").exists():
        assert slow.poll() is None and time.monotonic() < deadline, slow.communicate()
        time.sleep(0.1)
    second = manage(env, "nightly", check=False)
    assert second.returncode == 1
    assert "Travaux de nuit non lancés : « nightly » est déjà en cours" in second.stderr
    release.touch()  # let the first one finish its jobs
    out, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err
    assert list(NightlyRun.objects.values_list("status", flat=True)) == ["succeeded"]


# ``nightly`` whose first job waits until the test says so (the file named by
# OFELI_TEST_RELEASE exists, at most 2 minutes); the others are the real ones.
SLOW_NIGHTLY = """
import os, time, django
django.setup()
from django.core import management
import ofeli.core.management.commands.nightly as nightly
real = management.call_command
def slow(name, **kw):
    if name == "rebuild_public_index":
        deadline = time.monotonic() + 120
        while not os.path.exists(os.environ["OFELI_TEST_RELEASE"]) and time.monotonic() < deadline:
            time.sleep(0.1)
    return real(name, **kw)
nightly.call_command = slow
management.call_command("nightly")
"""


# --- background tasks claimed once --------------------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_s4_two_db_workers_never_run_the_same_task(tmp_path):
    from django_tasks_db.models import DBTaskResult

    from .probe_tasks import record_run

    runs = tmp_path / "runs.txt"
    with override_settings(TASKS=DB_TASKS):
        ids = {str(record_run.enqueue(str(runs), i).id) for i in range(40)}
    env = prod_env(tmp_path / "var")
    command = [PYTHON, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0"]
    workers = [
        subprocess.Popen([*command, "--worker-id", f"w{n}"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for n in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
    lines = [json.loads(line) for line in runs.read_text().splitlines()]
    ran = [line["n"] for line in lines]
    assert sorted(ran) == list(range(40)), "each task ran exactly once"
    assert {line["pid"] for line in lines} == {w.pid for w in workers}, "both workers took tasks"
    results = DBTaskResult.objects.filter(id__in=ids)
    assert all(r.status == "SUCCESSFUL" and len(r.worker_ids) == 1 for r in results)


# --- the health endpoint reads the worker heartbeat and the nightly runs ------------------


@pytest.mark.django_db
def test_s1_health_is_503_with_reasons_then_200(client):
    response = client.get("/sante/")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["aucun passage réussi des travaux de nuit (manage.py nightly)"]
    NightlyRun.objects.create(
        started_at=timezone.now() - timedelta(hours=30),
        finished_at=timezone.now() - timedelta(hours=29),
        status="succeeded",
        holder="x",
    )
    NightlyRun.objects.create(
        started_at=timezone.now() - timedelta(hours=5),
        finished_at=timezone.now() - timedelta(hours=5),
        status="failed",
        failed_jobs="publish_lheo_flows",
        holder="x",
    )
    body = client.get("/sante/").json()
    assert body["reasons"] == [
        "dernier passage réussi des travaux de nuit il y a 29 h ; dernier échec : publish_lheo_flows"
    ]
    NightlyRun.objects.create(started_at=timezone.now(), finished_at=timezone.now(), status="succeeded", holder="x")
    response = client.get("/sante/")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {
        "ok": True,
        "detail": f"base de données joignable ({connection.vendor})",
    }


@pytest.mark.django_db
def test_s1_health_reports_tasks_no_worker_takes(client):
    from django_tasks_db.models import DBTaskResult

    from ofeli.core.tasks import HEARTBEAT_TASK_PATH

    NightlyRun.objects.create(started_at=timezone.now(), finished_at=timezone.now(), status="succeeded", holder="x")
    with override_settings(TASKS=DB_TASKS):
        first = client.get("/sante/")
        assert first.status_code == 200
        assert first.json()["checks"]["worker"]["detail"] == "en attente du premier battement du worker"
        beat = DBTaskResult.objects.get(task_path=HEARTBEAT_TASK_PATH, status="READY")
        client.get("/sante/")
        assert DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH).count() == 1, "one heartbeat waits at a time"
        DBTaskResult.objects.filter(pk=beat.pk).update(enqueued_at=timezone.now() - timedelta(minutes=7))
        stuck = client.get("/sante/")
        assert stuck.status_code == 503
        assert stuck.json()["reasons"] == ["aucun worker ne prend les tâches : la plus ancienne attend depuis 7 min"]
        DBTaskResult.objects.filter(pk=beat.pk).update(status="SUCCESSFUL", finished_at=timezone.now())
        alive = client.get("/sante/")
        assert alive.status_code == 200
        assert alive.json()["checks"]["worker"]["detail"].startswith("dernier battement du worker il y a")


# --- cache and sessions shared by every process ------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_s4_cache_and_sessions_are_shared_between_processes(tmp_path):
    env = prod_env(tmp_path / "var")
    manage(env, "createcachetable")
    code = (
        "import django; django.setup(); from django.conf import settings; from django.core.cache import cache;"
        "from django.contrib.sessions.backends.db import SessionStore as S;"
        "import sys\n"
        "if sys.argv[1] == 'write':\n"
        "    cache.set('s4-essai', 'vu par un autre processus', 60); s = S(); s['k'] = 'v'; s.save(); print(s.session_key)\n"
        "else:\n"
        "    print(cache.get('s4-essai'), S(session_key=sys.argv[2]).get('k'), settings.CACHES['default']['BACKEND'])\n"
    )
    written = subprocess.run(
        [PYTHON, "-c", code, "write"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    key = written.stdout.strip()
    read = subprocess.run(
        [PYTHON, "-c", code, "read", key], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert read.stdout.split() == [
        "vu",
        "par",
        "un",
        "autre",
        "processus",
        "v",
        "django.core.cache.backends.db.DatabaseCache",
    ]

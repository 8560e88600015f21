"""R3: an export whose worker died (kill -9 of a real ``db_worker`` process) is noticed by its
lost heartbeat, retried a bounded number of times, then failed with a French message and
« Relancer »; its temporary file is swept; it never stays « en cours »."""

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ofeli.exports import jobs
from ofeli.exports.models import ExportFormat, ExportJob, ExportStatus
from tests.factories import MembershipFactory, StructureFactory, published_formation

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


class WorkerDatabase:
    """The database a worker process shares with the test. PostgreSQL: the test database
    itself. SQLite (in memory for the tests): copied to a file for the worker and back."""

    def __init__(self, tmp_path):
        self.vendor = connection.vendor
        self.file = tmp_path / "worker.sqlite3"

    @property
    def url(self):
        params = connection.settings_dict
        if self.vendor == "sqlite":
            return f"sqlite:///{self.file}"
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        return f"postgres://{params['USER']}{password}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"

    def to_worker(self):
        if self.vendor == "sqlite":
            connection.ensure_connection()
            self.file.unlink(missing_ok=True)
            target = sqlite3.connect(self.file)
            connection.connection.backup(target)
            target.close()

    def from_worker(self):
        if self.vendor == "sqlite":
            source = sqlite3.connect(self.file)
            connection.ensure_connection()
            source.backup(connection.connection)
            source.close()


@pytest.fixture
def worker_env(settings, tmp_path):
    settings.TASKS = DB_TASKS
    settings.EXPORT_TMP_DIR = str(tmp_path / "tmp")
    database = WorkerDatabase(tmp_path)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.exports.worker_settings",
        "DATABASE_URL": database.url,
        "OFELI_TEST_PRIVATE_ROOT": str(settings.PRIVATE_STORAGE_ROOT),
        "OFELI_TEST_EXPORT_TMP_DIR": str(tmp_path / "tmp"),
        "PYTHONPATH": str(django_settings.BASE_DIR),
    }
    env.pop("OFELI_TEST_EXPORT_PAUSE", None)
    return database, env


WORKER = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2", "-v", "0"]


def start_paused_worker(env, marker):
    """A real worker that takes the job and waits inside ``run_export`` (hook) until killed."""
    process = subprocess.Popen(
        WORKER, cwd=django_settings.BASE_DIR, env={**env, "OFELI_TEST_EXPORT_PAUSE": str(marker)}
    )
    deadline = time.monotonic() + 90
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the worker stopped (code {process.returncode}) before taking the job")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the worker did not take the job in time")
        time.sleep(0.1)
    time.sleep(1.5)  # let the heartbeat thread beat at least once
    return process


def kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def run_worker_until_idle(env):
    """A real worker that runs every ready task, then exits (``--batch``)."""
    done = subprocess.run([*WORKER, "--batch"], cwd=django_settings.BASE_DIR, env=env, timeout=180)
    assert done.returncode == 0


def requested_export(client):
    structure = StructureFactory(nom="OF présentation OFELI")
    user = MembershipFactory(structure=structure).user
    published_formation(structure, intitule="BTS assurance", sessions=2)
    client.force_login(user)
    job = ExportJob.objects.create(user=user, structure=structure, format=ExportFormat.EXCEL)
    jobs.enqueue(job)
    job.refresh_from_db()
    assert job.task_id
    return job


def assert_killed_mid_run(job):
    job.refresh_from_db()
    assert job.status == ExportStatus.RUNNING and job.heartbeat_at is not None
    assert job.tmp_path and Path(job.tmp_path).exists()  # what a dead worker leaves behind
    task = DBTaskResult.objects.get(id=job.task_id)
    assert task.status == "RUNNING"
    # the heartbeat thread beat while the job waited (1 s interval in the worker's settings)
    assert job.heartbeat_at - task.started_at >= datetime.timedelta(seconds=0.9)
    return job.task_id, Path(job.tmp_path)


@pytest.mark.django_db(transaction=True)
def test_r3_job_of_a_killed_worker_is_retried_by_the_next_worker_and_never_stays_en_cours(
    client, worker_env, settings, tmp_path
):
    database, env = worker_env
    job = requested_export(client)
    assert job.status == ExportStatus.PENDING  # waiting for a worker
    database.to_worker()
    kill(start_paused_worker(env, tmp_path / "started-1"))
    database.from_worker()
    first_task, tmp_file = assert_killed_mid_run(job)
    assert job.attempts == 1

    # still within the lease: « Mes exports » shows it running
    panel = client.get(reverse("exports:panel")).content.decode()
    assert "En cours" in panel
    # the heartbeat stops with the process: once it is older than the timeout, the next look
    # at « Mes exports » gives the job to a new attempt and removes the temporary file
    settings.EXPORT_STALE_SECONDS = 1
    time.sleep(1.2)
    client.get(reverse("exports:panel"))
    job.refresh_from_db()
    assert job.status == ExportStatus.PENDING and job.attempts == 1 and job.task_id != first_task
    assert not tmp_file.exists()
    assert DBTaskResult.objects.get(id=first_task).status == "FAILED"  # no task row « running » forever

    database.to_worker()
    run_worker_until_idle(env)
    database.from_worker()
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.attempts == 2 and job.progress == 100, job.error
    assert job.tmp_path == "" and not list((tmp_path / "tmp").glob("ofeli-export-*"))
    download = client.get(reverse("exports:download", args=[job.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_r3_after_the_last_attempt_the_job_fails_with_a_message_and_relancer_rebuilds_it(
    client, worker_env, settings, tmp_path
):
    database, env = worker_env
    settings.EXPORT_MAX_ATTEMPTS = 1
    job = requested_export(client)
    database.to_worker()
    kill(start_paused_worker(env, tmp_path / "started-1"))
    database.from_worker()
    _, tmp_file = assert_killed_mid_run(job)

    # the nightly purge notices it too (here a day later), without waiting for anyone's page
    assert jobs.purge_exports(now=timezone.now() + datetime.timedelta(days=1)) == 0
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "interrompu 1 fois" in job.error and "Relancer" in job.error
    assert not tmp_file.exists()
    panel = client.get(reverse("exports:panel")).content.decode()
    assert "Échec" in panel and "interrompu" in panel and "En cours" not in panel
    assert reverse("exports:relaunch", args=[job.pk]) in panel and "Relancer" in panel

    response = client.post(reverse("exports:relaunch", args=[job.pk]), {"next": reverse("formations:search")})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ExportStatus.PENDING and job.attempts == 0 and job.error == ""
    database.to_worker()
    run_worker_until_idle(env)
    database.from_worker()
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.attempts == 1, job.error


@pytest.mark.django_db
def test_r3_an_attempt_given_up_for_dead_cannot_overwrite_the_attempt_that_replaced_it(client, settings, tmp_path):
    settings.EXPORT_TMP_DIR = str(tmp_path / "tmp")
    job = requested_export(client)  # the immediate backend of the tests builds it at once
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.attempts == 1
    # pretend attempt 1 hung: it is given up, attempt 2 is built (the immediate backend again)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, heartbeat_at=long_ago, file="")
    assert jobs.recover_stale_exports() == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.attempts == 2 and job.file
    # attempt 1 comes back and fails late: the job built by attempt 2 is untouched
    stale_lease = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, attempts=1)
    jobs._fail(stale_lease, "trop tard")
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.error == ""
    assert jobs.recover_stale_exports() == 0  # nothing else to recover


@pytest.mark.django_db
def test_r3_temporary_files_of_dead_jobs_are_swept_not_those_of_running_ones(settings, tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    settings.EXPORT_TMP_DIR = str(folder)
    old = time.time() - 3600
    orphan = folder / "ofeli-export-41-abc.tmp"
    orphan.write_bytes(b"partial")
    os.utime(orphan, (old, old))
    running = folder / "ofeli-export-42-def.tmp"
    running.write_bytes(b"partial")
    os.utime(running, (old, old))
    fresh = folder / "ofeli-export-43-ghi.tmp"  # just created by a job starting now
    fresh.write_bytes(b"")
    other = folder / "autre-fichier.tmp"
    other.write_bytes(b"")
    os.utime(other, (old, old))
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    ExportJob.objects.create(
        user=user,
        structure=structure,
        format=ExportFormat.EXCEL,
        status=ExportStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
        tmp_path=str(running),
    )
    assert jobs.sweep_tmp_files() == 1
    assert not orphan.exists() and running.exists() and fresh.exists() and other.exists()


@pytest.mark.django_db
def test_r3_a_job_whose_task_was_lost_before_it_started_gets_a_new_task_then_fails(settings):
    settings.TASKS = DB_TASKS
    settings.EXPORT_MAX_ATTEMPTS = 2
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    job = ExportJob.objects.create(user=user, structure=structure, format=ExportFormat.EXCEL)
    jobs.enqueue(job)
    job.refresh_from_db()
    assert jobs.recover_stale_exports() == 0  # waiting for a worker is not a lost task
    # the worker claimed the task, then died before taking the job
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    DBTaskResult.objects.filter(id=job.task_id).update(status="RUNNING", started_at=long_ago)
    ExportJob.objects.filter(pk=job.pk).update(created_at=long_ago)
    assert jobs.recover_stale_exports() == 1
    lost_task = job.task_id
    job.refresh_from_db()
    assert job.status == ExportStatus.PENDING and job.attempts == 1 and job.task_id != lost_task
    assert DBTaskResult.objects.get(id=lost_task).status == "FAILED"
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"
    # lost again, after the last attempt: failed with « Relancer », never « en attente » forever
    DBTaskResult.objects.filter(id=job.task_id).update(status="RUNNING", started_at=long_ago)
    ExportJob.objects.filter(pk=job.pk).update(attempts=2)
    assert jobs.recover_stale_exports() == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "Relancer" in job.error

"""Building and purging export files (D5). The background task (``tasks.build_export``) calls
``run_export``; ``purge_exports`` (command and task) deletes files older than 7 days.

R3: a running job is a lease renewed by a heartbeat; ``recover_stale_exports`` retries the
jobs of a dead worker (``EXPORT_MAX_ATTEMPTS``), then fails them with « Relancer », and
``sweep_tmp_files`` removes the temporary files they left."""

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .excel import write_excel
from .lheo import EmptyOffer, published_formations, write_offer
from .models import ExportFormat, ExportJob, ExportStatus
from .selection import job_rows, job_sessions

logger = logging.getLogger(__name__)
PROGRESS_INTERVAL = 1.0  # seconds between two progress updates in the database


def retention():
    return timedelta(days=getattr(settings, "EXPORT_RETENTION_DAYS", 7))


def export_filename(job, moment):
    stamp = timezone.localtime(moment).strftime("%Y%m%d-%H%M")
    if job.format == ExportFormat.EXCEL:
        return f"ofeli-formations-{stamp}.xlsx"
    return f"ofeli-lheo-{job.lheo_version}-{stamp}.xml"


class _Progress:
    """Writes the job's progress (0-100) at most once per PROGRESS_INTERVAL."""

    def __init__(self, job, lease=None):
        self.job = job
        self.lease = lease if lease is not None else ExportJob.objects.filter(pk=job.pk)
        self.last = 0.0

    def __call__(self, done, total):
        if not total:
            return
        percent = min(99, int(done * 100 / total))
        now = time.monotonic()
        if percent > self.job.progress and now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self.job.progress = percent
            self.lease.update(progress=percent, heartbeat_at=timezone.now())


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def heartbeat_interval():
    return getattr(settings, "EXPORT_HEARTBEAT_SECONDS", 10)


def stale_after():
    """A running job whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=getattr(settings, "EXPORT_STALE_SECONDS", 120))


def max_attempts():
    return getattr(settings, "EXPORT_MAX_ATTEMPTS", 3)


def tmp_dir():
    path = Path(getattr(settings, "EXPORT_TMP_DIR", "") or tempfile.gettempdir())
    path.mkdir(parents=True, exist_ok=True)
    return path


TMP_PREFIX = "ofeli-export-"
INTERRUPTED = (
    "L'export a été interrompu {attempts} fois (arrêt du traitement en arrière-plan) et n'a pas pu être "
    "produit. Cliquez sur « Relancer » pour le demander à nouveau."
)


class _Heartbeat:
    """Writes ``heartbeat_at`` of the running attempt every few seconds from a thread with its
    own database connection, so that a long query or file write does not look like a dead
    worker; it stops with the process (kill -9 included), which is how a dead worker shows.
    Not started inside a transaction (the immediate backend of the tests): another connection
    could not see the job there, and would wait on its lock."""

    def __init__(self, lease):
        self.lease = lease
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self.run, name="export-heartbeat", daemon=True)
            self.thread.start()
        return self

    def run(self):
        from django.db import connections

        try:
            while not self.stop.wait(heartbeat_interval()):
                try:
                    self.lease.update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    logger.warning("Export : battement de cœur non enregistré", exc_info=True)
        finally:
            connections.close_all()

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=heartbeat_interval() + 5)


def _run_hook(job):
    """Test seam (R3): ``settings.EXPORT_RUN_HOOK`` names a function called once the attempt
    holds its lease and its temporary file (the worker-kill test waits there)."""
    hook = getattr(settings, "EXPORT_RUN_HOOK", "")
    if hook:
        import_string(hook)(job)


def run_export(job_id):
    """Build the file of export job ``job_id`` (run by the task worker).

    The attempt takes the job with a conditional UPDATE (pending -> running, attempts + 1) and
    every later write is conditioned on that attempt: a worker that was given up for dead and
    comes back cannot overwrite the outcome of the attempt that replaced it."""
    now = timezone.now()
    started = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        worker=worker_name(),
        progress=0,
        error="",
    )
    if not started:
        return None  # already built, or being built by another worker
    job = ExportJob.objects.select_related("user", "structure").get(pk=job_id)
    lease = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, attempts=job.attempts)
    progress = _Progress(job, lease)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir(), prefix=f"{TMP_PREFIX}{job.pk}-", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    lease.update(tmp_path=str(tmp))
    try:
        with _Heartbeat(lease):
            _run_hook(job)
            _build(job, lease, tmp, progress)
    except EmptyOffer:
        _fail(lease, "Aucune session publiée parmi les lignes choisies : un fichier LHEO ne peut pas être vide.")
    except PermissionDenied as exc:
        _fail(lease, str(exc) or "Accès refusé.")
    except Exception:
        logger.exception("Export n°%s en échec", job.pk)
        _fail(lease, "L'export n'a pas pu être produit. Cliquez sur « Relancer », ou contactez l'équipe OFeli.")
    finally:
        tmp.unlink(missing_ok=True)
    return job.pk


def _build(job, lease, tmp, progress):
    report = {}
    if job.format == ExportFormat.EXCEL:
        rows = job_rows(job)
        total = rows.count()
        count = write_excel(tmp, rows, total=total, progress=progress)
        report = {"lignes": count}
    else:
        sessions = job_sessions(job)
        total = published_formations(sessions=sessions).count()
        with tmp.open("wb") as stream:
            stats = write_offer(
                stream, job.lheo_version, sessions=sessions, progress=lambda s: progress(s.formations, total)
            )
        count = stats.sessions
        report = {
            "formations": stats.formations,
            "sessions": stats.sessions,
            "textes_coupes": dict(stats.truncated),
            "avertissements": stats.warnings[:50],
        }
    now = timezone.now()
    filename = export_filename(job, now)
    with tmp.open("rb") as stream:
        name = default_storage.save(f"exports/{job.user_id}/{job.pk}/{filename}", File(stream, name=filename))
    done = lease.update(
        status=ExportStatus.DONE,
        progress=100,
        file=name,
        filename=filename,
        size=default_storage.size(name),
        row_count=count,
        report=report,
        finished_at=now,
        expires_at=now + retention(),
        tmp_path="",
    )
    if not done:  # this attempt was given up for dead meanwhile: its file is not the job's
        default_storage.delete(name)
        logger.warning("Export n°%s : tentative %s remplacée, fichier abandonné", job.pk, job.attempts)


def _fail(lease, message):
    now = timezone.now()
    lease.update(status=ExportStatus.FAILED, error=message, finished_at=now, expires_at=now + retention(), tmp_path="")


def _mark_task_lost(task_id, now):
    """The task row of a dead worker stays « RUNNING » in django-tasks-db: close it as failed."""
    if not task_id:
        return
    try:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(id=task_id, status="RUNNING").update(
            status="FAILED",
            finished_at=now,
            exception_class_path="ofeli.exports.jobs.WorkerLost",
            traceback="Le worker a été arrêté pendant la tâche (plus de battement de cœur).",
        )
    except Exception:  # noqa: BLE001 - another task backend, or an id that is not a UUID
        logger.debug("Tâche %s non mise à jour", task_id, exc_info=True)


def enqueue(job):
    """Give ``job`` to the task worker; remembers the task id."""
    from .tasks import build_export

    result = build_export.enqueue(job.pk)
    ExportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    return result


def recover_stale_exports(now=None, user=None):
    """Jobs « en cours » whose worker died (no heartbeat for ``stale_after()``): retried while
    they have attempts left, else failed with a message and « Relancer ». Their temporary file
    is removed. Called by « Mes exports » (polled while a job runs) and by ``purge_exports``.
    Returns the number of jobs recovered."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    stale = ExportJob.objects.filter(status=ExportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    if user is not None:
        stale = stale.filter(user=user)
    recovered = 0
    for job in stale.only("pk", "attempts", "heartbeat_at", "task_id", "tmp_path"):
        same_attempt = ExportJob.objects.filter(
            pk=job.pk, status=ExportStatus.RUNNING, attempts=job.attempts, heartbeat_at=job.heartbeat_at
        )
        if job.attempts < max_attempts():
            taken = same_attempt.update(status=ExportStatus.PENDING, progress=0, worker="", tmp_path="")
        else:
            taken = same_attempt.update(
                status=ExportStatus.FAILED,
                error=INTERRUPTED.format(attempts=job.attempts),
                finished_at=now,
                expires_at=now + retention(),
                worker="",
                tmp_path="",
            )
        if not taken:
            continue  # it beat meanwhile, or another process recovered it
        recovered += 1
        logger.warning(
            "Export n°%s : worker arrêté pendant la tentative %s (dernier signe %s), %s",
            job.pk,
            job.attempts,
            job.heartbeat_at,
            "nouvelle tentative" if job.attempts < max_attempts() else "abandon",
        )
        _mark_task_lost(job.task_id, now)
        if job.tmp_path:
            Path(job.tmp_path).unlink(missing_ok=True)
        if job.attempts < max_attempts():
            enqueue(job)
    return recovered + _recover_lost_starts(now, cutoff, user)


def _recover_lost_starts(now, cutoff, user):
    """Jobs still « en attente » whose task will never start them: its row is missing (the
    enqueue failed), finished without taking the job, or « RUNNING » for longer than the
    timeout (the worker died between claiming the task and taking the job). Only with the
    database task backend, whose task rows can be read. Each new task counts as an attempt."""
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from .tasks import build_export

    if not isinstance(task_backends[getattr(build_export, "backend", "default")], DatabaseBackend):
        return 0
    waiting = ExportJob.objects.filter(status=ExportStatus.PENDING, created_at__lt=cutoff)
    if user is not None:
        waiting = waiting.filter(user=user)
    waiting = list(waiting.only("pk", "attempts", "task_id")[:500])
    if not waiting:
        return 0
    tasks = {
        str(row["id"]): row
        for row in DBTaskResult.objects.filter(
            id__in=[_uuid(job.task_id) for job in waiting if _uuid(job.task_id)]
        ).values("id", "status", "started_at")
    }
    recovered = 0
    for job in waiting:
        task = tasks.get(str(_uuid(job.task_id)))
        if task is not None and (
            task["status"] == "READY"
            or (task["status"] == "RUNNING" and task["started_at"] and task["started_at"] >= cutoff)
        ):
            continue  # waiting for a worker, or just claimed by one
        same = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.PENDING, attempts=job.attempts)
        give_up = job.attempts >= max_attempts()
        if give_up:
            taken = same.update(
                status=ExportStatus.FAILED,
                error=INTERRUPTED.format(attempts=job.attempts),
                finished_at=now,
                expires_at=now + retention(),
            )
        else:
            taken = same.update(attempts=F("attempts") + 1)
        if not taken:
            continue
        recovered += 1
        logger.warning(
            "Export n°%s : tâche %s perdue avant le début, %s",
            job.pk,
            job.task_id or "absente",
            "abandon" if give_up else "nouvelle tâche",
        )
        if task is not None:
            _mark_task_lost(job.task_id, now)
        if not give_up:
            enqueue(job)
    return recovered


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def relaunch(job, user):
    """« Relancer » a failed export: the same request, rebuilt from scratch by the worker (the
    rows are recomputed with the user's rights of today). Only its requester may."""
    if job.user_id != user.pk:
        raise PermissionDenied("Seule la personne qui a demandé cet export peut le relancer.")
    updated = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FAILED).update(
        status=ExportStatus.PENDING,
        attempts=0,
        progress=0,
        error="",
        finished_at=None,
        expires_at=None,
        heartbeat_at=None,
        worker="",
        tmp_path="",
        created_at=timezone.now(),
    )
    if updated:
        enqueue(job)
    return bool(updated)


def sweep_tmp_files(now=None):
    """Temporary files of exports that no running attempt holds (a worker killed while
    writing): removed once older than ``stale_after()``. Returns the number removed."""
    now = now or timezone.now()
    cutoff = (now - stale_after()).timestamp()
    folder = tmp_dir()
    held = set(
        ExportJob.objects.filter(status=ExportStatus.RUNNING, heartbeat_at__gte=now - stale_after())
        .exclude(tmp_path="")
        .values_list("tmp_path", flat=True)
    )
    removed = 0
    for path in folder.glob(f"{TMP_PREFIX}*.tmp"):
        try:
            if str(path) not in held and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def purge_exports(now=None):
    """Delete the export files (and jobs) whose 7 days are over, jobs stuck for 7 days, and
    files of the export folder that no job points to any more. Returns the number of jobs."""
    now = now or timezone.now()
    recover_stale_exports(now)  # R3: jobs of a dead worker are never left « en cours »
    sweep_tmp_files(now)
    limit = now - retention()
    expired = ExportJob.objects.filter(expires_at__lte=now) | ExportJob.objects.filter(
        expires_at__isnull=True, created_at__lte=limit
    )
    deleted = 0
    for job in expired.iterator():
        if job.file:
            default_storage.delete(job.file.name)
        with transaction.atomic():
            job.delete()
        deleted += 1
    _remove_orphans(limit)
    return deleted


def _remove_orphans(limit):
    """Files left behind (a crash between writing and recording): older than the limit."""
    try:
        root = Path(default_storage.path("exports"))
    except NotImplementedError:  # a storage without local paths: nothing to sweep
        return
    if not root.is_dir():
        return
    known = set(ExportJob.objects.exclude(file="").values_list("file", flat=True))
    cutoff = limit.timestamp()
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            name = path.relative_to(default_storage.path("")).as_posix()
            if name not in known:
                path.unlink(missing_ok=True)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()

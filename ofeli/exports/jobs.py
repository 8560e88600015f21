"""Building and purging export files (D5). The background task (``tasks.build_export``) calls
``run_export``; ``purge_exports`` (command and task) deletes files older than 7 days."""

import logging
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

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

    def __init__(self, job):
        self.job = job
        self.last = 0.0

    def __call__(self, done, total):
        if not total:
            return
        percent = min(99, int(done * 100 / total))
        now = time.monotonic()
        if percent > self.job.progress and now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self.job.progress = percent
            ExportJob.objects.filter(pk=self.job.pk).update(progress=percent)


def run_export(job_id):
    """Build the file of export job ``job_id`` (run by the task worker)."""
    started = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(status=ExportStatus.RUNNING)
    if not started:
        return None  # already built, or being built by another worker
    job = ExportJob.objects.select_related("user", "structure").get(pk=job_id)
    progress = _Progress(job)
    tmp_dir = Path(getattr(settings, "EXPORT_TMP_DIR", "") or tempfile.gettempdir())
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="ofeli-export-", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
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
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.DONE,
            progress=100,
            file=name,
            filename=filename,
            size=default_storage.size(name),
            row_count=count,
            report=report,
            finished_at=now,
            expires_at=now + retention(),
        )
    except EmptyOffer:
        _fail(job, "Aucune session publiée parmi les lignes choisies : un fichier LHEO ne peut pas être vide.")
    except PermissionDenied as exc:
        _fail(job, str(exc) or "Accès refusé.")
    except Exception:
        logger.exception("Export n°%s en échec", job.pk)
        _fail(job, "L'export n'a pas pu être produit. Réessayez, ou contactez l'équipe OFeli.")
    finally:
        tmp.unlink(missing_ok=True)
    return job.pk


def _fail(job, message):
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.FAILED, error=message, finished_at=now, expires_at=now + retention()
    )


def purge_exports(now=None):
    """Delete the export files (and jobs) whose 7 days are over, jobs stuck for 7 days, and
    files of the export folder that no job points to any more. Returns the number of jobs."""
    now = now or timezone.now()
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

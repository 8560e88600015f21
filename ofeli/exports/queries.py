"""Queries other apps ask of the exports app (the search screen lists the user's exports)."""

from django.utils import timezone

from .models import ExportJob

RECENT_EXPORTS = 8


def recent_exports(user):
    """The user's exports still available (or being built), newest first."""
    now = timezone.now()
    jobs = list(
        ExportJob.objects.filter(user=user)
        .exclude(expires_at__lte=now)
        .only(
            "pk",
            "format",
            "status",
            "progress",
            "filename",
            "size",
            "row_count",
            "error",
            "created_at",
            "finished_at",
            "expires_at",
            "file",
            "user_id",
        )[:RECENT_EXPORTS]
    )
    return {"jobs": jobs, "active": any(job.is_active for job in jobs)}

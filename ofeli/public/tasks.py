"""Background task of the public site (worker: ``manage.py db_worker``)."""

from django_tasks import task


@task()
def compute_search_snapshot():
    """Compute the day's pre-aggregated page without criteria (snapshot.py) after a rebuild
    of the index, so that no visitor waits for it (S3)."""
    from django.utils import timezone

    from .snapshot import get

    return get(timezone.localdate()).formations

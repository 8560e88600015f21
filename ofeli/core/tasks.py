"""Background task of the core app: the task worker's heartbeat (S1, read by /sante/)."""

from django_tasks import task

HEARTBEAT_TASK_PATH = "ofeli.core.tasks.worker_heartbeat"


@task()
def worker_heartbeat():
    """Does nothing but finish: the time a worker finishes it is the worker's heartbeat.
    Enqueued by the health endpoint at most once a minute; older heartbeats are removed."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path=HEARTBEAT_TASK_PATH, finished_at__lt=timezone.now() - timedelta(hours=1)
    ).delete()
    return "ok"

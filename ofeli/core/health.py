"""Health endpoint for monitoring (S1): ``GET /sante/`` answers 200 when every check is
fine and 503 otherwise, with a JSON body giving each check and its reason (in French):

- ``database``: a query goes through;
- ``worker``: tasks are taken by a task worker. The endpoint enqueues a no-op heartbeat
  task at most once a minute; when the oldest task waiting is older than
  HEALTH_WORKER_MAX_DELAY (5 min), no worker is running (or all are stuck);
- ``nightly``: the last successful ``manage.py nightly`` finished less than
  HEALTH_NIGHTLY_MAX_AGE (26 h) ago.

No login; no detail beyond ages and job names, so it can be reached by a monitor."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _age(delta):
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return False, f"base de données injoignable : {error.__class__.__name__}"
    return True, f"base de données joignable ({connection.vendor})"


def check_worker(now):
    from django_tasks import task_backends
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    from .tasks import HEARTBEAT_TASK_PATH, worker_heartbeat

    if not isinstance(task_backends["default"], DatabaseBackend):
        return True, "tâches exécutées sans worker (backend immédiat)"
    heartbeats = DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH)
    last_beat = (
        heartbeats.filter(status="SUCCESSFUL").order_by("-finished_at").values_list("finished_at", flat=True).first()
    )
    pending = heartbeats.filter(status__in=["READY", "RUNNING"]).exists()
    if not pending and (last_beat is None or now - last_beat >= settings.HEALTH_HEARTBEAT_INTERVAL):
        worker_heartbeat.enqueue()
    limit = now - settings.HEALTH_WORKER_MAX_DELAY
    waiting = (
        DBTaskResult.objects.ready()
        .filter(enqueued_at__lt=limit)
        .filter(Q(run_after=get_date_max()) | Q(run_after__lt=limit))
        .order_by("enqueued_at")
        .values_list("enqueued_at", flat=True)
    )
    oldest = waiting.first()
    if oldest is not None:
        return False, f"aucun worker ne prend les tâches : la plus ancienne attend depuis {_age(now - oldest)}"
    if last_beat is None:
        return True, "en attente du premier battement du worker"
    return True, f"dernier battement du worker il y a {_age(now - last_beat)}"


def check_nightly(now):
    from .models import NightlyRun

    last = (
        NightlyRun.objects.filter(status=NightlyRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last is None:
        return False, "aucun passage réussi des travaux de nuit (manage.py nightly)"
    age = now - last
    if age > settings.HEALTH_NIGHTLY_MAX_AGE:
        failed = NightlyRun.objects.filter(status=NightlyRun.Status.FAILED, finished_at__gt=last).first()
        reason = f" ; dernier échec : {failed.failed_jobs}" if failed else ""
        return False, f"dernier passage réussi des travaux de nuit il y a {_age(age)}{reason}"
    return True, f"dernier passage réussi des travaux de nuit il y a {_age(age)}"


def run_checks():
    now = timezone.now()
    checks = {}
    ok, detail = check_database()
    checks["database"] = {"ok": ok, "detail": detail}
    if ok:
        for name, check in (("worker", check_worker), ("nightly", check_nightly)):
            try:
                ok, detail = check(now)
            except DatabaseError as error:
                ok, detail = False, f"erreur de base de données : {error.__class__.__name__}"
            checks[name] = {"ok": ok, "detail": detail}
    else:
        for name in ("worker", "nightly"):
            checks[name] = {"ok": False, "detail": "non vérifié : base de données injoignable"}
    return checks


@never_cache
@require_GET
def health(request):
    checks = run_checks()
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "erreur", "checks": checks}
    if not healthy:
        body["reasons"] = [check["detail"] for check in checks.values() if not check["ok"]]
    return JsonResponse(body, status=200 if healthy else 503, json_dumps_params={"ensure_ascii": False})

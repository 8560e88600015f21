"""Benchmark of the Carif's quality dashboard (issue 14, Q4) on the benchmark database.

Usage (PostgreSQL filled by generate_offer, 100,000 sessions):

    createdb -h 127.0.0.1 -U postgres ofeli_quality_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ofeli_quality_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_referentials
    .venv/bin/python manage.py generate_offer --structures 1000 --formations 10 --sessions-per-formation 10 --seed 1 --no-index
    .venv/bin/python manage.py watch_certifications   # the Q1 flags the dashboard counts
    .venv/bin/python bench/quality_dashboard.py --requests 30

It prints the size of the offer, then the time of each check's counter query alone (the
dashboard runs one per check), then p50 / p95 of the whole page through Django's request
handler in this process (URL resolution, middleware, staff session, SQL, template) and its
number of queries, and the same for the first page of each list.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from ofeli.formations.models import SessionVersion  # noqa: E402
from ofeli.quality.checks import CHECKS  # noqa: E402
from ofeli.users.enums import Role  # noqa: E402
from ofeli.users.models import User  # noqa: E402


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, round(pct / 100 * (len(values) - 1)))]


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 95)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--lists", action="store_true", help="also time the first page of each list")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    logging.getLogger("ofeli.request").setLevel(logging.WARNING)  # one log line per request otherwise
    print(f"{connection.vendor}: {SessionVersion.objects.count()} session versions; load: {os.getloadavg()}")

    print(f"{'counter':42} {'p50 ms':>8} {'p95 ms':>8} {'count':>8}")
    for check in CHECKS:
        check.queryset().count()  # warm
        p50, p95 = timed(lambda check=check: check.queryset().count(), max(3, args.requests // 5))
        print(f"{check.slug:42} {p50:8.1f} {p95:8.1f} {check.queryset().count():8d}")

    staff, _ = User.objects.get_or_create(
        email="bench-quality@example.org", defaults={"role": Role.GESTIONNAIRE, "is_active": True}
    )
    client = Client()
    client.force_login(staff)
    pages = [("dashboard /ofeli/carif/qualite/", "/ofeli/carif/qualite/")]
    if args.lists:
        pages += [(f"list {check.slug}", f"/ofeli/carif/qualite/{check.slug}/") for check in CHECKS]
    print(f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for name, url in pages:
        for _ in range(2):
            assert client.get(url).status_code == 200
        p50, p95 = timed(lambda url=url: client.get(url), args.requests)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        print(f"{name:42} {p50:8.1f} {p95:8.1f} {len(queries):8d}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

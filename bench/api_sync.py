"""Benchmark of the partner API (issue 13, J1-J4): filtered pages and a full sync by cursor.

Usage (PostgreSQL filled by generate_offer):

    createdb -h 127.0.0.1 -U postgres ofeli_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ofeli_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_referentials
    .venv/bin/python manage.py generate_offer --structures 1000 --formations 10 --sessions-per-formation 10 --seed 1
    .venv/bin/python bench/api_sync.py --requests 200

It first builds the API's read model (``sync_api_offer``, timed; ``--skip-build`` reuses
the one in the database, so one generated database serves many runs), then sends GET
requests through Django's request handler in this process (URL resolution, middleware,
auth with a real partner token, rate limit and usage count, SQL, JSON, gzip when asked),
and prints p50 / p95 per scenario, the queries per page, the time of a full sync of every
session by cursor (pages of 500) and the load average before and after (the machine may
be shared).
"""

import argparse
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

from ofeli.api.models import OfferEntry  # noqa: E402
from ofeli.api.offer import sync  # noqa: E402
from ofeli.exports.models import Partner  # noqa: E402

SCENARIOS = {
    "100 sessions, no filter": {"limit": 100},
    "100 sessions, words": {"limit": 100, "q": "comptabilite"},
    "100 sessions, place + 30 km": {"limit": 100, "commune": "Tours", "rayon": 30},
    "100 sessions, département + financeur": {"limit": 100, "departement": "45", "financeur": "2"},
    "100 sessions, modified_since": {"limit": 100, "modified_since": "2000-01-01T00:00:00Z"},
    # filters that match (almost) nothing: without an index they would read every entry
    "words matching nothing": {"limit": 100, "q": "boulangerie"},
    "département without offer": {"limit": 100, "departement": "2A"},
    "100 sessions, gzip": {"limit": 100, "gzip": True},
    "500 sessions (sync page size)": {"limit": 500},
}


def load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, round(pct / 100 * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-build", action="store_true", help="reuse the read model already built")
    args = parser.parse_args()
    settings.API_RATE_LIMIT = 10**9
    settings.ALLOWED_HOSTS = ["*"]

    if not args.skip_build:
        start = time.perf_counter()
        changed, _ = sync()
        print(f"sync_api_offer: {changed} entries in {time.perf_counter() - start:.1f} s")
    sessions = OfferEntry.objects.filter(kind="session", deleted_at__isnull=True).count()
    print(f"read model: {sessions} published sessions ({connection.vendor})")

    partner = Partner.objects.filter(slug="bench-api").first() or Partner(name="Benchmark API", slug="bench-api")
    token = partner.new_token()
    partner.save()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    print(f"load average before the requests: {load()}")
    # CPU ms: this process's CPU time per request (Django, ninja, the page's text), which
    # the other work of a shared machine does not inflate as much as the wall-clock times
    print(f"{'scenario':42} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'queries':>8} {'KB':>6}")
    for name, params in SCENARIOS.items():
        params = dict(params)
        headers = {"HTTP_ACCEPT_ENCODING": "gzip"} if params.pop("gzip", False) else {}
        for _ in range(5):
            client.get("/api/v1/sessions/", params, **headers)
        times, cpu = [], []
        for _ in range(args.requests):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get("/api/v1/sessions/", params, **headers)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200, response.content[:300]
        with CaptureQueriesContext(connection) as queries:
            client.get("/api/v1/sessions/", params, **headers)
        print(
            f"{name:42} {statistics.median(times):8.1f} {percentile(times, 95):8.1f} "
            f"{statistics.median(cpu):8.1f} {len(queries):8d} "
            f"{len(response.content) / 1024:6.0f}"
        )

    start = time.perf_counter()
    pages, rows, times = 0, 0, []
    url, params = "/api/v1/sessions/", {"limit": 500}
    while url:
        t = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t) * 1000)
        body = response.json()
        pages += 1
        rows += len(body["resultats"])
        url, params = body["suivant"], None
    total = time.perf_counter() - start
    print(
        f"full sync by cursor: {rows} sessions in {pages} pages of 500, {total:.1f} s "
        f"(page p50 {statistics.median(times):.0f} ms, p95 {percentile(times, 95):.0f} ms)"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()

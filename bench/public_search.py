"""Benchmark of the public search (issue 6, SPEC H1): server time of typical searches.

Usage (PostgreSQL filled by generate_offer, then the public index rebuilt):

    createdb -h 127.0.0.1 -U postgres ofeli_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ofeli_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_referentials
    .venv/bin/python manage.py generate_offer --structures 1000 --formations 10 --sessions-per-formation 10 --seed 1
    .venv/bin/python manage.py rebuild_public_index
    .venv/bin/python bench/public_search.py --requests 300

Each scenario sends ``--requests`` GET requests through Django's request handler in this
process (URL resolution, middleware, the view, SQL, template rendering: the server time,
without network), after a few warm-up requests; the parameters rotate over typical words,
towns and financing kinds. Persistent database connections are used, as in production
(DATABASE_CONN_MAX_AGE). SQL queries per page are counted on separate requests, and those
queries are run again as sent, without Django (« bare SQL »: the page's floor, S3).
"""

import argparse
import os
import re
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

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from ofeli.public.models import PublishedSession  # noqa: E402

WORDS = [
    "comptabilité",
    "anglais",
    "aide-soignant",
    "développeur web",
    "paie",
    "soudure",
    "bureautique",
    "cariste",
    "cuisine",
    "électricité",
    "management",
    "boucher",
]
TOWNS = [
    "Châteauroux (36000)",
    "Tours (37000)",
    "Orléans (45000)",
    "Bourges (18000)",
    "Blois (41000)",
    "Chartres (28000)",
    "Vierzon (18100)",
    "Montargis (45200)",
    "Dreux (28100)",
    "Issoudun (36100)",
]
FINANCING = ["individuel", "apprentissage", "france_travail", "region", "professionnalisation", "cpf"]


def scenarios():
    return {
        "words only": lambda i: {"q": WORDS[i % len(WORDS)]},
        "place + 30 km": lambda i: {"lieu": TOWNS[i % len(TOWNS)], "rayon": "30"},
        "words + place + financing": lambda i: {
            "q": WORDS[i % len(WORDS)],
            "lieu": TOWNS[(i // len(WORDS)) % len(TOWNS)],
            "rayon": "30",
            "fin": FINANCING[i % len(FINANCING)],
        },
        "no criteria": lambda i: {},
        "page 50": lambda i: {"page": "50"},
        # P2: the pages above group the sessions by formation (the default); the list of
        # sessions is still one click away.
        "words only, per session": lambda i: {"q": WORDS[i % len(WORDS)], "vue": "sessions"},
        "words + place + financing, per session": lambda i: {
            "q": WORDS[i % len(WORDS)],
            "lieu": TOWNS[(i // len(WORDS)) % len(TOWNS)],
            "rayon": "30",
            "fin": FINANCING[i % len(FINANCING)],
            "vue": "sessions",
        },
    }


def bare_sql_ms(captured):
    """The page's own SQL run again as it was sent (parameters inlined), without Django:
    the floor the page's time is compared with (S3: within 3×)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for query in captured:
            cursor.execute(query["sql"])
            if cursor.description:
                cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--only", help="comma-separated scenario names (default: all)")
    args = parser.parse_args()

    client = Client(HTTP_HOST="127.0.0.1")
    sessions = PublishedSession.objects.count()
    print(
        f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}, {sessions} published sessions indexed"
    )
    if connection.vendor != "postgresql":
        print("warning: the target is measured on PostgreSQL")
    print()
    print(f"Load average before: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    print()
    print(
        "| Search | requests | p50 (ms) | p95 (ms) | max (ms) | Python CPU p50 (ms) | bare SQL p50 (ms) "
        "| page / SQL | sessions found (typical) | SQL queries per page |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    wanted = set(args.only.split(",")) if args.only else None
    for name, params in scenarios().items():
        if wanted is not None and name not in wanted:
            continue
        for i in range(args.warmup):
            client.get("/", params(i))
        timings, cpu = [], []
        for i in range(args.requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/", params(i))
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        queries, totals, bare = set(), [], []
        for i in range(min(args.requests, 24)):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/", params(i))
            queries.add(len(ctx.captured_queries))
            bare.append(bare_sql_ms(ctx.captured_queries))
            html = response.content.decode()
            match = re.search(r"\((\d+) sessions?\)", html) or re.search(r"(\d+) sessions? de formation", html)
            totals.append(int(match.group(1)) if match else 0)
        q = "/".join(str(n) for n in sorted(queries))
        sql_p50 = statistics.median(bare)
        print(
            f"| {name} | {len(timings)} | {statistics.median(timings):.1f} | {percentile(timings, 95):.1f} "
            f"| {max(timings):.1f} | {statistics.median(cpu):.1f} | {sql_p50:.1f} "
            f"| {statistics.median(timings) / sql_p50 if sql_p50 else 0:.1f}× "
            f"| {int(statistics.median(totals))} | {q} |"
        )

    print()
    print(f"Load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

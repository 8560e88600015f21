"""Benchmark of the « Dispositif » filters of the Carif screens (issue 10, SPEC G2, I1):
the validation queue, the structures list and the recipients of a message to several
structures, filtered on a dispositif, before and after the query change.

Usage (SQLite or PostgreSQL; the data comes from the demo generator, as for
bench/public_search.py):

    export DATABASE_URL=sqlite:////tmp/ofeli_bench.sqlite3      # or postgres://…/ofeli_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_referentials
    .venv/bin/python manage.py generate_offer --structures 200 --formations 10 --sessions-per-formation 10 --seed 1
    .venv/bin/python bench/dispositif_filters.py --requests 20

(``--generate`` runs ``generate_offer`` with those figures itself when the database has
fewer than 20,000 sessions.) The generator's open drafts are submitted once (their
``submitted_at`` set), so that the default queue (« En attente de validation ») has rows; on
PostgreSQL the tables are analysed first (``ANALYZE``, as autovacuum does after a load).

Each page is requested ``--requests`` times through Django's request handler in this
process (the view, its SQL and the template: the server time, without network) as a Carif
staff member, after one warm-up request, with two variants of the filter queries:

- « avant »: the queries as they were (a correlated ``EXISTS`` on the financements, one
  look-up per row of the outer query), kept below for the comparison only;
- « après »: the current ``ofeli.backoffice.queries`` (an ``IN`` on a subquery that does not
  depend on the outer row, read once).

The time spent in SQL (sum of the page's queries, p50) and the number of SQL queries per
page are printed too (the same number for both variants); the two pages « sans filtre »
show what the same pages cost without the filter on the same (loaded) machine.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from ofeli.backoffice import queries  # noqa: E402
from ofeli.formations.models import Financement, SessionVersion  # noqa: E402
from ofeli.referentials.models import Dispositif  # noqa: E402
from ofeli.users.enums import Role  # noqa: E402
from ofeli.users.models import User  # noqa: E402
from ofeli.workflow.enums import ChangeStatus  # noqa: E402
from ofeli.workflow.models import ChangeRequest  # noqa: E402

SESSIONS = 20_000
STAFF_EMAIL = "bench-dispositifs@example.org"


# --- the queries before the change (correlated EXISTS), for the comparison only ----------


def legacy_queue_dispositif(rows, dispositif):
    return rows.filter(
        Exists(
            Financement.objects.filter(
                session_version__formation_version=OuterRef("formation_version"), dispositif=dispositif
            )
        )
    )


def legacy_structures_dispositif(rows, dispositif):
    return rows.filter(
        Exists(
            Financement.objects.filter(
                session_version__formation_version__live_of__structure=OuterRef("pk"), dispositif=dispositif
            )
        )
    )


@contextmanager
def variant(name):
    """« avant »: the filters of ``queries`` answered by the correlated EXISTS above."""
    if name == "après":
        yield
        return
    queue, structures = queries.queue, queries.structures

    def without(values):
        return {key: value for key, value in values.items() if key != "dispositif"}

    def old_queue(values, user, now):
        rows = queue(without(values), user, now)
        return legacy_queue_dispositif(rows, values["dispositif"]) if values.get("dispositif") else rows

    def old_structures(values):
        rows = structures(without(values))
        return legacy_structures_dispositif(rows, values["dispositif"]) if values.get("dispositif") else rows

    queries.queue, queries.structures = old_queue, old_structures
    try:
        yield
    finally:
        queries.queue, queries.structures = queue, structures


# --- data -----------------------------------------------------------------------------------


def ensure_data(generate):
    sessions = SessionVersion.objects.count()
    if sessions < SESSIONS and generate:
        from ofeli.demo.generator import generate_offer

        print(f"Generating the offer ({sessions} session versions found)…")
        generate_offer(structures=200, formations_per_structure=10, sessions_per_formation=10, seed=1)
    # The generator leaves its open requests in draft: submit them once, at spread dates.
    now = timezone.now()
    drafts = list(ChangeRequest.objects.filter(status=ChangeStatus.DRAFT).values_list("pk", flat=True))
    for n, pk in enumerate(drafts):
        ChangeRequest.objects.filter(pk=pk).update(
            status=ChangeStatus.SUBMITTED, submitted_at=now - timezone.timedelta(hours=3 * n)
        )
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk load: without statistics the planner guesses
        # 51 financements of a dispositif instead of 7,522 and picks nested loops.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    staff, _ = User.objects.get_or_create(
        email=STAFF_EMAIL, defaults={"first_name": "Bench", "last_name": "CARIF", "role": Role.GESTIONNAIRE}
    )
    return staff


def scenarios(dispositif):
    queue = reverse("workflow:queue")
    return [
        # the same pages without the filter: what the machine's load costs anyway
        ("Demandes acceptées, sans filtre", queue, {"etat": "accepted"}),
        ("Structures, sans filtre", reverse("backoffice:structures"), {}),
        ("Demandes à valider, dispositif", queue, {"dispositif": dispositif.pk}),
        ("Demandes acceptées, dispositif", queue, {"etat": "accepted", "dispositif": dispositif.pk}),
        ("Structures, dispositif", reverse("backoffice:structures"), {"dispositif": dispositif.pk}),
        ("Écrire à plusieurs structures, dispositif", reverse("backoffice:broadcast"), {"dispositif": dispositif.pk}),
    ]


def count(url, params):
    """Rows the filter selects (the paginator's or the recipients' count of the page)."""
    values = dict(params)
    if url == reverse("workflow:queue"):
        values.setdefault("etat", ChangeStatus.SUBMITTED)
        return queries.queue(values, None, timezone.now()).count()
    if "dispositif" in params:
        values["dispositif"] = Dispositif.objects.get(pk=params["dispositif"])
    return queries.structures(values).count()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--dispositif", default="CPR02", help="code of the dispositif filtered on (CPR02)")
    parser.add_argument("--generate", action="store_true", help="run generate_offer when data is missing")
    parser.add_argument("--only", choices=["avant", "après"], help="measure one variant only")
    args = parser.parse_args()

    logging.getLogger("ofeli.request").setLevel(logging.WARNING)
    logging.getLogger("axes").setLevel(logging.WARNING)
    staff = ensure_data(args.generate)
    dispositif = Dispositif.objects.get(code=args.dispositif)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)
    print(
        f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}, "
        f"{SessionVersion.objects.count()} session versions, "
        f"{Financement.objects.filter(dispositif=dispositif).count()} financements {dispositif.code}, "
        f"{ChangeRequest.objects.count()} change requests"
    )
    print(f"Load average before: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    print()
    print("| Page | variant | requests | p50 (ms) | max (ms) | SQL p50 (ms) | rows found | SQL queries |")
    print("|---|---|---|---|---|---|---|---|")
    variants = [args.only] if args.only else ["avant", "après"]
    for name, url, params in scenarios(dispositif):
        for which in variants if "dispositif" in params else ["après"]:
            with variant(which):
                client.get(url, params)  # warm-up
                timings, sql = [], []
                for _ in range(args.requests):
                    with CaptureQueriesContext(connection) as ctx:
                        started = time.perf_counter()
                        response = client.get(url, params)
                        timings.append((time.perf_counter() - started) * 1000)
                    sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
                    assert response.status_code == 200, (name, response.status_code)
            found = count(url, params)
            print(
                f"| {name} | {which} | {len(timings)} | {statistics.median(timings):.0f} | {max(timings):.0f} "
                f"| {statistics.median(sql):.0f} | {found} | {len(ctx.captured_queries)} |"
            )
    print()
    print(f"Load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

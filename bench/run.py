#!/usr/bin/env python
"""Benchmarks of issue 5 (results and how to read them: docs/benchmarks.md).

    .venv/bin/python bench/run.py all [--keep] [--reuse]

creates PostgreSQL databases (``createdb``, server from $BENCH_PG, default
postgres://postgres@127.0.0.1:5432), fills them with ``manage.py generate_offer``, then
measures, each in a fresh process (time and peak RSS from /usr/bin/time):

- LHEO 2.3 full export of 10,000 and 100,000 sessions (``export_lheo``, with and without the
  XSD validation);
- the Excel export of 10,000 rows (the « Exporter » task);
- the search screen of a structure with 2,000 sessions (server time, SQL queries).

``bench/run.py queue`` (S3) measures the Carif queue with 2,000 waiting requests on the
database of $DATABASE_URL (open drafts of the generated offer are submitted first).

The databases are dropped at the end unless ``--keep``; ``--reuse`` keeps existing ones.
Single measurements can be run by hand: ``bench/run.py excel --db NAME`` or
``bench/run.py search --db NAME``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SIZES = {"10k": 100, "100k": 1000}  # structures × 20 formations × 5 sessions
SEARCH_DB_SUFFIX = "search"
# Files the measured code writes (export files) go to a scratch folder, never to var/.
SCRATCH = Path(os.environ.get("BENCH_SCRATCH") or tempfile.mkdtemp(prefix="ofeli-bench-"))


def thousands(number):
    return f"{number:,}".replace(",", "\u202f")


def env_for(db):
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{db}",
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": str(ROOT),
        "BENCH_SCRATCH": str(SCRATCH),
        "OFELI_PRIVATE_ROOT": str(SCRATCH / "private"),
        "OFELI_LHEO_FLOWS_DIR": str(SCRATCH / "flows"),
    }


def run(cmd, db, timed=False):
    """Run ``cmd`` (a list) for database ``db``; returns (stdout, seconds, user s, peak MB)."""
    if timed:
        cmd = ["/usr/bin/time", "-f", "BENCH %e %U %S %M", *cmd]
    result = subprocess.run(cmd, cwd=ROOT, env=env_for(db), capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    if not timed:
        return result.stdout, None, None, None
    line = [x for x in result.stderr.splitlines() if x.startswith("BENCH ")][-1]
    wall, user, system, rss_kb = line.split()[1:]
    return result.stdout, float(wall), float(user) + float(system), int(rss_kb) / 1024


def manage(db, *args, timed=False):
    return run([PYTHON, "manage.py", *args], db, timed=timed)


def host_args():
    from urllib.parse import urlsplit

    parts = urlsplit(PG)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


def db_exists(db):
    out = subprocess.run(
        ["psql", *host_args(), "-Atc", f"SELECT 1 FROM pg_database WHERE datname='{db}'", "postgres"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() == "1"


def create_db(db, structures, formations, sessions, reuse, seed=1):
    if reuse and db_exists(db):
        print(f"# reusing {db}")
        manage(db, "migrate", "--noinput", "-v0")
        return
    subprocess.run(["dropdb", *host_args(), "--if-exists", db], check=True)
    subprocess.run(["createdb", *host_args(), db], check=True)
    manage(db, "migrate", "--noinput", "-v0")
    manage(db, "load_referentials", "-v0")
    started = time.monotonic()
    manage(
        db,
        "generate_offer",
        f"--structures={structures}",
        f"--formations={formations}",
        f"--sessions-per-formation={sessions}",
        f"--seed={seed}",
        "--today=2026-11-26",
        "-v0",
    )
    subprocess.run(["psql", *host_args(), "-qc", "ANALYZE", db], check=True)
    print(f"# {db}: generated in {time.monotonic() - started:.0f} s")


def drop_db(db):
    subprocess.run(["dropdb", *host_args(), "--if-exists", db], check=True)


def bench_lheo(db, validate):
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "offre.xml"
        args = ["export_lheo", "--lheo-version", "2.3", "--output", str(target)]
        if not validate:
            args.append("--no-validate")
        out, wall, cpu, rss = manage(db, *args, timed=True)
        size = target.stat().st_size / 1024 / 1024
    sessions = int(out.split(" actions, ")[1].split(" sessions")[0])
    return {"sessions": sessions, "wall": wall, "cpu": cpu, "rss": rss, "size": size}


# --- measurements run inside Django (a fresh process each) -------------------------------------


def _django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def excel_main(rows):
    """Build an « Export Excel » job of every row of the staff search, as the worker does."""
    _django()
    from ofeli.exports.jobs import run_export
    from ofeli.exports.models import ExportJob
    from ofeli.users.enums import Role
    from ofeli.users.models import User

    staff, _ = User.objects.get_or_create(email="bench-staff@example.org", defaults={"role": Role.GESTIONNAIRE})
    # Every result of the staff search (all structures): about ``rows`` rows on the 10k base.
    job = ExportJob.objects.create(user=staff, format="xlsx", criteria={})
    started = time.monotonic()
    run_export(job.pk)
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    print(f"RESULT rows={job.row_count} seconds={elapsed:.2f} size={job.size} status={job.status}")
    job.file.delete(save=False)
    job.delete()


def search_main(structure_reference, repeat):
    """Server time and SQL queries of the search screen for the OF user of a structure."""
    _django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ofeli.structures.models import Structure
    from ofeli.users.models import Membership, User

    structure = Structure.objects.get(reference=structure_reference)
    user, _ = User.objects.get_or_create(email="bench-of@example.org")
    Membership.objects.get_or_create(user=user, structure=structure)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    cases = {
        "default (tri Intitulé, 25 lignes)": {},
        "100 lignes, tri Date de début ↓": {"par_page": "100", "tri": "-debut"},
        "filtre Ville + tri État": {"f_ville": "o", "tri": "etat"},
        "critère État diffusée + tri Dispositif": {"etat": "diffusion", "tri": "dispositif"},
        "dernière page": {"page": "80"},
    }
    for label, params in cases.items():
        client.get("/ofeli/formations/", params)  # warm-up
        times, queries = [], set()
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get("/ofeli/formations/", params)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            queries.add(len(ctx.captured_queries))
        count = response.content.decode().split('id="search-count"')[1].split("<strong>")[1].split("</strong>")[0]
        print(
            f"RESULT {label} | {statistics.median(times):.0f} ms médian, {max(times):.0f} ms max | "
            f"{sorted(queries)} requêtes | {count}"
        )


def queue_main(waiting, repeat):
    """Server time and SQL queries of the Carif queue « Demandes à valider » with ``waiting``
    submitted requests (S3): open drafts of the generated offer are submitted first, with
    submission dates spread over the last 20 days, until there are that many."""
    _django()
    import datetime

    from django.db import connection
    from django.db.models import F
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ofeli.users.enums import Role
    from ofeli.users.models import User
    from ofeli.workflow.enums import ChangeStatus
    from ofeli.workflow.models import ChangeRequest

    submitted = ChangeRequest.objects.filter(status=ChangeStatus.SUBMITTED)
    missing = waiting - submitted.count()
    if missing > 0:
        drafts = list(
            ChangeRequest.objects.filter(status=ChangeStatus.DRAFT)
            .order_by("pk")
            .values_list("pk", flat=True)[:missing]
        )
        now = timezone.now()
        for hours in range(0, 480, 24):
            chunk = drafts[hours // 24 :: 20]
            ChangeRequest.objects.filter(pk__in=chunk).update(
                status=ChangeStatus.SUBMITTED,
                submitted_at=now - datetime.timedelta(hours=hours + 3),
                updated_at=F("created_at"),
            )
    count = submitted.count()
    staff, _ = User.objects.get_or_create(email="bench-staff@example.org", defaults={"role": Role.GESTIONNAIRE})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)
    cases = {
        "défaut (les plus anciennes, 50 lignes)": {},
        "les plus récentes d'abord": {"tri": "recentes"},
        "filtre département 75 + objet formation": {"departement": "75", "objet": "formation"},
        "page 20": {"page": "20"},
        "htmx (résultats seuls)": {"_htmx": "1"},
    }
    for label, params in cases.items():
        headers = {"HTTP_HX_REQUEST": "true"} if params.pop("_htmx", None) else {}
        client.get("/ofeli/carif/demandes/", params, **headers)  # warm-up
        times, queries = [], set()
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get("/ofeli/carif/demandes/", params, **headers)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            queries.add(len(ctx.captured_queries))
        print(
            f"RESULT {label} | {statistics.median(times):.0f} ms médian, {max(times):.0f} ms max | "
            f"{sorted(queries)} requêtes | {count} demandes en attente"
        )


def search_structure(db):
    out, *_ = run(
        [
            PYTHON,
            "-c",
            "import os,django;os.environ.setdefault('DJANGO_SETTINGS_MODULE','config.settings.dev');django.setup();"
            "from django.db.models import Count;from ofeli.structures.models import Structure;"
            "s=Structure.objects.annotate(n=Count('formations__sessions')).order_by('-n').first();print(s.reference,s.n)",
        ],
        db,
    )
    reference, count = out.split()
    return reference, int(count)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["all", "lheo", "excel", "search", "queue"])
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="reuse existing databases")
    parser.add_argument("--db", help="database (excel, search)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--structure", help="structure reference (search)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--prefix", default="ofeli_bench")
    parser.add_argument("--waiting", type=int, default=2000, help="submitted requests in the queue (queue)")
    args = parser.parse_args()

    if args.what == "excel" and args.db is None:
        return excel_main(args.rows)
    if args.what == "search" and args.db is None:
        return search_main(args.structure, args.repeat)
    if args.what == "queue":
        # S3: on the database of DATABASE_URL (e.g. the national 500,000-session offer).
        return queue_main(args.waiting, args.repeat)

    dbs = {size: f"{args.prefix}_{size}" for size in SIZES}
    search_db = f"{args.prefix}_{SEARCH_DB_SUFFIX}"
    lines = []
    try:
        if args.what in ("all", "lheo"):
            for size, structures in SIZES.items():
                create_db(dbs[size], structures, 20, 5, args.reuse)
            for size in SIZES:
                for validate in (False, True):
                    r = bench_lheo(dbs[size], validate)
                    label = "export + validation XSD" if validate else "export"
                    lines.append(
                        f"| LHEO 2.3 complet, {thousands(r['sessions'])} sessions | {label} | {r['wall']:.1f} s "
                        f"(CPU {r['cpu']:.1f} s) | {r['rss']:.0f} Mo | {r['size']:.0f} Mo |"
                    )
                    print(lines[-1], flush=True)
        if args.what in ("all", "excel"):
            db = args.db or dbs["10k"]
            create_db(db, SIZES["10k"], 20, 5, args.reuse)
            out, wall, cpu, rss = run([PYTHON, __file__, "excel", "--rows", str(args.rows)], db, timed=True)
            result = [x for x in out.splitlines() if x.startswith("RESULT")][-1]
            values = dict(item.split("=") for item in result.split()[1:])
            lines.append(
                f"| Export Excel, {thousands(int(values['rows']))} lignes | tâche « Exporter » | "
                f"{float(values['seconds']):.1f} s (processus {wall:.1f} s, CPU {cpu:.1f} s) | {rss:.0f} Mo | "
                f"{int(values['size']) / 1024 / 1024:.1f} Mo |"
            )
            print(lines[-1], flush=True)
        if args.what in ("all", "search"):
            db = args.db or search_db
            # 400 formations × 5 sessions in one structure: about 2,000 sessions.
            create_db(db, 1, 400, 5, args.reuse, seed=3)
            reference, count = search_structure(db)
            out, *_ = run([PYTHON, __file__, "search", "--structure", reference, "--repeat", str(args.repeat)], db)
            print(f"# search screen, structure {reference} with {count} sessions")
            for line in out.splitlines():
                if line.startswith("RESULT"):
                    lines.append(f"| Recherche ({count} sessions) : {line[7:]} |")
                    print(lines[-1], flush=True)
    finally:
        import shutil

        shutil.rmtree(SCRATCH, ignore_errors=True)
        if not args.keep and args.what == "all":
            for db in [*dbs.values(), search_db]:
                drop_db(db)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark of the LHEO import (issue 9, H3): results in docs/benchmarks.md.

    .venv/bin/python bench/import_lheo.py prepare [--structures 1000]   # source offer + LHEO file
    .venv/bin/python bench/import_lheo.py import                          # fresh database, import, re-import
    .venv/bin/python bench/import_lheo.py all [--keep]

``prepare`` creates the PostgreSQL database ``ofeli_bench_import_src`` (server from
$BENCH_PG, default postgres://postgres@127.0.0.1:5432), migrates it, loads the referentials,
generates the offer (``generate_offer --structures N --formations 20 --sessions-per-formation
5 --seed 1 --today 2026-11-26``: N = 1000 gives 100,000 sessions) and exports it as LHEO 2.3
(``export_lheo --no-validate``) into $BENCH_SCRATCH (default: a temporary folder).
``import`` creates a fresh ``ofeli_bench_import_dst`` (migrated, referentials loaded), then
measures, each in a fresh process with ``/usr/bin/time`` (wall time, CPU time, peak RSS):
``import_lheo FILE --source region -v 2`` on the empty database, then the same file again
(nothing changed; a file identical to one already imported is not validated again), then the
same content with other bytes (validated again), with the load average before and after. The databases are dropped at the end of ``all`` unless ``--keep``.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SCRATCH = Path(os.environ.get("BENCH_SCRATCH") or tempfile.gettempdir()) / "ofeli-bench-import"
SOURCE_DB, TARGET_DB = "ofeli_bench_import_src", "ofeli_bench_import_dst"
FILE = SCRATCH / "offre-2.3.xml"


def env(db):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": f"{PG}/{db}",
        "DJANGO_DEBUG": "0",  # dev settings: no query log (production runs without DEBUG)
    }


def manage(db, *args, timed=False):
    command = [PYTHON, "manage.py", *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    result = subprocess.run(command, cwd=ROOT, env=env(db), capture_output=True, text=True)
    if result.returncode not in (0, 2):
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def host_args():
    match = re.match(r"postgres(?:ql)?://(?:([^@:/]+)@)?([^:/]+)(?::(\d+))?", PG)
    user, host, port = match.groups()
    return [*(["-U", user] if user else []), "-h", host, "-p", port or "5432"]


def dropdb(db):
    subprocess.run(["dropdb", *host_args(), "--if-exists", "--force", db], check=False, capture_output=True)


def recreate(db):
    dropdb(db)
    subprocess.run(["createdb", *host_args(), db], check=True)
    manage(db, "migrate", "--noinput")
    manage(db, "load_referentials")


def measure(result):
    """(wall s, CPU s, peak RSS MB) from /usr/bin/time -v."""
    text = result.stderr
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    hours, minutes, seconds = (float(x or 0) for x in wall.groups())
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    cpu += float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return hours * 3600 + minutes * 60 + seconds, cpu, rss


def prepare(structures):
    SCRATCH.mkdir(parents=True, exist_ok=True)
    recreate(SOURCE_DB)
    manage(
        SOURCE_DB,
        "generate_offer",
        "--structures",
        str(structures),
        "--formations",
        "20",
        "--sessions-per-formation",
        "5",
        "--seed",
        "1",
        "--today",
        "2026-11-26",
    )
    subprocess.run(["psql", f"{PG}/{SOURCE_DB}", "-c", "ANALYZE"], check=True, capture_output=True)
    manage(SOURCE_DB, "export_lheo", "--lheo-version", "2.3", "--no-validate", "--output", str(FILE))
    data_size = FILE.stat().st_size
    with FILE.open("rb") as stream:
        sessions = sum(chunk.count(b"<session ") for chunk in iter(lambda: stream.read(1 << 20), b""))
    print(f"Fichier {FILE} : {data_size / 1e6:.0f} Mo, {sessions} sessions")


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_import():
    recreate(TARGET_DB)
    # The same content with other bytes (one more line feed at the end): a re-import whose file
    # is not the one already validated, so the schema is checked again.
    other = FILE.with_name("offre-2.3-autres-octets.xml")
    other.write_bytes(FILE.read_bytes() + b"\n")
    runs = (
        ("import (base vide)", FILE),
        ("ré-import (même fichier)", FILE),
        ("ré-import (même contenu, autres octets : validé)", other),
    )
    for label, path in runs:
        before = load_average()
        result = manage(TARGET_DB, "import_lheo", str(path), "--source", "region", "-v", "2", timed=True)
        wall, cpu, rss = measure(result)
        lines = result.stdout.strip().splitlines()
        print(
            f"{label} : {wall:.1f} s (CPU {cpu:.1f} s), pic mémoire {rss:.0f} Mo, charge {before} -> {load_average()}"
        )
        for line in lines[-2:]:
            print(f"    {line}")
    other.unlink()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["prepare", "import", "all"])
    parser.add_argument("--structures", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.what in ("prepare", "all"):
        prepare(args.structures)
    if args.what in ("import", "all"):
        run_import()
    if args.what == "all" and not args.keep:
        for db in (SOURCE_DB, TARGET_DB):
            dropdb(db)


if __name__ == "__main__":
    main()

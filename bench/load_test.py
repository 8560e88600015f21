#!/usr/bin/env python
"""Load test of the production server (S1/S3): gunicorn with config.settings.prod and N
worker processes on a filled PostgreSQL database, C concurrent clients on loopback mixing
public searches and formation pages for D seconds; throughput, p50/p95/p99, errors.

    .venv/bin/python bench/load_test.py --db ofeli_bench_prod [--workers 4] [--clients 20]
        [--duration 60] [--max-requests 30000]

The database must be migrated, filled (``generate_offer``) and its public index built. The
test is bounded in time and in requests, and talks only to 127.0.0.1. The clients are threads
of this process (keep-alive connections, one per client) and run on the same machine as the
server and PostgreSQL: on a small machine they take CPU from the server, so the figures are a
floor, not the server's capacity. Results: docs/benchmarks.md."""

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")

WORDS = ["comptabilité", "anglais", "aide-soignant", "développeur web", "paie", "soudure", "cariste", "cuisine"]
TOWNS = ["Orléans (45000)", "Tours (37000)", "Bourges (18000)", "Chartres (28000)", "Blois (41000)"]
FINANCING = ["france_travail", "region", "cpf"]


def search_paths(rng):
    """One of the five scenarios of bench/public_search.py, with rotating parameters."""
    from urllib.parse import urlencode

    kind = rng.choice(["mots", "lieu", "mots_lieu_fin", "sans_critere", "page"])
    params = {
        "mots": {"q": rng.choice(WORDS)},
        "lieu": {"lieu": rng.choice(TOWNS), "rayon": "30"},
        "mots_lieu_fin": {
            "q": rng.choice(WORDS),
            "lieu": rng.choice(TOWNS),
            "rayon": "30",
            "fin": rng.choice(FINANCING),
        },
        "sans_critere": {},
        "page": {"page": str(rng.randint(2, 50))},
    }[kind]
    return f"search:{kind}", "/" + (f"?{urlencode(params)}" if params else "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db, workers, var):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OFELI_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{PG}/{db}",
        "DATABASE_CONN_MAX_AGE": "600",
        "OFELI_VAR_DIR": str(var),
        "DJANGO_LOG_LEVEL": "WARNING",  # one JSON line per request would cost the clients' CPU too
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        # S3: the instance's region (a national database needs OFELI_REGION=FR).
        **({"OFELI_REGION": os.environ["OFELI_REGION"]} if os.environ.get("OFELI_REGION") else {}),
    }
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    log = (var / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [GUNICORN, "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start: " + (var / "gunicorn.log").read_text())


class Connection:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("GET", path, headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https"})
                response = self.conn.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError


def formation_pool(port, rng):
    from urllib.parse import urlencode

    """Formation pages linked from a few result pages (what a visitor would open)."""
    connection, links = Connection(port), set()
    for word in WORDS + [""]:
        status, body = connection.get("/" + (f"?{urlencode({'q': word})}" if word else ""))
        links.update(re.findall(r'href="(/formation/[0-9]+F/[^"#]+/)"', body.decode("utf-8", "replace")))
    if not links:
        raise SystemExit("no formation page found: is the public index built?")
    return sorted(links)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="ofeli-load-"))
    process, port = start_server(args.db, args.workers, var)
    try:
        pool = formation_pool(port, random.Random(args.seed))
        results, lock = [], threading.Lock()
        budget = iter(range(args.max_requests))
        deadline = time.monotonic() + args.duration

        def client(number):
            rng = random.Random(args.seed * 1000 + number)
            connection = Connection(port)
            while time.monotonic() < deadline:
                with lock:
                    if next(budget, None) is None:
                        return
                if rng.random() < 0.5:
                    kind, path = search_paths(rng)
                else:
                    kind, path = "formation", rng.choice(pool)
                started = time.perf_counter()
                try:
                    status, _ = connection.get(path)
                except Exception as error:  # noqa: BLE001 - counted as an error
                    status = f"{type(error).__name__}"
                elapsed = time.perf_counter() - started
                with lock:
                    results.append((kind, status, elapsed))

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    def percentiles(values):
        values = sorted(values)
        q = statistics.quantiles(values, n=100, method="inclusive")
        return values[len(values) // 2] * 1000, q[94] * 1000, q[98] * 1000

    errors = [r for r in results if r[1] != 200]
    print(f"gunicorn {args.workers} workers, {args.clients} clients, {wall:.1f} s, database {args.db}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (machine: {os.cpu_count()} CPU)")
    print(f"{'kind':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    kinds = sorted({r[0] for r in results})
    for kind in ["all", *kinds]:
        rows = [r[2] for r in results if kind == "all" or r[0] == kind]
        if len(rows) >= 2:
            p50, p95, p99 = percentiles(rows)
            print(f"{kind:<22}{len(rows):>9}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}")
    print(f"throughput: {len(results) / wall:.1f} requests/s; errors: {len(errors)}")
    for kind, status, _ in errors[:10]:
        print(f"  error: {kind} {status}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

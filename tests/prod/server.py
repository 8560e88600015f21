"""Start the production configuration for a test: collectstatic, then gunicorn with
config.settings.prod on the test database, behind nothing (the test plays the reverse proxy:
it sends X-Forwarded-Proto: https). Also a tiny HTTP client that keeps cookies even when
they are « Secure » (the proxy would be on HTTPS; the test talks HTTP on loopback)."""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def database_url(var_dir):
    """The test database when it is PostgreSQL (shared with the test), else a SQLite file."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{var_dir}/ofeli.sqlite3"


def prod_env(var_dir, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OFELI_", "PYTEST", "SENTRY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(var_dir),
        OFELI_VAR_DIR=str(var_dir),
        DJANGO_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env, *args, check=True, timeout=300):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=check, timeout=timeout
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env, workers=2):
        self.port = free_port()
        self.env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY=str(workers))
        self.log_path = Path(env["OFELI_VAR_DIR"]) / "gunicorn.log"
        self.process = None

    def start(self, timeout=60):
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [GUNICORN, "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not listen: {self.log_path.read_text()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.process:
            self.log.close()

    def logs(self):
        return self.log_path.read_text()


class Client:
    """HTTP on loopback as the reverse proxy would forward it (X-Forwarded-Proto: https)."""

    def __init__(self, port, https=True):
        self.port, self.https = port, https
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}"}
        if self.https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict):
            body = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"https://127.0.0.1:{self.port}"
            sent["Referer"] = f"https://127.0.0.1:{self.port}{path}"
        sent.update(headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.content = response.read()
        response.text = response.content.decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                match = re.match(r"([^=]+)=([^;]*)", value)
                self.cookies[match.group(1)] = match.group(2)
        connection.close()
        return response

    def get(self, path, **headers):
        return self.request("GET", path, headers=headers)

    def post(self, path, data):
        return self.request("POST", path, body=data)

"""S1: the production configuration boots with the real server (gunicorn, config.settings.prod)
on PostgreSQL, sends the security headers, serves a compressed static file with far-future
cache headers, answers the health endpoint and carries an OF user from login to a page;
its logs are JSON lines with the request id. Then it is stopped.

The server runs in another process, so it needs a database that process can open: the
PostgreSQL test database (CI runs the suite on PostgreSQL too). On SQLite (in-memory test
database) these tests are skipped."""

import json
import re
import subprocess

import pytest
from django.db import connection

from ofeli.core.models import NightlyRun
from tests.factories import MembershipFactory, published_formation

from .server import PYTHON, ROOT, Client, Server, manage, prod_env

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the server process must open the test database (PostgreSQL)"
)


@pytest.fixture
def prod(tmp_path):
    env = prod_env(tmp_path / "var")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "createcachetable")
    server = Server(env, workers=2).start()
    yield server
    server.stop()


def test_s1_manage_check_deploy_passes_with_the_documented_environment(tmp_path):
    env = prod_env(tmp_path / "var", DJANGO_ALLOWED_HOSTS="offre.example.fr")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in result.stdout


def test_s1_prod_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = prod_env(tmp_path / "var", DJANGO_SECRET_KEY="")
    result = manage(env, "check", check=False)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_s1_gunicorn_serves_headers_static_health_and_an_of_journey(prod, settings):
    formation = published_formation(intitule="Boucher charcutier")
    user = MembershipFactory(structure=formation.structure).user
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # production's hasher
    user.set_password("Motdepasse!1")
    user.save()
    browser = Client(prod.port)

    # plain HTTP is sent to HTTPS; the health endpoint is exempt (a monitor on loopback)
    plain = Client(prod.port, https=False)
    redirect = plain.get("/")
    assert redirect.status == 301 and redirect.getheader("Location") == f"https://127.0.0.1:{prod.port}/"

    # security headers on the public site
    home = browser.get("/", **{"X-Request-ID": "essai-s1-accueil"})
    assert home.status == 200
    assert home.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    policy = home.getheader("Content-Security-Policy")
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert home.getheader("Referrer-Policy") == "same-origin"
    assert home.getheader("X-Content-Type-Options") == "nosniff"
    assert home.getheader("X-Frame-Options") == "DENY"
    assert home.getheader("X-Request-ID") == "essai-s1-accueil"

    # a static file: hashed name from the manifest, gzip, cached for years
    css = re.search(r'href="(/static/ofeli/app\.[0-9a-f]{12}\.css)"', home.text).group(1)
    static = browser.get(css, **{"Accept-Encoding": "gzip"})
    assert static.status == 200
    assert static.getheader("Content-Encoding") == "gzip"
    assert "max-age=315360000" in static.getheader("Cache-Control") and "immutable" in static.getheader("Cache-Control")

    # health: no nightly run yet -> 503 with the reason; after one, and with a worker, 200
    health = plain.get("/sante/")
    assert health.status == 503
    body = json.loads(health.text)
    assert body["status"] == "erreur" and body["checks"]["database"]["ok"] is True
    assert "aucun passage réussi des travaux de nuit" in " ".join(body["reasons"])
    assert health.getheader("Cache-Control").startswith("max-age=0")
    manage(prod.env, "nightly")
    manage(prod.env, "db_worker", "--batch", "--no-startup-delay", "--no-reload")  # runs the heartbeat
    health = plain.get("/sante/")
    body = json.loads(health.text)
    assert health.status == 200, body
    assert body["checks"]["worker"]["detail"].startswith("dernier battement du worker il y a")
    assert body["checks"]["nightly"]["ok"] and NightlyRun.objects.filter(status="succeeded").count() == 1

    # an OF journey: login page, login, the « Formations » screen of the structure
    login = browser.get("/ofeli/connexion/")
    assert login.status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    done = browser.post(
        "/ofeli/connexion/", {"csrfmiddlewaretoken": token, "username": user.email, "password": "Motdepasse!1"}
    )
    assert done.status == 302, done.text[:500]
    assert "Secure" in "".join(v for k, v in done.getheaders() if k.lower() == "set-cookie")
    page = browser.get("/ofeli/formations/", **{"X-Request-ID": "essai-s1-formations"})
    assert page.status == 200 and "Boucher charcutier" in page.text

    # the logs: one JSON object per line, with the request id
    prod.stop()
    lines = [json.loads(line) for line in prod.logs().splitlines() if line.strip()]
    requests = [line for line in lines if line["logger"] == "ofeli.request"]
    formations = [line for line in requests if line["request_id"] == "essai-s1-formations"]
    assert formations and formations[0]["path"] == "/ofeli/formations/" and formations[0]["status"] == 200
    assert formations[0]["user_id"] == user.pk
    assert any(line["logger"] == "gunicorn.error" for line in lines)


def test_s1_sentry_is_initialised_only_when_a_dsn_is_set(tmp_path):
    code = "import django; django.setup(); import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    for dsn, expected in (("", "False"), ("https://cle@127.0.0.1:9/1", "True")):
        env = prod_env(tmp_path / "var", SENTRY_DSN=dsn)
        result = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.stdout.strip() == expected, result.stderr

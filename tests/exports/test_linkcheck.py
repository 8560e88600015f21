"""The web-link checker (SPEC I2) against a local HTTP server: broken links are recorded on
formations and structures and feed « Erreur liens site internet » (B3); requests have
timeouts, hosts are checked in parallel but one request at a time per host."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.urls import reverse

from ofeli.exports.linkcheck import check_all, check_links, check_url
from ofeli.formations.models import Formation
from ofeli.formations.queries import dashboard_counters
from ofeli.structures.models import Structure
from ofeli.workflow.guards import allow_published_changes
from tests.factories import MembershipFactory, StructureFactory, published_formation

pytestmark = pytest.mark.django_db


class Handler(BaseHTTPRequestHandler):
    active = {}  # host -> requests being served
    max_active = {}
    max_total = 0
    total = 0
    requests = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _serve(self, body):
        host = self.headers["Host"].split(":")[0]
        cls = type(self)
        with cls.lock:
            cls.requests.append((self.command, host, self.path))
            cls.active[host] = cls.active.get(host, 0) + 1
            cls.total += 1
            cls.max_active[host] = max(cls.max_active.get(host, 0), cls.active[host])
            cls.max_total = max(cls.max_total, cls.total)
            self._counted = True
        try:
            path = self.path.split("?")[0]
            if path.startswith("/lent"):
                time.sleep(2)
            if path.startswith("/pause"):
                time.sleep(0.15)
            # The request stops counting as active before its answer leaves: once the client
            # has the answer it may send the next one, before this thread gets to ``finally``
            # (counting until then made max_active 2 now and then for one host).
            self._done(host)
            status = {"/absent": 404, "/erreur": 500}.get(path, 200)
            if path == "/sans-head" and self.command == "HEAD":
                status = 405
            if path == "/redirection":
                self.send_response(302)
                self.send_header("Location", "/ok")
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            if body:
                self.wfile.write(b"<html>ok</html>")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._done(host)

    def _done(self, host):
        cls = type(self)
        with cls.lock:
            if self._counted:
                cls.active[host] -= 1
                cls.total -= 1
                self._counted = False

    def do_HEAD(self):
        self._serve(False)

    def do_GET(self):
        self._serve(True)


@pytest.fixture
def server(settings):
    settings.LINK_CHECK_ALLOW_PRIVATE = True  # the test server is on 127.0.0.1
    Handler.active, Handler.max_active, Handler.requests = {}, {}, []
    Handler.max_total = Handler.total = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def site(formation, url):
    version = formation.live_version
    version.site_web = url
    version.save()


def test_i2_check_url_answers(server):
    base, _ = server
    assert check_url(f"{base}/ok") == ""
    assert check_url(f"{base}/redirection") == ""
    assert check_url(f"{base}/sans-head") == ""  # HEAD refused, GET works
    assert check_url(f"{base}/absent") == "Erreur 404 : la page n'existe pas."
    assert check_url(f"{base}/erreur").startswith("Erreur 500")
    assert check_url(f"{base}/lent", timeout=0.5) == "Le site ne répond pas (délai de 0.5 s dépassé)."
    assert check_url("ftp://example.org/") == "Adresse invalide : elle doit commencer par https://"
    assert check_url("http://127.0.0.1:9/").startswith("Site injoignable")


def test_i2_private_addresses_are_not_requested_by_default(settings, server):
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    base, _ = server
    assert check_url(f"{base}/ok") == "Adresse refusée : elle ne pointe pas vers un site public."
    assert Handler.requests == []


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_i2_link_checker_feeds_formations_structures_and_the_dashboard_counter(server, client):
    base, _ = server
    structure = StructureFactory()
    good = published_formation(structure, intitule="Lien correct")
    broken = published_formation(structure, intitule="Lien cassé")
    slow = published_formation(structure, intitule="Site lent")
    without = published_formation(structure, intitule="Sans site")
    site(good, f"{base}/ok")
    site(broken, f"{base}/absent")
    site(slow, f"{base}/lent")
    site(without, "")
    Formation.objects.filter(pk=without.pk).update(link_error="ancienne erreur")
    version = structure.live_version
    version.site_web = f"{base}/erreur"
    version.save()
    report = check_links(timeout=0.5)
    assert report.formations_in_error == 2 and report.structures_in_error >= 1
    states = {f.pk: f.link_error for f in Formation.objects.all()}
    assert states[good.pk] == "" and states[without.pk] == ""
    assert states[broken.pk] == "Erreur 404 : la page n'existe pas."
    assert states[slow.pk].startswith("Le site ne répond pas")
    assert Formation.objects.get(pk=good.pk).link_checked_at is not None
    assert Structure.objects.get(pk=structure.pk).link_error.startswith("Erreur 500")
    assert dashboard_counters(structure)["erreur_liens"] == 2
    # The counter's link lists them on the search screen.
    client.force_login(MembershipFactory(structure=structure).user)
    html = client.get(reverse("formations:search"), {"etat": "erreur_liens"}).content.decode()
    assert broken.reference in html and slow.reference in html and good.reference not in html
    # Fixed: the next run clears the error.
    site(broken, f"{base}/ok")
    check_links(timeout=0.5)
    assert Formation.objects.get(pk=broken.pk).link_error == ""


def test_i2_one_request_at_a_time_per_host_hosts_in_parallel(server):
    base, other_host = server
    urls = [f"{base}/pause/{i}" for i in range(4)] + [f"{other_host}/pause/{i}" for i in range(4)]
    results = check_all(urls, concurrency=4, timeout=5)
    assert set(results.values()) == {""}
    assert Handler.max_active == {"127.0.0.1": 1, "localhost": 1}  # politeness
    assert Handler.max_total == 2  # the two hosts were checked at the same time


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_i2_a_url_shared_by_many_formations_is_requested_once(server):
    base, _ = server
    structure = StructureFactory()
    for _ in range(3):
        site(published_formation(structure), f"{base}/ok")
    version = structure.live_version
    version.site_web = f"{base}/ok"
    version.save()
    check_links()
    assert [r for r in Handler.requests if r[2] == "/ok"] == [("HEAD", "127.0.0.1", "/ok")]


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_i2_check_links_command_and_task(server):
    base, _ = server
    site(published_formation(), f"{base}/absent")
    out = io.StringIO()
    call_command("check_links", "--timeout", "1", "--concurrency", "2", stdout=out)
    assert "1/1 formation(s)" in out.getvalue()
    from ofeli.exports.tasks import check_links as task

    assert task.enqueue().return_value["formations_en_erreur"] == 1

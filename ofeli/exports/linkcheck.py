"""Web-link checker (SPEC I2, B3 « Erreur liens site internet »).

Checks the web site of every published formation (``FormationVersion.site_web`` of its live
version) and of every structure (``StructureVersion.site_web`` of its published record), and
records what answered badly in ``Formation.link_error`` / ``link_checked_at`` and
``Structure.link_error`` (an empty error means the link works).

Politeness and bounds: each URL is requested once however many formations share it; hosts
are checked in parallel by at most ``concurrency`` threads, but one host gets one request at
a time (its URLs are checked one after the other, ``delay`` seconds apart); every request has
a timeout and reads at most a few bytes of the answer. HEAD is tried first, then GET when the
server does not accept HEAD. Only http(s) URLs on public addresses are requested (no request
to the platform's own network), unless ``settings.LINK_CHECK_ALLOW_PRIVATE`` is set (tests):
the host name is looked up once, every address checked, and the connection made to that
address (K1: a DNS-rebinding name cannot send the second lookup inside); redirects are
checked the same way at each hop; proxies from the environment are not used.
"""

import functools
import http.client
import ipaddress
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ofeli.formations.models import Formation
from ofeli.structures.models import Structure

DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 10.0
MAX_ERROR = 250
USER_AGENT = "OFeli-verification-liens/1.0 (+https://www.formation-centre-val-de-loire.fr)"
RETRY_WITH_GET = {400, 403, 404, 405, 406, 429, 500, 501, 503}

STATUS_LABELS = {
    400: "requête refusée",
    401: "accès protégé par mot de passe",
    403: "accès interdit",
    404: "la page n'existe pas",
    410: "la page a été supprimée",
    429: "trop de requêtes",
    500: "erreur du serveur",
    502: "erreur de la passerelle",
    503: "service indisponible",
    504: "délai de la passerelle dépassé",
}


@dataclass
class LinkCheckReport:
    urls: int = 0
    errors: int = 0
    formations_checked: int = 0
    formations_in_error: int = 0
    structures_checked: int = 0
    structures_in_error: int = 0
    results: dict = field(default_factory=dict, repr=False)

    def as_dict(self):
        return {
            "urls": self.urls,
            "erreurs": self.errors,
            "formations": self.formations_checked,
            "formations_en_erreur": self.formations_in_error,
            "structures": self.structures_checked,
            "structures_en_erreur": self.structures_in_error,
        }


class _Blocked(Exception):
    pass


def resolve(host, port):
    """The address to connect to for ``host``: looked up once; every address the name gives
    must be public (a name that also points inside would be a way in), unless
    ``settings.LINK_CHECK_ALLOW_PRIVATE``. The connection then goes to this very address
    (``_PinnedHTTPConnection``): no second lookup that a rebinding domain could answer with
    an internal address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise urllib.error.URLError(exc) from exc
    if not infos:
        raise urllib.error.URLError(socket.gaierror("no address"))
    if not getattr(settings, "LINK_CHECK_ALLOW_PRIVATE", False):
        for info in infos:
            if not ipaddress.ip_address(info[4][0].split("%")[0]).is_global:
                raise _Blocked(host)
    return infos[0][4][0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address resolved and checked before, sends the URL's host name."""

    def __init__(self, host, *, address, **kwargs):
        super().__init__(host, **kwargs)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout, self.source_address)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same for https: the certificate is checked against the URL's host name (SNI)."""

    def __init__(self, host, *, address, **kwargs):
        super().__init__(host, **kwargs)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _pinned(connection_class, request):
    parts = urlsplit(request.full_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Blocked(request.full_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return functools.partial(connection_class, address=resolve(parts.hostname, port))


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_pinned(_PinnedHTTPConnection, req), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_pinned(_PinnedHTTPSConnection, req), req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only; each hop is resolved, checked and pinned again."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        parts = urlsplit(newurl)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Blocked(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# No proxy from the environment: the checker connects to the address it checked itself.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _PinnedHTTPHandler(), _PinnedHTTPSHandler(), _RedirectHandler()
)


def _request(url, method, timeout):
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    with _OPENER.open(request, timeout=timeout) as response:
        if method == "GET":
            response.read(512)
        return response.status


def check_url(url, timeout=DEFAULT_TIMEOUT):
    """'' when ``url`` answers well, else a short French explanation."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Adresse invalide : elle doit commencer par https://"
    try:
        try:
            _request(url, "HEAD", timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_WITH_GET:
                raise
            _request(url, "GET", timeout)
        return ""
    except urllib.error.HTTPError as exc:
        label = STATUS_LABELS.get(exc.code, "réponse en erreur")
        return f"Erreur {exc.code} : {label}."
    except _Blocked:
        return "Adresse refusée : elle ne pointe pas vers un site public."
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return f"Le site ne répond pas (délai de {timeout:g} s dépassé)."
        if isinstance(reason, ssl.SSLError):
            return "Certificat de sécurité (https) invalide."
        if isinstance(reason, socket.gaierror):
            return "Nom de domaine introuvable."
        return f"Site injoignable ({reason})."[:MAX_ERROR]
    except TimeoutError:
        return f"Le site ne répond pas (délai de {timeout:g} s dépassé)."
    except ssl.SSLError:
        return "Certificat de sécurité (https) invalide."
    except (HTTPException, OSError, ValueError) as exc:
        return f"Site injoignable ({exc.__class__.__name__})."


def _targets():
    formations = defaultdict(list)
    for pk, url in Formation.objects.filter(live_version__isnull=False, archived_at__isnull=True).values_list(
        "pk", "live_version__site_web"
    ):
        formations[(url or "").strip()].append(pk)
    structures = defaultdict(list)
    for pk, url in Structure.objects.filter(live_version__isnull=False).values_list("pk", "live_version__site_web"):
        structures[(url or "").strip()].append(pk)
    return formations, structures


def check_all(urls, *, concurrency=DEFAULT_CONCURRENCY, timeout=DEFAULT_TIMEOUT, delay=0.0):
    """{url: error} for ``urls``: hosts in parallel (at most ``concurrency``), one request at
    a time per host."""
    by_host = defaultdict(list)
    for url in urls:
        by_host[(urlsplit(url).hostname or "").lower()].append(url)
    results = {}

    def run(host_urls):
        for i, url in enumerate(host_urls):
            if i and delay:
                time.sleep(delay)
            results[url] = check_url(url, timeout)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="liens") as pool:
        for future in [pool.submit(run, host_urls) for host_urls in by_host.values()]:
            future.result()
    return results


def check_links(*, concurrency=None, timeout=None, delay=None):
    """Check every link and record the results; returns a LinkCheckReport."""
    concurrency = concurrency or getattr(settings, "LINK_CHECK_CONCURRENCY", DEFAULT_CONCURRENCY)
    timeout = timeout or getattr(settings, "LINK_CHECK_TIMEOUT", DEFAULT_TIMEOUT)
    delay = getattr(settings, "LINK_CHECK_DELAY", 0.0) if delay is None else delay
    formations, structures = _targets()
    urls = sorted({url for url in [*formations, *structures] if url})
    results = check_all(urls, concurrency=concurrency, timeout=timeout, delay=delay)
    results[""] = ""  # no web site: nothing wrong to report
    now = timezone.now()
    report = LinkCheckReport(urls=len(urls), errors=sum(1 for url in urls if results[url]), results=results)
    formation_errors, structure_errors = defaultdict(list), defaultdict(list)
    for url, pks in formations.items():
        formation_errors[results[url][:MAX_ERROR]].extend(pks)
    for url, pks in structures.items():
        structure_errors[results[url][:MAX_ERROR]].extend(pks)
    with transaction.atomic():  # one update per distinct message, by batches
        for error, pks in formation_errors.items():
            for start in range(0, len(pks), 1000):
                Formation.objects.filter(pk__in=pks[start : start + 1000]).update(link_error=error, link_checked_at=now)
            report.formations_checked += len(pks)
            report.formations_in_error += len(pks) if error else 0
        for error, pks in structure_errors.items():
            for start in range(0, len(pks), 1000):
                Structure.objects.filter(pk__in=pks[start : start + 1000]).update(link_error=error)
            report.structures_checked += len(pks)
            report.structures_in_error += len(pks) if error else 0
        # Archived or unpublished formations are not checked: no stale error on them.
        Formation.objects.filter(archived_at__isnull=False).exclude(link_error="").update(link_error="")
    return report

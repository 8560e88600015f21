"""K1 / I2: the link checker connects to the address it resolved and checked. A resolver
controlled by the test plays a DNS-rebinding domain: public on the first lookup, internal on
the next ones. The checker looks the name up once and never reaches the internal server."""

import ipaddress
import socket

import pytest

from ofeli.exports import linkcheck
from tests.exports.test_linkcheck import Handler
from tests.exports.test_linkcheck import server as server  # noqa: F401 - the local HTTP server fixture

PUBLIC = "93.184.215.14"  # a public address; the test never really connects to it


class Resolver:
    """getaddrinfo for the names of the test; IP literals resolve to themselves."""

    def __init__(self, answers):
        self.answers = answers  # name -> list of addresses, one per lookup (the last one repeats)
        self.lookups = []
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            self.lookups.append(host)
            answers = self.answers[host]
            address = answers[min(len(self.lookups) - 1, len(answers) - 1)]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]
        return self.real(host, port, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch):
    def install(answers):
        fake = Resolver(answers)
        monkeypatch.setattr(socket, "getaddrinfo", fake)
        return fake

    return install


def test_k1_a_rebinding_name_is_looked_up_once_and_never_reaches_the_internal_address(
    server, settings, resolver, monkeypatch
):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    fake = resolver({"rebind.example": [PUBLIC, "127.0.0.1"]})
    connected = []
    real_connect = socket.create_connection
    monkeypatch.setattr(
        socket,
        "create_connection",
        lambda address, *a, **k: connected.append(address[0]) or real_connect(("127.0.0.1", 9), 0.2),
    )
    error = linkcheck.check_url(f"http://rebind.example:{port}/ok", timeout=0.5)
    assert error  # the « public » address does not answer
    assert fake.lookups == ["rebind.example"]  # one lookup, checked, then used
    assert connected == [PUBLIC] * len(connected) and connected
    assert Handler.requests == []  # the internal server was never asked


def test_k1_a_name_that_also_points_inside_is_refused(server, settings, resolver):
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    resolver({"mixed.example": ["10.0.0.5"]})
    assert linkcheck.check_url("http://mixed.example/") == "Adresse refusée : elle ne pointe pas vers un site public."
    assert Handler.requests == []


def test_k1_the_connection_goes_to_the_checked_address_with_the_sites_host_name(server, resolver):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    fake = resolver({"site.example": ["127.0.0.1"]})
    assert linkcheck.check_url(f"http://site.example:{port}/redirection") == ""
    # the Host header names the site; the redirect to /ok was resolved again (its own hop)
    assert Handler.requests == [("HEAD", "site.example", "/redirection"), ("GET", "site.example", "/ok")]
    assert fake.lookups == ["site.example", "site.example"]


def test_k1_a_redirect_to_an_internal_address_is_refused(server, settings, resolver):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    resolver({"site.example": ["127.0.0.1"]})
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    # the first hop itself is internal here: refused before any request
    assert "Adresse refusée" in linkcheck.check_url(f"http://site.example:{port}/redirection")
    assert Handler.requests == []

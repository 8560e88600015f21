"""Smoke test of a running production server (S1), as CI runs it after booting gunicorn on
PostgreSQL from docs/deployment.md (.ci/prod-server). Usage:

    python deploy/smoke.py http://127.0.0.1:8001 aurelie.dougnac@example.org 'Demo-ofeli1!'

It plays the reverse proxy (sends X-Forwarded-Proto: https) and checks: the HTTPS redirect,
the security headers, a compressed static file with far-future cache headers, /sante/
answering 200, and an OF journey (login, then « Formations »). Exits non-zero on the first
failure, with the reason."""

import http.client
import json
import re
import sys
from urllib.parse import urlencode, urlsplit


class Browser:
    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies = {}

    def request(self, method, path, data=None, https=True, headers=None):
        sent = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent.update(
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": f"https://{self.host}:{self.port}",
                    "Referer": f"https://{self.host}:{self.port}{path}",
                }
            )
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)  # a login hashes (PBKDF2)
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        connection.close()
        return response


def expect(condition, message):
    if not condition:
        sys.exit(f"ÉCHEC : {message}")
    print(f"ok : {message}")


def main(base, email, password):
    browser = Browser(base)
    plain = browser.request("GET", "/", https=False)
    expect(plain.status == 301 and plain.getheader("Location", "").startswith("https://"), "HTTP redirigé vers HTTPS")

    home = browser.request("GET", "/", headers={"X-Request-ID": "smoke-accueil"})
    expect(home.status == 200, f"page d'accueil publique (HTTP {home.status})")
    expect("max-age=31536000" in (home.getheader("Strict-Transport-Security") or ""), "HSTS")
    policy = home.getheader("Content-Security-Policy") or ""
    expect("frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, f"CSP sans unsafe-inline : {policy}")
    expect(home.getheader("Referrer-Policy") == "same-origin", "Referrer-Policy")
    expect(home.getheader("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options")
    expect(home.getheader("X-Request-ID") == "smoke-accueil", "identifiant de requête renvoyé")

    css = re.search(r'href="(/static/ofeli/app\.[0-9a-f]{12}\.css)"', home.text)
    expect(css is not None, "feuille de style au nom haché (manifeste)")
    static = browser.request("GET", css.group(1), headers={"Accept-Encoding": "gzip"})
    cache = static.getheader("Cache-Control") or ""
    expect(static.status == 200 and static.getheader("Content-Encoding") == "gzip", "fichier statique compressé")
    expect("max-age=315360000" in cache and "immutable" in cache, f"cache longue durée : {cache}")

    health = browser.request("GET", "/sante/", https=False)
    expect(health.status == 200, f"/sante/ : {health.status} {health.text}")
    expect(json.loads(health.text)["status"] == "ok", "santé : ok")

    login = browser.request("GET", "/ofeli/connexion/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    expect(login.status == 200 and token, "page de connexion")
    done = browser.request(
        "POST", "/ofeli/connexion/", {"csrfmiddlewaretoken": token.group(1), "username": email, "password": password}
    )
    expect(done.status == 302, f"connexion de {email} (HTTP {done.status})")
    page = browser.request("GET", "/ofeli/formations/")
    expect(
        page.status == 200 and "Formations" in page.text, f"écran « Formations » de l'organisme (HTTP {page.status})"
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])

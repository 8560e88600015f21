"""A small local HTTP server that speaks the api-adresse protocol (GET /search/?q=&limit=,
GET /reverse/?lat=&lon= for « Me géolocaliser »),
for the tests of ofeli.core.ban and of the address search screens (C4, F6)."""

import json
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def _norm(text):
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower().replace("'", " ").replace("-", " ")


def feature(label, housenumber, street, postcode, city, citycode, lon, lat, kind="housenumber", score=0.97):
    name = f"{housenumber} {street}".strip() if kind == "housenumber" else (street or city)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": label,
            "score": score,
            "housenumber": housenumber,
            "id": f"{citycode}_x_{housenumber}",
            "name": name,
            "postcode": postcode,
            "citycode": citycode,
            "x": 619000.0,
            "y": 6754000.0,
            "city": city,
            "context": "45, Loiret, Centre-Val de Loire",
            "type": kind,
            "importance": 0.6,
            "street": street,
        },
    }


ADDRESSES = [
    feature(
        "8 Rue Jeanne d'Arc 45000 Orléans", "8", "Rue Jeanne d'Arc", "45000", "Orléans", "45234", 1.904613, 47.902503
    ),
    feature(
        "10 Rue Saint-Étienne 45000 Orléans",
        "10",
        "Rue Saint-Étienne",
        "45000",
        "Orléans",
        "45234",
        1.909251,
        47.902964,
    ),
    feature(
        "56 Avenue du Danemark 37100 Tours", "56", "Avenue du Danemark", "37100", "Tours", "37261", 0.6944, 47.4199
    ),
    feature("10 Rue Grande 36000 Châteauroux", "10", "Rue Grande", "36000", "Châteauroux", "36044", 1.6905, 46.811),
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [1.9086, 47.9027]},
        "properties": {
            "label": "Orléans",
            "score": 0.5,
            "name": "Orléans",
            "postcode": "45000",
            "citycode": "45234",
            "city": "Orléans",
            "type": "municipality",
            "x": 619000.0,
            "y": 6754000.0,
        },
    },
]


class FakeBan:
    """``mode``: "ok" (default), "error" (HTTP 500), "garbage" (not JSON), "not_geojson"
    (JSON without features), "slow" (answers after ``delay`` seconds)."""

    def __init__(self):
        self.mode = "ok"
        self.delay = 2.0
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append((url.path, params))
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                if fake.mode == "error":
                    return self._send(500, b'{"code": 500, "message": "Internal error"}')
                if fake.mode == "garbage":
                    return self._send(200, b"<html>maintenance</html>", "text/html")
                if fake.mode == "not_geojson":
                    return self._send(200, b'{"type": "nothing"}')
                if url.path.rstrip("/") == "/reverse":
                    return self._reverse(params)
                if url.path.rstrip("/") != "/search":
                    return self._send(404, b'{"code": 404}')
                q = params.get("q", "")
                if len(q.strip()) < 3:
                    return self._send(400, b'{"code": 400, "message": "q must contain between 3 and 200 chars"}')
                limit = int(params.get("limit", 5))
                words = _norm(q).split()
                found = [f for f in ADDRESSES if all(w in _norm(f["properties"]["label"]) for w in words)]
                body = {
                    "type": "FeatureCollection",
                    "version": "draft",
                    "features": found[:limit],
                    "attribution": "BAN",
                    "licence": "ETALAB-2.0",
                    "query": q,
                    "limit": limit,
                }
                self._send(200, json.dumps(body).encode())

            def _reverse(self, params):
                """GET /reverse/?lat=&lon=: the nearest housenumber within about 10 km, as the BAN."""
                try:
                    lat, lon = float(params["lat"]), float(params["lon"])
                except (KeyError, ValueError):
                    return self._send(400, b'{"code": 400, "message": "lat and lon are required"}')
                houses = [f for f in ADDRESSES if f["properties"]["type"] == "housenumber"]

                def distance(f):
                    flon, flat = f["geometry"]["coordinates"]
                    return (flat - lat) ** 2 + (flon - lon) ** 2

                nearest = min(houses, key=distance)
                found = [nearest] if distance(nearest) < 0.01 else []
                body = {"type": "FeatureCollection", "features": found, "limit": 1}
                self._send(200, json.dumps(body).encode())

            def _send(self, status, body, content_type="application/json; charset=utf-8"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

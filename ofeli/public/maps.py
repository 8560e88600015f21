"""Markers of the public site's maps (P3): one marker per place, with the formations that
are taught there. The browser draws them with Leaflet (static/public/public-map.js, vendored
from npm); the tile server is the setting ``MAP_TILE_URL`` ("" = no background tiles)."""

from django.conf import settings
from django.urls import reverse


def config():
    return {"tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}


def result_markers(rows):
    """Markers of the sessions of a results page (remote sessions and places without
    coordinates have none)."""
    places = {}
    for row in rows:
        if row.latitude is None or row.longitude is None or getattr(row, "remote", False):
            continue
        key = (round(row.latitude, 5), round(row.longitude, 5))
        marker = places.setdefault(key, {"lat": key[0], "lon": key[1], "title": row.ville, "links": []})
        url = reverse("public:formation", args=[row.formation.reference, row.formation.slug])
        link = {"label": row.formation.intitule, "url": url}
        if link not in marker["links"]:
            marker["links"].append(link)
    return list(places.values())


def place_markers(session_versions):
    """Markers of a formation's places (its sessions not finished)."""
    places = {}
    for sv in session_versions:
        for place in sv.places.all():
            lieu = place.lieu
            if lieu.latitude is None or lieu.longitude is None:
                continue
            key = (round(float(lieu.latitude), 5), round(float(lieu.longitude), 5))
            marker = places.setdefault(
                key, {"lat": key[0], "lon": key[1], "title": f"{lieu.nom}, {lieu.full_address}", "links": []}
            )
            link = {"label": f"Session {sv.session.reference}", "url": f"#session-{sv.session.reference}"}
            if link not in marker["links"]:
                marker["links"].append(link)
    return list(places.values())

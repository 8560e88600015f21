"""Client of the national address base (Base Adresse Nationale, BAN), api-adresse protocol
(SPEC C4, F6).

    GET {settings.BAN_API_URL}/search/?q=8+rue+jeanne+d'arc+orleans&limit=5
    GET {settings.BAN_API_URL}/reverse/?lat=47.9025&lon=1.9046&limit=1   (« Me géolocaliser »)

answers a GeoJSON ``FeatureCollection``; each feature has ``properties`` (label,
housenumber, street, name, postcode, city, citycode, x, y, score, type) and a
``geometry`` whose ``coordinates`` are ``[longitude, latitude]``.

The service is a convenience, never a gate: when it cannot be reached, times out
(``settings.BAN_TIMEOUT`` seconds) or answers something unexpected, :class:`BanUnavailable`
is raised with a French message for the user, who then types the address by hand
(« Saisie manuelle »). Nothing of the record depends on it.

Public API::

    search(query, limit=5) -> list[BanAddress]          # « Rechercher une adresse »
    reverse(latitude, longitude) -> BanAddress | None   # « Me géolocaliser »: the nearest address
    locate(adresse, code_postal="", ville="") -> BanAddress | None   # « Localiser l'adresse »
    locate_into(data, prefix="") -> (data copy, level, message)    # the same, for a posted form
    BanAddress.as_fields() -> dict of the Address model fields (adresse, code_postal, ville,
                               code_insee, latitude, longitude)
"""

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

logger = logging.getLogger(__name__)

MIN_QUERY_LENGTH = 3  # the api-adresse refuses shorter queries
MAX_QUERY_LENGTH = 200  # ... and longer ones
MAX_LIMIT = 20
SIX_PLACES = Decimal("0.000001")

UNAVAILABLE_MESSAGE = (
    "Le service de recherche d'adresse (Base Adresse Nationale) ne répond pas pour le moment. "
    "Cochez « Saisie manuelle » et saisissez l'adresse : vous pourrez la localiser plus tard."
)
NOT_FOUND_MESSAGE = (
    "Adresse introuvable dans la Base Adresse Nationale : vérifiez-la. Si elle est juste, cochez « Saisie "
    "manuelle » ; elle est enregistrée sans géolocalisation."
)
BAD_ANSWER_MESSAGE = (
    "Le service de recherche d'adresse (Base Adresse Nationale) a renvoyé une réponse inattendue. "
    "Cochez « Saisie manuelle » et saisissez l'adresse : vous pourrez la localiser plus tard."
)


class BanUnavailable(Exception):
    """The BAN cannot be used right now; ``str(error)`` is the French message to show."""

    def __init__(self, message=UNAVAILABLE_MESSAGE):
        super().__init__(message)


@dataclass(frozen=True)
class BanAddress:
    label: str  # « 8 Rue Jeanne d'Arc 45000 Orléans »
    adresse: str  # « 8 Rue Jeanne d'Arc » (numéro et voie; empty for a town)
    code_postal: str
    ville: str
    code_insee: str
    latitude: Decimal | None
    longitude: Decimal | None
    x: float | None = None  # Lambert 93
    y: float | None = None
    score: float | None = None
    type: str = ""  # housenumber, street, locality, municipality

    def as_fields(self):
        """The values of the ``Address`` model fields (structures.models.Address)."""
        return {
            "adresse": self.adresse,
            "code_postal": self.code_postal,
            "ville": self.ville,
            "code_insee": self.code_insee,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


def _decimal(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return number.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def _float(value):
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _text(props, key):
    value = props.get(key)
    return str(value).strip() if value not in (None, "") else ""


def _parse_feature(feature):
    """One GeoJSON feature → BanAddress; raises ValueError/TypeError/KeyError on bad shape."""
    props = feature["properties"]
    if not isinstance(props, dict):
        raise TypeError("properties")
    coordinates = (feature.get("geometry") or {}).get("coordinates") or []
    longitude = latitude = None
    if isinstance(coordinates, list) and len(coordinates) >= 2:
        longitude, latitude = _decimal(coordinates[0]), _decimal(coordinates[1])
    kind = _text(props, "type")
    housenumber, street, name = _text(props, "housenumber"), _text(props, "street"), _text(props, "name")
    if kind == "municipality":
        adresse = ""
    elif housenumber and street:
        adresse = f"{housenumber} {street}"
    else:
        adresse = name or street
    city = _text(props, "city")
    postcode = _text(props, "postcode")
    label = _text(props, "label") or " ".join(p for p in (adresse, postcode, city) if p)
    return BanAddress(
        label=label,
        adresse=adresse[:250],
        code_postal=postcode[:5],
        ville=city[:100],
        code_insee=_text(props, "citycode")[:5],
        latitude=latitude,
        longitude=longitude,
        x=_float(props.get("x")),
        y=_float(props.get("y")),
        score=_float(props.get("score")),
        type=kind,
    )


def _get(params, endpoint="search"):
    base = settings.BAN_API_URL.rstrip("/")
    url = f"{base}/{endpoint}/?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "OFeli"})
    try:
        with urllib.request.urlopen(request, timeout=settings.BAN_TIMEOUT) as response:  # noqa: S310 (URL from settings)
            if response.status != 200:
                raise BanUnavailable()
            body = response.read(2_000_000)
    except BanUnavailable:
        raise
    except urllib.error.HTTPError as error:
        logger.warning("BAN: HTTP %s for %s", error.code, url)
        raise BanUnavailable() from error
    except (OSError, http.client.HTTPException, ValueError) as error:  # URLError, timeouts, resets
        logger.warning("BAN unreachable (%s): %s", url, error)
        raise BanUnavailable() from error
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        logger.warning("BAN: answer is not JSON for %s", url)
        raise BanUnavailable(BAD_ANSWER_MESSAGE) from error


def _features(data, limit):
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        logger.warning("BAN: answer is not a FeatureCollection")
        raise BanUnavailable(BAD_ANSWER_MESSAGE)
    results = []
    for feature in data["features"][:limit]:
        try:
            results.append(_parse_feature(feature))
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("BAN: feature skipped, unexpected shape: %r", feature)
    if data["features"] and not results:
        raise BanUnavailable(BAD_ANSWER_MESSAGE)
    return results


def coordinate(value, bound):
    """A latitude (bound 90) or longitude (bound 180) given by a browser, as a Decimal of 6
    places, or None when it is not a finite number within the bound."""
    number = _decimal(value if not isinstance(value, str) else value.strip().replace(",", "."))
    if number is None or abs(number) > bound:
        return None
    return number


def reverse(latitude, longitude):
    """« Me géolocaliser »: the address of the BAN nearest to a position (the browser's
    geolocation), or None when the BAN knows none there (at sea, abroad). Raises
    BanUnavailable when the service fails, ValueError for coordinates out of range."""
    lat, lon = coordinate(latitude, 90), coordinate(longitude, 180)
    if lat is None or lon is None:
        raise ValueError("coordinates")
    results = _features(_get({"lat": str(lat), "lon": str(lon), "limit": 1}, endpoint="reverse"), 1)
    return results[0] if results else None


def search(query, limit=5):
    """« Rechercher une adresse »: up to ``limit`` addresses matching ``query``, best first.
    A query too short to search returns []; raises BanUnavailable when the service fails."""
    query = " ".join((query or "").split())[:MAX_QUERY_LENGTH]
    if len(query) < MIN_QUERY_LENGTH or not any(ch.isalnum() for ch in query):
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    return _features(_get({"q": query, "limit": limit}), limit)


def locate(adresse, code_postal="", ville=""):
    """« Localiser l'adresse »: the first BAN result for a typed address, or None when the
    BAN does not know it. Raises BanUnavailable when the service fails."""
    query = " ".join(part for part in (adresse, code_postal, ville) if part)
    results = search(query, limit=1)
    return results[0] if results else None


def locate_into(data, prefix=""):
    """« Localiser l'adresse » without JavaScript, for a posted form whose address fields are
    named ``<prefix>adresse``, ``<prefix>code_postal``, ``<prefix>ville``: returns a mutable
    copy of ``data`` whose ``<prefix>code_insee``, ``<prefix>latitude``, ``<prefix>longitude``
    come from the first BAN result, the level of the message ("success" or "warning") and
    the French message to show. The typed address itself is kept; nothing raises."""
    data = data.copy()
    try:
        found = locate(
            data.get(f"{prefix}adresse", ""), data.get(f"{prefix}code_postal", ""), data.get(f"{prefix}ville", "")
        )
    except BanUnavailable as error:
        return data, "warning", str(error)
    if found is None or found.latitude is None:
        return data, "warning", NOT_FOUND_MESSAGE
    data[f"{prefix}code_insee"] = found.code_insee
    data[f"{prefix}latitude"] = str(found.latitude)
    data[f"{prefix}longitude"] = str(found.longitude)
    return (
        data,
        "success",
        f"Adresse localisée : {found.label} (latitude {found.latitude}, longitude {found.longitude}).",
    )

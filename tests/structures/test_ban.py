"""C4 / F6: the national address base client (api-adresse protocol) and the type-ahead
endpoint, against a local server that speaks the protocol, and when nothing answers."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ofeli.core import ban

pytestmark = pytest.mark.django_db


# --- the client ---------------------------------------------------------------------------


def test_c4_ban_search_returns_addresses_with_geolocation(fake_ban):
    (found,) = ban.search("8 rue jeanne d'arc orleans")
    assert found.label == "8 Rue Jeanne d'Arc 45000 Orléans"
    assert found.adresse == "8 Rue Jeanne d'Arc"
    assert (found.code_postal, found.ville, found.code_insee) == ("45000", "Orléans", "45234")
    assert found.latitude == Decimal("47.902503")  # coordinates are [lon, lat]
    assert found.longitude == Decimal("1.904613")
    assert found.type == "housenumber" and found.x and found.y
    assert found.as_fields()["adresse"] == "8 Rue Jeanne d'Arc"


def test_c4_ban_search_sends_q_and_limit_to_the_search_endpoint(fake_ban):
    results = ban.search("  orleans   45000 ", limit=2)
    assert len(results) == 2
    path, params = fake_ban.requests[-1]
    assert path == "/search/"
    assert params == {"q": "orleans 45000", "limit": "2"}


def test_c4_ban_municipality_result_has_no_street(fake_ban):
    results = ban.search("Orléans", limit=10)
    town = next(r for r in results if r.type == "municipality")
    assert town.adresse == "" and town.ville == "Orléans" and town.code_insee == "45234"


def test_c4_ban_short_query_is_not_sent(fake_ban):
    assert ban.search("8 ") == []
    assert ban.search("--- ") == []
    assert fake_ban.requests == []


def test_c4_ban_no_result_is_an_empty_list(fake_ban):
    assert ban.search("1 impasse inconnue 99999") == []


def test_c4_ban_unreachable_raises_with_a_french_message(settings):
    settings.BAN_API_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(ban.BanUnavailable) as error:
        ban.search("8 rue jeanne d'arc")
    assert "Saisie manuelle" in str(error.value)


def test_c4_ban_timeout_raises(fake_ban, settings):
    settings.BAN_TIMEOUT = 0.2
    fake_ban.mode = "slow"
    fake_ban.delay = 1.0
    with pytest.raises(ban.BanUnavailable):
        ban.search("8 rue jeanne d'arc")


@pytest.mark.parametrize("mode", ["error", "garbage", "not_geojson"])
def test_c4_ban_bad_answer_raises(fake_ban, mode):
    fake_ban.mode = mode
    with pytest.raises(ban.BanUnavailable):
        ban.search("8 rue jeanne d'arc")


def test_c4_ban_malformed_features_are_skipped_or_refused(fake_ban, monkeypatch):
    monkeypatch.setattr(ban, "_get", lambda params: {"type": "FeatureCollection", "features": [{"nope": 1}]})
    with pytest.raises(ban.BanUnavailable):
        ban.search("8 rue jeanne d'arc")
    good = {"properties": {"label": "X", "name": "1 Rue X", "postcode": "45000", "city": "Orléans"}, "geometry": {}}
    monkeypatch.setattr(ban, "_get", lambda params: {"type": "FeatureCollection", "features": [{"nope": 1}, good]})
    (found,) = ban.search("1 rue x orleans")
    assert found.adresse == "1 Rue X" and found.latitude is None


def test_c4_ban_locate_returns_the_first_result(fake_ban):
    found = ban.locate("10 Rue Saint-Étienne", "45000", "Orléans")
    assert found.code_insee == "45234" and found.latitude == Decimal("47.902964")
    assert fake_ban.requests[-1][1] == {"q": "10 Rue Saint-Étienne 45000 Orléans", "limit": "1"}
    assert ban.locate("1 impasse inconnue", "99999", "Nulle-part") is None


def test_f6_locate_into_fills_the_geolocation_of_a_prefixed_posted_form(fake_ban, settings):
    from django.http import QueryDict

    posted = QueryDict(mutable=False).copy()
    posted.update({"lieu-nom": "AFPA", "lieu-adresse": "56 Avenue du Danemark", "lieu-code_postal": "37100"})
    posted.update({"lieu-ville": "Tours", "lieu-latitude": ""})
    data, level, message = ban.locate_into(posted, "lieu-")
    assert level == "success" and "56 Avenue du Danemark 37100 Tours" in message
    assert (data["lieu-code_insee"], data["lieu-latitude"], data["lieu-longitude"]) == (
        "37261",
        "47.419900",
        "0.694400",
    )
    assert data["lieu-adresse"] == "56 Avenue du Danemark" and posted["lieu-latitude"] == ""
    posted["lieu-adresse"] = "1 impasse inconnue"
    assert ban.locate_into(posted, "lieu-")[1:] == ("warning", ban.NOT_FOUND_MESSAGE)
    settings.BAN_API_URL = "http://127.0.0.1:9"
    data, level, message = ban.locate_into(posted, "lieu-")
    assert level == "warning" and "ne répond pas" in message and data["lieu-latitude"] == ""


# --- the htmx endpoint /ofeli/adresses/ ------------------------------------------------------------


def test_c4_address_suggestions_partial_carries_fields_and_geolocation(of_client, fake_ban):
    response = of_client.get(reverse("address_suggestions"), {"q": "10 rue saint-etienne"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-address-choice" in html
    assert 'data-adresse="10 Rue Saint-Étienne"' in html
    assert 'data-code_postal="45000"' in html and 'data-code_insee="45234"' in html
    assert 'data-latitude="47.902964"' in html and 'data-longitude="1.909251"' in html  # never « 47,9 »


def test_c4_ban_unreachable_lets_user_type_address(of_client, settings):
    settings.BAN_API_URL = "http://127.0.0.1:9"
    response = of_client.get(reverse("address_suggestions"), {"q": "8 rue jeanne d'arc"})
    html = response.content.decode()
    assert response.status_code == 200  # htmx shows it
    assert "data-ban-unavailable" in html
    assert "ne répond pas" in html and "Saisie manuelle" in html


def test_c4_address_suggestions_no_result_and_short_query(of_client, fake_ban):
    html = of_client.get(reverse("address_suggestions"), {"q": "1 impasse inconnue"}).content.decode()
    assert "Aucune adresse trouvée" in html
    assert of_client.get(reverse("address_suggestions"), {"q": "8"}).content.decode().strip() == ""
    assert fake_ban.requests[-1][1]["q"] == "1 impasse inconnue"


def test_c4_locate_mode_answers_the_first_result(of_client, fake_ban):
    html = of_client.get(
        reverse("address_suggestions"), {"q": "56 avenue du danemark 37100 tours", "mode": "locate"}
    ).content.decode()
    assert "data-ban-located" in html and 'data-latitude="47.419900"' in html
    assert fake_ban.requests[-1][1]["limit"] == "1"
    html = of_client.get(reverse("address_suggestions"), {"q": "nulle part 99999", "mode": "locate"}).content.decode()
    assert "data-ban-not-found" in html


def test_c4_address_endpoint_requires_login(client, fake_ban):
    response = client.get(reverse("address_suggestions"), {"q": "8 rue jeanne"})
    assert response.status_code == 302 and "/connexion/" in response.url
    assert fake_ban.requests == []


def test_f6_address_partial_is_reusable_with_a_prefix_and_a_form_id():
    from django.template.loader import render_to_string

    html = render_to_string("core/address_search.html", {"prefix": "lieu-", "form_id": "session-form"})
    assert 'data-prefix="lieu-"' in html and 'data-form="session-form"' in html
    assert 'id="lieu-address-q"' in html and 'hx-target="#lieu-address-results"' in html
    html = render_to_string("core/address_locate.html", {"prefix": "lieu-", "form_id": "session-form"})
    assert 'form="session-form"' in html and 'value="locate_address"' in html and "Localiser l'adresse" in html


# --- « Me géolocaliser » (issue 10): the BAN reverse endpoint -----------------------------


def test_c4_f6_ban_reverse_returns_the_nearest_address(fake_ban):
    found = ban.reverse("47.90251", "1.90460")
    assert found.adresse == "8 Rue Jeanne d'Arc" and found.code_postal == "45000" and found.code_insee == "45234"
    assert found.latitude == Decimal("47.902503")
    path, params = fake_ban.requests[-1]
    assert path == "/reverse/" and params["lat"] == "47.902510" and params["lon"] == "1.904600"


def test_c4_f6_ban_reverse_nothing_near_and_bad_coordinates(fake_ban):
    assert ban.reverse(10.0, -30.0) is None  # at sea
    for lat, lon in (("", "1"), ("abc", "1"), ("91", "1"), ("45", "181"), ("nan", "1"), ("inf", "1")):
        with pytest.raises(ValueError):
            ban.reverse(lat, lon)
    assert not any(path == "/reverse/" and params.get("lat") == "91" for path, params in fake_ban.requests)


def test_c4_f6_ban_reverse_unavailable_raises_with_a_french_message(settings):
    settings.BAN_API_URL = "http://127.0.0.1:9"
    with pytest.raises(ban.BanUnavailable, match="ne répond pas"):
        ban.reverse(47.9, 1.9)


def test_c4_f6_address_endpoint_reverse_mode_proxies_the_ban(of_client, fake_ban, settings):
    url = reverse("address_suggestions")
    answer = of_client.get(url, {"mode": "reverse", "lat": "47.419", "lon": "0.6944"}).content.decode()
    assert "data-ban-reverse " in answer and 'data-adresse="56 Avenue du Danemark"' in answer
    assert 'data-code_postal="37100"' in answer and 'data-latitude="47.419900"' in answer
    assert (
        "data-ban-reverse-none" in of_client.get(url, {"mode": "reverse", "lat": "10", "lon": "-30"}).content.decode()
    )
    assert "n'a pas pu être lue" in of_client.get(url, {"mode": "reverse", "lat": "x", "lon": "1"}).content.decode()
    settings.BAN_API_URL = "http://127.0.0.1:9"
    down = of_client.get(url, {"mode": "reverse", "lat": "47.4", "lon": "0.69"}).content.decode()
    assert "data-ban-unavailable" in down


def test_c4_f6_address_endpoint_reverse_mode_requires_login(client, fake_ban):
    response = client.get(reverse("address_suggestions"), {"mode": "reverse", "lat": "47.4", "lon": "0.69"})
    assert response.status_code == 302 and not fake_ban.requests

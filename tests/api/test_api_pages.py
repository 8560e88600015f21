"""Partner API pages (issue 13, Performance, J1/J2): a fixed number of queries per list
endpoint whatever the number of rows, answers written from the stored JSON texts that are
exactly what the OpenAPI document describes and what the decoded documents say."""

import datetime
import gzip
import json
import time
from types import SimpleNamespace

import jsonschema
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ofeli.api.api import session_status
from ofeli.api.models import OfferEntry
from ofeli.api.offer import sync
from ofeli.exports.models import Partner
from ofeli.workflow import services
from tests.factories import CertificationFactory, StaffFactory, published_formation

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    partner = Partner(name="Portail régional", slug="portail-regional")
    token = partner.new_token()
    partner.save()
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def publish(count):
    """``count`` formations of two sessions, each by its own organisme with its own
    certification, and one more, archived (two deletions for /suppressions/)."""
    start = OfferEntry.objects.filter(kind="formation").count()
    formations = [
        published_formation(
            sessions=2,
            certification=CertificationFactory(code_certifinfo=f"9{start + i:04d}", code_rncp=f"3{start + i:04d}"),
            intitule=f"Comptabilité {i}",
        )
        for i in range(count + 1)
    ]
    sync()
    services.set_formation_archived(formations[-1], StaffFactory(), True)
    sync()
    return formations[:-1]


def queries(client, path, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/{path}", params)
    assert response.status_code == 200, response.content[:300]
    return len(captured), response.json()


# (path, filters, queries of a page): the partner and its access (one query), the usage
# row of the day counting the call and the rate limit (one), the page with its snapshot
# bound (one); + the commune of a place filter; + the organismes' formation references.
LISTS = [
    ("sessions/", {}, 3),
    ("sessions/", {"q": "comptabilite", "departement": "37", "commune": "Tours", "debut_min": "2026-01-01"}, 4),
    ("sessions/", {"modified_since": "2000-01-01T00:00:00Z"}, 3),
    ("formations/", {}, 3),
    ("formations/", {"q": "comptabilite", "departement": "37"}, 3),
    ("formations/", {"modified_since": "2000-01-01T00:00:00Z"}, 3),
    ("organismes/", {}, 4),
    ("certifications/", {}, 3),
    ("suppressions/", {}, 3),
    ("suppressions/", {"depuis": "2000-01-01T00:00:00Z"}, 3),
    ("tables/", {}, 2),
]


def count_all(client):
    """Queries of a whole page, of a first page of one row and of the page after it (by
    cursor) of every list endpoint; the number of rows of each whole page."""
    counts = {}
    for path, params, _ in LISTS:
        whole, body = queries(client, path, limit=500, **params)
        rows = len(body["resultats"]) if isinstance(body, dict) else len(body)
        first, body = queries(client, path, limit=1, **params)
        second = None
        if isinstance(body, dict) and body["suivant"]:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(body["suivant"]).status_code == 200
            second = len(captured)
        counts[(path, json.dumps(params))] = (whole, first, second, rows)
    return counts


def test_j1_j2_every_list_endpoint_uses_a_fixed_number_of_queries_whatever_the_rows(api):
    """J1/J2 (issue 13, Performance): the queries of a page of sessions, formations,
    organismes, certifications, deletions and tables do not grow with the rows, with
    filters, with modified_since and on a page reached by cursor."""
    publish(2)
    api.get("/api/v1/tables/")  # the partner's usage row of the day exists
    small = count_all(api)
    publish(5)
    big = count_all(api)
    for path, params, expected in LISTS:
        key = (path, json.dumps(params))
        whole, first, second, rows = small[key]
        assert (whole, first) == (expected, expected), key
        assert second == (None if path == "tables/" else expected), key  # every other list had a next page
        assert big[key][:3] == small[key][:3], key
        if path != "tables/":
            assert big[key][3] > rows, key  # more rows, same queries
    assert small[("sessions/", "{}")][3] == 4 and big[("sessions/", "{}")][3] == 14


def _json_schema(document, name):
    """The OpenAPI component ``name`` as a strict JSON Schema: every object of the contract
    has exactly its documented properties (no undocumented key may be answered)."""

    def strict(node):
        if isinstance(node, dict):
            node = {key: strict(value) for key, value in node.items()}
            if "$ref" in node:
                node["$ref"] = node["$ref"].replace("#/components/schemas/", "#/$defs/")
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
            return node
        if isinstance(node, list):
            return [strict(value) for value in node]
        return node

    defs = strict(document["components"]["schemas"])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs, "$ref": f"#/$defs/{name}"}


def _assert_matches(document, name, body):
    validator = jsonschema.Draft202012Validator(
        _json_schema(document, name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_j2_answers_written_from_stored_texts_match_the_openapi_document_exactly(api):
    """J2: lists and details, written from the stored JSON texts, have exactly the keys and
    types of the OpenAPI document (validated strictly, formats included)."""
    formation = publish(2)[0]
    document = api.get("/api/v1/openapi.json").json()
    session = formation.sessions.order_by("pk").first().reference
    organisme = formation.structure.reference
    certification = formation.live_version.certification.code_certifinfo
    for path, name in [
        ("sessions/", "SessionPage"),
        ("sessions/?modified_since=2000-01-01T00:00:00Z&limit=1", "SessionPage"),
        (f"sessions/{session}/", "Session"),
        ("formations/", "FormationPage"),
        (f"formations/{formation.reference}/", "Formation"),
        ("organismes/", "OrganismePage"),
        (f"organismes/{organisme}/", "Organisme"),
        ("certifications/", "CertificationPage"),
        (f"certifications/{certification}/", "Certification"),
        ("suppressions/", "DeletionPage"),
        ("tables/dict-financeurs/", "Table"),
    ]:
        response = api.get(f"/api/v1/{path}")
        assert response.status_code == 200, path
        assert response["Content-Type"] == "application/json"
        body = response.json()
        _assert_matches(document, name, body)
        if name.endswith("Page"):
            assert body["resultats"], path
    operation = document["paths"]["/api/v1/sessions/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SessionPage")


def test_j1_stored_texts_say_what_the_decoded_documents_say(api):
    """J1: an entry served from its stored text is its document plus the status of the day,
    modifie_le and the links; the JSON is the one JsonResponse would write, gzip included."""
    publish(2)
    response = api.get("/api/v1/sessions/")
    for row in response.json()["resultats"]:
        entry = OfferEntry.objects.get(kind="session", reference=row["numero_carif"])
        extra = {key: row.pop(key) for key in ("statut", "modifie_le", "liens")}
        assert row == entry.data
        assert extra["statut"] == session_status(entry.data)
        assert datetime.datetime.fromisoformat(extra["modifie_le"]) == entry.modified_at
        assert extra["liens"] == {
            "self": f"/api/v1/sessions/{entry.reference}/",
            "formation": f"/api/v1/formations/{entry.formation_reference}/",
            "organisme": f"/api/v1/organismes/{entry.structure_reference}/",
        }
        assert api.get(extra["liens"]["self"]).json() == {**row, **extra}
    text = response.content.decode()
    assert text == json.dumps(json.loads(text), ensure_ascii=False)  # JsonResponse's own writing
    assert "é" in text  # French text is written as is, not escaped
    zipped = api.get("/api/v1/sessions/", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content))["resultats"] == json.loads(text)["resultats"]
    # gzip makes the ETag weak (W/"..."): a client sending it back still gets its 304
    assert zipped["ETag"].removeprefix("W/") == response["ETag"]
    for tag in (response["ETag"], zipped["ETag"], f'"other", {zipped["ETag"]}'):
        again = api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=tag, HTTP_ACCEPT_ENCODING="gzip")
        assert again.status_code == 304 and not again.content
    assert api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_j1_status_of_the_day_from_the_stored_columns_equals_the_document_status(api):
    """J1: the status served (computed from the entry's columns, not its decoded document)
    is the status of the document, for each status of the public site's wording."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    cases = {
        "terminee": {"date_debut": today - 60 * day, "date_fin": today - 5 * day},
        "entree_permanente": {"entree_sortie_permanente": True},
        "en_cours": {"date_debut": today - 5 * day},
        "inscriptions_closes": {"debut_inscription": today - 20 * day, "fin_inscription": today - day},
        "a_venir": {"debut_inscription": today + 5 * day, "fin_inscription": today + 20 * day},
        "inscriptions_ouvertes": {"debut_inscription": today - 5 * day, "fin_inscription": today + 5 * day},
    }
    formations = {}
    for status, fields in cases.items():
        formation = published_formation(intitule=f"Statut {status}")
        base = {
            "date_debut": today + 30 * day,
            "date_fin": today + 200 * day,
            "debut_inscription": None,
            "fin_inscription": None,
            "entree_sortie_permanente": False,
        }
        formation.live_version.sessions.update(**{**base, **fields})
        formations[status] = formation
    sync()
    served = {row["numero_carif"]: row["statut"] for row in api.get("/api/v1/sessions/").json()["resultats"]}
    for status, formation in formations.items():
        reference = formation.sessions.get().reference
        entry = OfferEntry.objects.get(kind="session", reference=reference)
        assert served[reference] == status == session_status(entry.data)
        assert api.get(f"/api/v1/sessions/{reference}/").json()["statut"] == status


def test_j3_rate_limit_window_lives_in_the_usage_row(api, settings, monkeypatch):
    """J3 (issue 13, Performance): the one-minute window is kept in the usage row of the
    day (one UPDATE per call): over the limit a 429 counted as refused, not as a call; the
    next minute starts a new window."""
    from ofeli.api import access
    from ofeli.api.models import ApiUsage

    settings.API_RATE_LIMIT = 2
    start = (int(time.time()) // 60) * 60 + 5.0
    monkeypatch.setattr(access, "time", SimpleNamespace(time=lambda: start))
    statuses = [api.get("/api/v1/tables/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    usage = ApiUsage.objects.get()
    assert (usage.calls, usage.refused, usage.minute_calls) == (2, 1, 3)
    refused = api.get("/api/v1/tables/")
    assert refused.status_code == 429 and refused["Retry-After"] == "56"
    monkeypatch.setattr(access, "time", SimpleNamespace(time=lambda: start + 60))
    assert api.get("/api/v1/tables/").status_code == 200
    usage.refresh_from_db()
    assert (usage.calls, usage.refused, usage.minute_calls, usage.minute) == (3, 2, 1, int(start // 60) + 1)

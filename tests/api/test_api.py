"""Partner API (J1-J4): resources, contract, access, consistency with the LHEO flows."""

import datetime
import gzip
import io
import json

import pytest
from django.core.cache import cache
from django.test import Client
from lxml import etree

from ofeli.api.models import ApiAccess, ApiUsage, OfferEntry
from ofeli.api.offer import sync
from ofeli.exports.lheo import write_offer
from ofeli.exports.models import Partner
from ofeli.formations import models as fm
from ofeli.public.models import Commune
from ofeli.workflow import services
from tests.factories import (
    CertificationFactory,
    FinanceurFactory,
    StaffFactory,
    StructureFactory,
    StructureStateFactory,
    SuperviseurFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_partner(name="France Travail", **access):
    partner = Partner(name=name, slug=name.lower().replace(" ", "-"))
    token = partner.new_token()
    partner.save()
    if access:
        ApiAccess.objects.create(partner=partner, **access)
    return partner, token


@pytest.fixture
def partner():
    return make_partner()


@pytest.fixture
def api(partner):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {partner[1]}")
    return client


def get(client, path, **params):
    return client.get(f"/api/v1/{path}", params)


def refs(response):
    return [row.get("numero_carif") or row.get("numero") for row in response.json()["resultats"]]


def mirror_all(client, path, **params):
    """Every result of a listing, following the cursor."""
    rows, url = [], f"/api/v1/{path}"
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["resultats"]
        if not body["suivant"]:
            return rows, body["horodatage"]
        response = client.get(body["suivant"])


# --- J1 resources ----------------------------------------------------------------------------


def test_j1_session_carries_carif_number_dates_places_financing_certification_and_links(api):
    cert = CertificationFactory(code_rncp="38234", code_rs="")
    formation = published_formation(certification=cert, sessions=2)
    sync()
    response = get(api, "sessions/")
    assert response.status_code == 200
    body = response.json()
    assert len(body["resultats"]) == 2
    first = body["resultats"][0]
    session = formation.sessions.order_by("pk").first()
    assert first["numero_carif"] == session.reference
    assert first["formation"] == formation.reference
    assert first["date_debut"] == "2026-09-01" and first["date_fin"] == "2027-06-30"
    assert first["lieux"][0]["code_insee"] == "37261"
    assert first["lieux"][0]["latitude"] == pytest.approx(47.4199)
    assert first["financements"][0]["financeur"].isdigit()  # the LHEO dict-financeurs code
    assert first["certification"]["code_rncp"] == "RNCP38234"
    assert first["statut"] in {"en_cours", "a_venir", "inscriptions_ouvertes", "inscriptions_closes"}
    # links between resources resolve
    assert get(api, "sessions/" + session.reference + "/").json()["numero_carif"] == session.reference
    assert api.get(first["liens"]["formation"]).json()["sessions"] == sorted(
        s.reference for s in formation.sessions.all()
    )
    organisme = api.get(first["liens"]["organisme"]).json()
    assert organisme["reference"] == formation.structure.reference
    assert organisme["formations"] == [formation.reference]
    assert get(api, "certifications/").json()["resultats"][0]["code_certifinfo"] == cert.code_certifinfo
    table = get(api, "tables/dict-financeurs/").json()
    assert {"code", "libelle"} <= set(table["entrees"][0])


def test_j1_only_web_contacts_are_published(api):
    from tests.exports.builders import publish
    from tests.factories import ContactFactory

    draft = draft_formation()
    sv = draft.formation_version.sessions.first()
    hidden = ContactFactory(structure=draft.structure, diffusion_web=False)
    shown = ContactFactory(structure=draft.structure, diffusion_web=True)
    fm.SessionContact.objects.create(session_version=sv, contact=hidden, type_contact="3")
    fm.SessionContact.objects.create(session_version=sv, contact=shown, type_contact="3")
    publish(draft)
    sync()
    contacts = get(api, f"sessions/{sv.session.reference}/").json()["contacts"]
    assert [c["reference"] for c in contacts] == [shown.reference]


def test_j1_filters_mirror_the_public_search(api):
    assert Commune.objects.filter(code_insee="37261").exists()  # the bundled communes
    cert = CertificationFactory(code_rncp="35000", code_rs="", niveau_sortie="14")
    compta = published_formation(intitule="Comptabilité des petites entreprises", certification=cert)
    other = published_formation(intitule="Soudure à l'arc")
    sync()
    assert refs(get(api, "formations/", q="comptabilite")) == [compta.reference]
    assert set(refs(get(api, "formations/", commune="Tours", rayon=10))) == {compta.reference, other.reference}
    assert refs(get(api, "formations/", departement="36")) == []
    assert len(refs(get(api, "sessions/", departement="37"))) == 2
    assert refs(get(api, "formations/", certification="RNCP35000")) == [compta.reference]
    assert refs(get(api, "formations/", niveau="14")) == [compta.reference]
    assert refs(get(api, "sessions/", debut_min="2027-01-01")) == []
    code = compta.live_version.sessions.first().financements.first().financeur.lheo_code
    assert compta.reference in refs(get(api, "formations/", financeur=code))
    assert refs(get(api, "formations/", modalite="2")) == []


# --- J2 contract -------------------------------------------------------------------------------


def test_j2_openapi_document_is_valid_and_docs_page_is_local(client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/sessions/" in document["paths"]
    assert "bearer" in json.dumps(document["components"]["securitySchemes"]).lower()
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html  # vendored Swagger UI


@pytest.mark.parametrize(
    "params",
    [
        {"rayon": "-5", "commune": "Tours"},
        {"debut_min": "2026-13-45"},
        {"limit": "99999999999999999999999"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJpZCI6ICJ4In0"},
        {"modified_since": "hier"},
        {"departement": "Indre\x00"},
        {"certification": "boucher"},
        {"q": "x" * 5000},
        {"commune": "Atlantide"},
    ],
)
def test_j2_bad_parameters_get_a_french_problem_json_never_a_500(api, params):
    response = get(api, "sessions/", **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400 and body["title"] and body["detail"]
    assert any(word in body["detail"] for word in ("Vérifiez", "attend", "curseur", "Commune", "commune"))


def test_j2_unknown_and_withdrawn_objects_are_404_and_410(api):
    formation = published_formation()
    sync()
    session = formation.sessions.first()
    assert get(api, "sessions/999999S/").status_code == 404
    services.set_session_archived(session, StaffFactory(), True)
    sync([formation.pk])
    response = get(api, f"sessions/{session.reference}/")
    assert response.status_code == 410
    assert "retirée de l'offre" in response.json()["detail"]


def test_j2_etag_if_none_match_and_gzip(api):
    published_formation(sessions=3)
    sync()
    first = get(api, "sessions/")
    tag = first["ETag"]
    assert tag
    again = api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    detail = get(api, f"sessions/{first.json()['resultats'][0]['numero_carif']}/")
    assert api.get(detail.wsgi_request.path, HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304
    zipped = api.get("/api/v1/sessions/", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content))["resultats"]


def test_j2_cursor_pagination_is_stable_under_concurrent_publication(api):
    """A partner pages through the offer while the Carif publishes: no session skipped,
    none repeated; what changed meanwhile comes with the next modified_since."""
    formations = [published_formation(intitule=f"Formation numéro {i}") for i in range(5)]
    sync()
    before = {f.sessions.first().reference for f in formations}
    seen = []
    page = get(api, "sessions/", limit=2)
    seen += refs(page)
    # meanwhile: one formation changes (a session's dates), a new one is published
    changed = formations[0]
    change = services.start_formation_change(changed, changed.structure.memberships.first().user)
    change.formation_version.sessions.update(date_fin=datetime.date(2027, 7, 15))
    services.submit(change, change.created_by)
    services.accept(change, StaffFactory())
    newcomer = published_formation(intitule="Formation publiée pendant la lecture")
    sync()
    horodatage = page.json()["horodatage"]
    while page.json()["suivant"]:
        page = api.get(page.json()["suivant"])
        seen += refs(page)
    assert sorted(seen) == sorted(before)  # each exactly once
    update = get(api, "sessions/", modified_since=horodatage)
    assert set(refs(update)) == {changed.sessions.first().reference, newcomer.sessions.first().reference}


def test_j1_modified_since_and_deletions_mirror_the_offer_exactly(api, django_capture_on_commit_callbacks):
    """A consumer mirrors the offer with modified_since + /suppressions/ through accept,
    archive, refuse and a structure that stops being diffused: its copy equals the offer."""
    mirror = {}
    last = None

    def synchronise():
        nonlocal last
        params = {"modified_since": last} if last else {}
        rows, stamp = mirror_all(api, "sessions/", **params)
        for row in rows:
            mirror[row["numero_carif"]] = row
        deletions, _ = mirror_all(api, "suppressions/", **({"depuis": last} if last else {}))
        for row in deletions:
            if row["type"] == "session":
                mirror.pop(row["numero"], None)
        last = stamp

    def offer():
        from ofeli.exports.lheo import offer_sessions

        return {sv.session.reference: sv for sv in offer_sessions().select_related("session")}

    with django_capture_on_commit_callbacks(execute=True):
        a = published_formation(sessions=2)
        b = published_formation()
    synchronise()
    assert set(mirror) == set(offer())

    with django_capture_on_commit_callbacks(execute=True):
        services.set_formation_archived(b, StaffFactory(), True)  # archive
        change = services.start_formation_change(a, a.structure.memberships.first().user)
        services.remove_session(change, change.formation_version.sessions.order_by("pk").last())
        services.submit(change, change.created_by)
        services.accept(change, StaffFactory())  # accept: one session withdrawn
        refused = draft_formation()
        services.submit(refused, refused.created_by)
        services.refuse(refused, StaffFactory(), "Incomplet")  # refuse: never published
        c = published_formation()
    synchronise()
    assert set(mirror) == set(offer())
    assert c.sessions.first().reference in mirror

    with django_capture_on_commit_callbacks(execute=True):
        c.structure.etat = StructureStateFactory(code="NDI", libelle="Non diffusé", is_diffused=False)
        c.structure.save()
    synchronise()
    assert set(mirror) == set(offer())
    assert c.sessions.first().reference not in mirror
    for ref, sv in offer().items():
        assert mirror[ref]["date_fin"] == sv.date_fin.isoformat()


# --- J3 access -------------------------------------------------------------------------------


def test_j3_no_token_or_token_in_url_is_refused_with_401(client, partner):
    _, token = partner
    for response in (
        client.get("/api/v1/sessions/"),
        client.get("/api/v1/sessions/", {"token": token}),  # never in the URL: it ends in access logs
        client.get("/api/v1/sessions/", HTTP_AUTHORIZATION="Bearer abc.def"),
        client.get("/api/v1/sessions/", HTTP_AUTHORIZATION=f"Bearer {token}x"),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "Jeton partenaire" in response.json()["detail"]


def test_j3_tokens_are_stored_hashed(partner):
    stored, token = partner
    stored.refresh_from_db()
    secret = token.split(".", 1)[1]
    assert secret not in stored.token_hash and len(stored.token_hash) == 64


def test_j3_a_partner_limited_to_some_resources(client):
    _, token = make_partner("Portail régional", resources=["formations"])
    restricted = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert restricted.get("/api/v1/formations/").status_code == 200
    response = restricted.get("/api/v1/sessions/")
    assert response.status_code == 403
    assert "sessions" in response.json()["detail"]


def test_j3_public_resources_are_a_setting(client, settings):
    assert client.get("/api/v1/tables/").status_code == 401
    settings.API_PUBLIC_RESOURCES = ["tables"]
    assert client.get("/api/v1/tables/").status_code == 200
    assert client.get("/api/v1/sessions/").status_code == 401


def test_j3_rate_limit_answers_429_with_retry_after(api, settings):
    settings.API_RATE_LIMIT = 3
    statuses = [get(api, "tables/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = get(api, "tables/")
    assert 1 <= int(response["Retry-After"]) <= 61
    assert "par minute" in response.json()["detail"]


def test_j3_calls_are_counted_per_partner_per_day_and_shown_to_the_superviseur(api, partner, client):
    for _ in range(3):
        get(api, "tables/")
    usage = ApiUsage.objects.get(partner=partner[0])
    assert usage.calls == 3
    client.force_login(SuperviseurFactory())
    page = client.get("/ofeli/carif/api/")
    assert page.status_code == 200
    assert partner[0].name in page.content.decode() and ">3<" in page.content.decode().replace(" ", "")
    client.force_login(StaffFactory())
    assert client.get("/ofeli/carif/api/").status_code == 403


# --- J4 consistency with the flows -------------------------------------------------------------


def _lheo_sessions():
    out = io.BytesIO()
    write_offer(out, "2.3")
    root = etree.fromstring(out.getvalue())
    ns = {"l": root.nsmap[None]}
    sessions = {}
    for action in root.iterfind(".//l:action", ns):
        financeurs = {el.text for el in action.iterfind(".//l:code-financeur", ns)}
        for session in action.iterfind("l:session", ns):
            sessions[session.get("numero")] = {
                "debut": session.findtext("l:periode/l:debut", namespaces=ns),
                "fin": session.findtext("l:periode/l:fin", namespaces=ns),
                "financeurs": financeurs,
            }
    return sessions


def test_j4_api_and_lheo_export_carry_the_same_sessions_dates_and_financing(api):
    published_formation(sessions=2)
    published_formation(structure=StructureFactory(), sessions=1)
    hidden = published_formation()
    hidden.structure.etat = StructureStateFactory(code="NDI", libelle="Non diffusé", is_diffused=False)
    hidden.structure.save()
    draft_formation()  # never published
    archived = published_formation()
    services.set_formation_archived(archived, StaffFactory(), True)
    sync()
    lheo_sessions = _lheo_sessions()
    rows, _ = mirror_all(api, "sessions/")
    api_sessions = {
        row["numero_carif"]: {
            "debut": row["date_debut"].replace("-", ""),
            "fin": row["date_fin"].replace("-", ""),
            "financeurs": {f["financeur"] for f in row["financements"]},
        }
        for row in rows
    }
    assert api_sessions == lheo_sessions
    assert len(api_sessions) == 3
    formations = {row["numero"] for row in mirror_all(api, "formations/")[0]}
    assert hidden.reference not in formations and archived.reference not in formations


def test_j1_list_pages_use_a_fixed_number_of_queries(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(**params):
        with CaptureQueriesContext(connection) as queries:
            assert get(api, "sessions/", **params).status_code == 200
        return len(queries)

    for _ in range(3):
        published_formation(sessions=2)
    sync()
    get(api, "tables/")  # the partner's usage row of the day exists
    small = count()
    for _ in range(6):
        published_formation(sessions=2)
    sync()
    assert count() == small <= 6
    assert count(q="comptabilite", departement="37", financeur="2") == small


def test_j1_sync_only_moves_modified_at_when_the_document_changes(api):
    formation = published_formation()
    sync()
    entry = OfferEntry.objects.get(reference=formation.sessions.first().reference)
    stamp = entry.modified_at
    sync()
    entry.refresh_from_db()
    assert entry.modified_at == stamp
    financeur = FinanceurFactory()
    assert financeur  # unrelated referential rows change nothing
    lieu = formation.structure.lieux.first()
    lieu.ville = "Tours Nord"
    lieu.save()
    sync([formation.pk])
    entry.refresh_from_db()
    assert entry.modified_at > stamp and entry.data["lieux"][0]["ville"] == "Tours Nord"

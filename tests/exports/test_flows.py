"""Nightly partner flows (SPEC H2): full and delta flows with their manifest, validity,
new / modified / withdrawn sessions, a failed run leaving the previous flow in place, and
partner downloads with a per-partner token."""

import datetime
import gzip
import hashlib
import io
import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from ofeli.exports import flows, lheo
from ofeli.exports.flows import publish_flow
from ofeli.exports.models import FlowRun, FlowStatus, Partner
from ofeli.exports.validation import safe_parser, validate_lheo
from ofeli.workflow import services
from tests.exports.builders import full_published_formation
from tests.factories import MembershipFactory, StaffFactory, published_formation

pytestmark = pytest.mark.django_db
VERSIONS = ["2.2", "2.3"]


@pytest.fixture(autouse=True)
def _flows_dir(settings, tmp_path):
    settings.LHEO_FLOWS_DIR = tmp_path / "flows"


def later(minutes):
    return timezone.now() + datetime.timedelta(minutes=minutes)


def sessions_in(path, version):
    root = etree.parse(str(path), safe_parser()).getroot()
    return {el.get("numero") for el in root.iter(f"{{{lheo.NAMESPACES[version]}}}session")}


def withdrawn_in(path, version):
    root = etree.parse(str(path), safe_parser()).getroot()
    ns = lheo.NAMESPACES[version]
    return [el.get("numero") for el in root.iter(f"{{{ns}}}extra") if el.get("info") == "session"]


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_first_flow_full_and_delta_are_valid_with_a_manifest(version):
    published_formation(sessions=2)
    full_published_formation()
    run = publish_flow(version)
    assert run.status == FlowStatus.DONE, run.error
    files = flows.flow_files(run)
    assert validate_lheo(str(files["full"]), version) == []
    assert validate_lheo(str(files["delta"]), version) == []
    assert (run.formations, run.sessions, run.new_sessions, run.modified_sessions, run.withdrawn_sessions) == (
        2,
        4,
        4,
        0,
        0,
    )
    manifest = json.loads(files["manifest"].read_text())
    assert manifest["version"] == version and manifest["date"]
    assert manifest["complet"]["sha256"] == hashlib.sha256(files["full"].read_bytes()).hexdigest()
    assert manifest["complet"]["taille"] == files["full"].stat().st_size
    assert manifest["complet"]["formations"] == 2 and manifest["complet"]["sessions"] == 4
    assert manifest["modifications"]["nouvelles"] == 4 and manifest["modifications"]["retirees"] == 0
    assert manifest["modifications"]["sha256"] == hashlib.sha256(files["delta"].read_bytes()).hexdigest()
    with gzip.open(files["sessions"], "rt") as stream:
        assert len(json.load(stream)) == 4
    assert sorted(p.name for p in files["full"].parent.iterdir() if not p.name.startswith(".")) == sorted(
        path.name for path in files.values()
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_delta_flow_after_create_modify_archive(version):
    staff = StaffFactory()
    kept = published_formation(intitule="Inchangée")
    modified = published_formation(intitule="Modifiée", sessions=2)
    archived = published_formation(intitule="Session archivée", sessions=2)
    first = publish_flow(version)
    assert first.status == FlowStatus.DONE

    created = published_formation(intitule="Nouvelle")
    change = services.start_formation_change(modified, modified.change_requests.first().created_by)
    change.formation_version.intitule = "Modifiée et republiée"
    change.formation_version.save()
    services.submit(change, change.created_by)
    services.accept(change, staff)
    withdrawn = archived.live_version.sessions.order_by("date_debut").last().session
    services.set_session_archived(withdrawn, staff, True)
    republished = published_formation(intitule="Republiée sans changement")
    second = publish_flow(version, now=later(10))
    assert second.status == FlowStatus.DONE, second.error
    assert second.previous == first
    new_refs = {s.session.reference for s in created.live_version.sessions.all()}
    new_refs |= {s.session.reference for s in republished.live_version.sessions.all()}
    modified.refresh_from_db()
    modified_refs = {s.session.reference for s in modified.live_version.sessions.all()}
    assert (second.new_sessions, second.modified_sessions, second.withdrawn_sessions) == (2, 2, 1)
    files = flows.flow_files(second)
    assert validate_lheo(str(files["delta"]), version) == []
    # H2b: the formation that lost a session is sent again with the session it keeps.
    kept_refs = {s.session.reference for s in archived.live_version.sessions.all()} - {withdrawn.reference}
    assert sessions_in(files["delta"], version) == new_refs | modified_refs | kept_refs
    assert withdrawn_in(files["delta"], version) == [withdrawn.reference]
    assert kept.reference.encode() not in files["delta"].read_bytes()
    manifest = json.loads(files["manifest"].read_text())
    assert manifest["modifications"]["sessions_retirees"] == [withdrawn.reference]
    assert set(manifest["modifications"]["sessions_modifiees"]) == modified_refs
    assert manifest["flux_precedent"] == first.started_at.isoformat(timespec="seconds")
    # The full flow still has everything published, and not the withdrawn session.
    assert withdrawn.reference not in sessions_in(files["full"], version)
    assert second.sessions == first.sessions + 2 - 1


def test_h2_republication_without_change_is_not_a_modification():
    formation = published_formation()
    publish_flow("2.3")
    formation.published_at = later(5)  # accepted again, same content
    formation.save()
    run = publish_flow("2.3", now=later(10))
    assert run.status == FlowStatus.DONE
    assert (run.new_sessions, run.modified_sessions, run.withdrawn_sessions) == (0, 0, 0)
    assert run.delta_file == ""  # no LHEO document can be empty
    manifest = json.loads(flows.flow_files(run)["manifest"].read_text())
    assert manifest["modifications"]["fichier"] is None


def test_h2_withdrawals_only_are_in_the_manifest():
    staff = StaffFactory()
    formation = published_formation(sessions=2)
    publish_flow("2.3")
    withdrawn = formation.live_version.sessions.order_by("date_debut").last().session
    services.set_session_archived(withdrawn, staff, True)
    run = publish_flow("2.3", now=later(10))
    # The formation changed (one session fewer): its other session is sent again.
    assert run.withdrawn_sessions == 1
    manifest = json.loads(flows.flow_files(run)["manifest"].read_text())
    assert manifest["modifications"]["sessions_retirees"] == [withdrawn.reference]


def test_h2_a_failed_run_leaves_the_previous_flow_in_place(monkeypatch):
    published_formation()
    good = publish_flow("2.3")
    before = sorted(os.listdir(flows.flows_dir("2.3")))
    original = lheo.LheoWriter.formation

    def crash(self, formation):
        raise RuntimeError("base de données indisponible")

    monkeypatch.setattr(lheo.LheoWriter, "formation", crash)
    bad = publish_flow("2.3", now=later(10))
    assert bad.status == FlowStatus.FAILED and "indisponible" in bad.error
    assert FlowRun.latest("2.3") == good
    assert sorted(os.listdir(flows.flows_dir("2.3"))) == before  # no half-written file

    monkeypatch.setattr(lheo.LheoWriter, "formation", original)

    def invalid(path, version, **kwargs):
        return ["ligne 3 : élément inattendu"]

    monkeypatch.setattr(flows, "validate_lheo", invalid)
    bad = publish_flow("2.3", now=later(20))
    assert bad.status == FlowStatus.FAILED and "pas valide" in bad.error
    assert FlowRun.latest("2.3") == good
    assert sorted(os.listdir(flows.flows_dir("2.3"))) == before


def test_h2_empty_offer_publishes_nothing():
    run = publish_flow("2.3")
    assert run.status == FlowStatus.FAILED and "Aucune formation" in run.error
    assert FlowRun.latest("2.3") is None


def test_h2_only_the_last_runs_are_kept(settings):
    settings.LHEO_FLOWS_KEEP = 2
    published_formation()
    runs = [publish_flow("2.3", now=later(i)) for i in range(3)]
    assert not FlowRun.objects.filter(pk=runs[0].pk).exists()
    assert not flows.flow_files(runs[0])["full"].exists()
    assert flows.flow_files(runs[2])["full"].exists()


def test_h2_publish_command_runs_both_versions():
    formation = published_formation()
    out = io.StringIO()
    call_command("publish_lheo_flows", stdout=out)
    assert "LHEO 2.2 :" in out.getvalue() and "LHEO 2.3 :" in out.getvalue()
    assert FlowRun.latest("2.2") and FlowRun.latest("2.3")
    services.set_formation_archived(formation, StaffFactory(), True)
    with pytest.raises(CommandError):  # nothing left to publish: exit status 1
        call_command("publish_lheo_flows", "--lheo-version", "2.3", stdout=io.StringIO(), stderr=io.StringIO())


def test_h2_publish_task():
    published_formation()
    from ofeli.exports.tasks import publish_flows

    result = publish_flows.enqueue(["2.3"])
    assert FlowRun.objects.get(pk=result.return_value[0]).status == FlowStatus.DONE


# --- partner downloads -------------------------------------------------------------------


@pytest.fixture
def partner_token():
    partner = Partner(name="France Travail", slug="france-travail")
    token = partner.new_token()
    partner.save()
    return partner, token


def flow_url(version, kind):
    return reverse("exports:flow", args=[version, kind])


def test_h2_partner_downloads_the_flows_with_its_token(client, partner_token):
    partner, token = partner_token
    published_formation()
    run = publish_flow("2.3")
    response = client.get(flow_url("2.3", "complet"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert data == flows.flow_files(run)["full"].read_bytes()
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert "attachment" in response["Content-Disposition"]
    response = client.get(flow_url("2.3", "modifications"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    manifest = json.loads(
        b"".join(client.get(flow_url("2.3", "manifeste"), HTTP_AUTHORIZATION=f"Bearer {token}").streaming_content)
    )
    assert manifest["complet"]["sha256"] == run.full_sha256
    partner.refresh_from_db()
    assert partner.last_download_at is not None


def test_h2_partner_token_is_required_and_checked(client, partner_token):
    partner, token = partner_token
    published_formation()
    publish_flow("2.3")
    url = flow_url("2.3", "complet")
    assert client.get(url).status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Bearer nimportequoi").status_code == 401
    prefix, secret = token.split(".")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {prefix}.{secret[:-1]}x").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    # Only a hash is stored; a new token revokes the old one; a disabled partner is refused.
    assert token not in str(Partner.objects.values_list("token_hash", "token_prefix").get())
    new = partner.new_token()
    partner.save()
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 401
    # Logged-in staff are not partners either.
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 401


def test_h2_partner_download_without_flow_or_without_changes(client, partner_token):
    _partner, token = partner_token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(flow_url("2.3", "complet"), **auth).status_code == 404
    assert client.get(flow_url("2.1", "complet"), **auth).status_code == 404
    published_formation()
    publish_flow("2.3")
    publish_flow("2.3", now=later(10))  # nothing changed since
    assert client.get(flow_url("2.3", "modifications"), **auth).status_code == 204
    assert client.get(flow_url("2.3", "complet"), **auth).status_code == 200


def test_h2_staff_manage_partners_and_see_the_flows(client):
    published_formation()
    publish_flow("2.3")
    client.force_login(StaffFactory())
    url = reverse("exports:partners")
    response = client.post(url, {"action": "create", "name": "Région Centre-Val de Loire"})
    html = response.content.decode()
    partner = Partner.objects.get(slug="region-centre-val-de-loire")
    token = html.split('<code id="partner-token">')[1].split("</code>")[0]
    assert client.get(flow_url("2.3", "complet"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    html = client.post(url, {"action": "token", "partner": partner.pk}).content.decode()
    new = html.split('<code id="partner-token">')[1].split("</code>")[0]
    assert new != token
    assert client.get(flow_url("2.3", "complet"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    client.post(url, {"action": "disable", "partner": partner.pk})
    assert not Partner.objects.get(pk=partner.pk).is_active
    html = client.get(url).content.decode()
    assert "Flux partenaires" in html and "LHEO 2.3" in html and new not in html
    client.force_login(MembershipFactory().user)
    assert client.get(url).status_code == 403


def test_h2_partner_token_command():
    out, err = io.StringIO(), io.StringIO()
    call_command("partner_token", "portail-regional", "--name", "Portail régional", stdout=out, stderr=err)
    token = out.getvalue().strip()
    partner = Partner.objects.get(slug="portail-regional")
    assert token.startswith(partner.token_prefix + ".")
    assert partner.token_hash == hashlib.sha256(token.split(".", 1)[1].encode()).hexdigest()

"""Transmission status of a session (Q2), after real ``publish_flow`` runs and real partner
downloads through the flow views."""

import datetime
import html as html_lib
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone

from ofeli.exports.flows import publish_flow
from ofeli.exports.models import FlowStatus, Partner
from ofeli.formations import models as fm
from ofeli.quality import transmission
from ofeli.quality.models import FlowDownload
from ofeli.workflow import services
from tests.factories import MembershipFactory, StaffFactory, StructureStateFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _flows_dir(settings, tmp_path):
    settings.LHEO_FLOWS_DIR = tmp_path / "flows"
    transmission._sessions_of.cache_clear()


def run_flow(version="2.3"):
    run = publish_flow(version)
    assert run.status == FlowStatus.DONE, run.error
    return run


def fmt(moment):
    return dateformat.format(timezone.localtime(moment), "d/m/Y à H:i")


def session_page(client, formation, session):
    response = client.get(reverse("formations:session", args=[formation.reference, session.reference]))
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


def of_client(client, formation):
    client.force_login(MembershipFactory(structure=formation.structure).user)
    return client


def test_q2_published_session_is_shown_transmitted_in_its_run_with_the_visibility_window(client):
    formation = published_formation()
    session = formation.sessions.get()
    run_flow()
    run = run_flow()  # a second night: the session is still held, by run n° 2
    assert run.sequence == 2
    html = session_page(of_client(client, formation), formation, session)
    sent = run.finished_at
    assert f"Transmise dans le flux complet n° 2 du {fmt(sent)}" in html
    assert (
        f"Visible dans les outils de France Travail entre le {fmt(sent + datetime.timedelta(hours=48))} "
        f"et le {fmt(sent + datetime.timedelta(hours=72))}"
    ) in html
    assert "Aucun partenaire n'a encore téléchargé un flux qui la contient." in html


def test_q2_draft_only_session_is_not_yet_validated(client):
    published_formation()  # a flow exists, without the draft
    run_flow()
    change = draft_formation()
    services.submit(change, change.created_by)  # the OF reads its submitted session
    session = change.formation.sessions.get()
    client.force_login(change.created_by)
    html = session_page(client, change.formation, session)
    assert "Pas encore transmise aux partenaires." in html
    assert "Session pas encore validée par l'équipe OFeli" in html


def test_q2_archived_session_was_sent_then_says_why_it_left(client):
    formation = published_formation(sessions=2)
    first, second = formation.sessions.order_by("reference")
    run_flow()
    archived_at = timezone.now()
    fm.Session.objects.filter(pk=first.pk).update(archived_at=archived_at)
    run = run_flow()
    assert run.withdrawn_sessions == 1
    client.force_login(StaffFactory())
    html = session_page(client, formation, first)
    assert "Dernière transmission dans le flux complet n° 1 du" in html
    assert f"Absente du dernier flux (n° 2) : Session archivée le {fmt(archived_at)}" in html
    assert "Visible dans les outils" not in html
    assert "Transmise dans le flux complet n° 2" in session_page(client, formation, second)


def test_q2_session_ended_long_ago_is_out_of_the_flows(client):
    formation = published_formation()
    session = formation.sessions.get()
    ended = timezone.localdate() - datetime.timedelta(days=200)
    fm.SessionVersion.objects.filter(session=session).update(date_debut=ended, date_fin=ended)
    published_formation()  # the flow holds another formation
    run_flow()
    html = session_page(of_client(client, formation), formation, session)
    assert "Pas encore transmise aux partenaires." in html
    assert f"Session terminée le {ended:%d/%m/%Y}, il y a plus de 90 jours : elle est sortie des flux" in html


def test_q2_structure_not_diffused_says_so(client):
    formation = published_formation()
    session = formation.sessions.get()
    formation.structure.etat = StructureStateFactory(code="NDI", libelle="Non diffusée", is_diffused=False)
    formation.structure.save()
    published_formation()  # the flow holds another formation
    run_flow()
    html = session_page(of_client(client, formation), formation, session)
    assert "Structure non diffusée : ses sessions ne sont pas transmises aux partenaires." in html


def test_q2_partner_download_through_the_flow_view_appears(client):
    formation = published_formation()
    session = formation.sessions.get()
    run = run_flow()
    partner = Partner(name="France Travail", slug="france-travail")
    token = partner.new_token()
    partner.save()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    # The manifest holds no session: not a download of the session.
    assert client.get(reverse("exports:flow", args=["2.3", "manifeste"]), **auth).status_code == 200
    assert not FlowDownload.objects.exists()
    response = client.get(reverse("exports:flow", args=["2.3", "complet"]), **auth)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    download = FlowDownload.objects.get()
    assert (download.partner, download.run, download.kind) == (partner, run, "complet")
    html = session_page(of_client(client, formation), formation, session)
    assert f"Téléchargée par France Travail le {fmt(download.downloaded_at)} (flux complet n° 1)" in html
    # Another partner that only downloaded a run without this session is not listed.
    other = published_formation()
    fm.Session.objects.filter(pk=session.pk).update(archived_at=timezone.now())
    run_flow()
    portal = Partner(name="Portail régional", slug="portail")
    portal_token = portal.new_token()
    portal.save()
    response = client.get(
        reverse("exports:flow", args=["2.3", "modifications"]) + "?numero=2",
        HTTP_AUTHORIZATION=f"Bearer {portal_token}",
    )
    assert response.status_code == 200
    assert FlowDownload.objects.filter(partner=portal, kind="modifications", run__sequence=2).exists()
    html = session_page(client, formation, session)
    assert "Téléchargée par France Travail" in html and "Portail régional" not in html
    client.force_login(StaffFactory())
    assert "Portail régional" in session_page(client, other, other.sessions.get())


def test_q2_session_page_has_a_fixed_number_of_queries_whatever_the_runs(client):
    formation = published_formation()
    session = formation.sessions.get()
    partner = Partner(name="France Travail", slug="france-travail")
    partner.new_token()
    partner.save()
    client = of_client(client, formation)

    def count():
        session_page(client, formation, session)  # warm the per-run cache and the session
        with CaptureQueriesContext(connection) as queries:
            session_page(client, formation, session)
        return len(queries)

    run = run_flow()
    transmission.record_download(partner, run, "complet")
    one_run = count()
    for _ in range(3):
        run = run_flow()
        transmission.record_download(partner, run, "complet")
        transmission.record_download(partner, run, "modifications")
    assert count() == one_run


def test_q2_run_sessions_are_read_once_per_run():
    formation = published_formation()
    session = formation.sessions.get()
    run_flow()
    with mock.patch.object(transmission, "load_session_hashes", wraps=transmission.load_session_hashes) as load:
        for _ in range(3):
            status = transmission.transmission_status(session)
            assert status.in_latest and status.run.sequence == 1
    assert load.call_count == 1


def test_q2_public_page_shows_the_status_to_staff_only(client):
    formation = published_formation()
    run_flow()
    url = reverse("public:formation_short", args=[formation.reference])
    assert "Transmission aux partenaires" not in html_lib.unescape(client.get(url, follow=True).content.decode())
    client.force_login(MembershipFactory(structure=formation.structure).user)
    assert "Transmission aux partenaires" not in html_lib.unescape(client.get(url, follow=True).content.decode())
    client.force_login(StaffFactory())
    html = html_lib.unescape(client.get(url, follow=True).content.decode())
    assert "Transmission aux partenaires" in html and "Transmise dans le flux complet n° 1" in html

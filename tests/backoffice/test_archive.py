"""G4: staff archive and reactivate formations and sessions from the formation page;
archived offer is « non diffusée » (off the public site); every action is in the history."""

import pytest
from django.urls import reverse

from ofeli.formations.queries import published_sessions
from ofeli.workflow.enums import HistoryAction
from tests.factories import published_formation

pytestmark = pytest.mark.django_db


def public_status(client, formation):
    return client.get(reverse("public:formation_short", args=[formation.reference]), follow=True).status_code


def test_g4_archive_and_reactivate_a_formation(staff_client, staff, client):
    formation = published_formation()
    detail = reverse("formations:detail", args=[formation.reference])
    page = staff_client.get(detail).content.decode()
    assert "Archiver la formation" in page
    response = staff_client.post(
        reverse("backoffice:formation_archive", args=[formation.reference]), {"action": "archive"}
    )
    assert response.status_code == 302 and response.url == detail + "#carif-actions"
    formation.refresh_from_db()
    assert formation.is_archived
    assert not published_sessions().filter(formation_version__formation=formation).exists()
    page = staff_client.get(detail).content.decode()
    assert "Réactiver la formation" in page and "non diffusée" in page
    # the OF user's dashboard counts it as « non diffusée »
    from ofeli.formations.queries import dashboard_counters

    assert dashboard_counters(formation.structure)["non_diffusees"] == 1
    staff_client.post(reverse("backoffice:formation_archive", args=[formation.reference]), {"action": "reactivate"})
    formation.refresh_from_db()
    assert not formation.is_archived
    actions = list(formation.history.filter(author=staff).values_list("action", flat=True))
    assert sorted(actions) == [HistoryAction.ARCHIVED, HistoryAction.REACTIVATED]
    client.logout()
    assert public_status(client, formation) == 200


def test_g4_archive_and_reactivate_a_session(staff_client, staff, client):
    formation = published_formation(sessions=2)
    first, second = formation.live_version.sessions.order_by("date_debut").select_related("session")
    url = reverse("backoffice:session_archive", args=[first.session.reference])
    staff_client.post(url, {"action": "archive"})
    first.session.refresh_from_db()
    assert first.session.is_archived
    online = published_sessions().filter(formation_version__formation=formation)
    assert list(online.values_list("session__reference", flat=True)) == [second.session.reference]
    entry = formation.history.get(action=HistoryAction.ARCHIVED)
    assert entry.details == f"Session {first.session.reference}" and entry.author == staff
    page = staff_client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert "Archive (non diffusée)" in page
    # archiving twice does nothing more
    response = staff_client.post(url, {"action": "archive"}, follow=True)
    assert "déjà archivée" in response.content.decode()
    assert formation.history.filter(action=HistoryAction.ARCHIVED).count() == 1
    staff_client.post(url, {"action": "reactivate"})
    first.session.refresh_from_db()
    assert not first.session.is_archived


def test_g4_unknown_action_changes_nothing(staff_client):
    formation = published_formation()
    response = staff_client.post(
        reverse("backoffice:formation_archive", args=[formation.reference]), {"action": "delete"}, follow=True
    )
    assert "Action inconnue" in response.content.decode()
    formation.refresh_from_db()
    assert not formation.is_archived


def test_e5_partner_fed_formation_shows_its_source_to_staff_and_is_read_only_for_the_of(staff_client, client):
    from ofeli.formations.enums import Source
    from ofeli.formations.models import Formation

    formation = published_formation()
    Formation.objects.filter(pk=formation.pk).update(source=Source.REGION, source_id="EOS-2026-045-0311")
    page = staff_client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert "Conseil régional (flux EOS)" in page and "EOS-2026-045-0311" in page
    assert "lecture seule pour l'organisme" in page
    client.force_login(formation.created_by)
    assert client.post(reverse("formations:request_change", args=[formation.reference])).status_code == 403

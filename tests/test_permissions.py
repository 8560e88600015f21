"""An OF user reaches only the structures they hold rights on; staff screens check the role."""

import pytest
from django.urls import reverse

from ofeli.formations.models import SessionPlace
from ofeli.workflow import services
from tests.factories import (
    LieuFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def intruder(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    return membership


def test_b2_of_user_cannot_open_another_structure_record(client, intruder):
    other = StructureFactory()
    assert client.get(reverse("structures:detail", args=[other.reference])).status_code == 403
    assert (
        client.post(reverse("structures:detail", args=[other.reference]), {"action": "request_change"}).status_code
        == 403
    )


def test_b2_of_user_cannot_choose_another_structure_space(client, intruder):
    other = StructureFactory()
    assert client.post(reverse("set_structure"), {"structure": other.pk}).status_code == 403


def test_e_f_of_user_cannot_read_or_change_another_structures_formation(client, intruder):
    formation = published_formation()
    session_ref = formation.live_version.sessions.get().session.reference
    assert client.get(reverse("formations:detail", args=[formation.reference])).status_code == 403
    assert client.get(reverse("formations:session", args=[formation.reference, session_ref])).status_code == 403
    assert client.post(reverse("formations:request_change", args=[formation.reference])).status_code == 403
    assert not formation.change_requests.filter(status="draft").exists()


def test_f6_forged_place_of_another_structure_is_refused(client):
    change = draft_formation()
    client.force_login(change.created_by)
    sv = change.formation_version.sessions.get()
    foreign = LieuFactory()  # belongs to another structure
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    response = client.post(
        url, {"s-kind": "continue", "s-modalite_enseignement": "0", "action": "add_place", "place": foreign.pk}
    )
    assert response.status_code == 200
    assert not SessionPlace.objects.filter(session_version=sv, lieu=foreign).exists()


def test_g_staff_screens_refuse_of_users_and_anonymous(client, intruder):
    change = draft_formation()
    services.submit(change, change.created_by)
    urls = [
        reverse("workflow:queue"),
        reverse("workflow:review", args=[change.pk]),
        reverse("users:account_requests"),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("workflow:review", args=[change.pk]), {"action": "accept"}).status_code == 403
    change.refresh_from_db()
    assert change.status == "submitted"
    client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/connexion/" in response.url


def test_g2_of_user_cannot_accept_own_change_through_the_service():
    change = draft_formation()
    services.submit(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.accept(change, change.created_by)


def test_staff_reach_every_structure(client):
    client.force_login(StaffFactory())
    other = StructureFactory()
    assert client.get(reverse("structures:detail", args=[other.reference])).status_code == 200

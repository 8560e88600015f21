import pytest

from ofeli.formations.models import Formation
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from tests.factories import StaffFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db


def test_g1_g2_publish_keeps_references_and_old_version_online_until_accept():
    formation = published_formation()
    live = formation.live_version
    session_ref = live.sessions.get().session.reference
    user = formation.change_requests.first().created_by
    change = services.start_formation_change(formation, user)
    draft = change.formation_version
    draft.intitule = "Nouvel intitulé"
    draft.save()
    formation.refresh_from_db()
    assert formation.live_version_id == live.pk
    assert formation.live_version.intitule != "Nouvel intitulé"
    services.submit(change, user)
    services.accept(change, StaffFactory())
    formation.refresh_from_db()
    assert formation.live_version.intitule == "Nouvel intitulé"
    assert formation.live_version.sessions.get().session.reference == session_ref


def test_g2_accept_twice_publishes_once():
    change = draft_formation()
    services.submit(change, change.created_by)
    services.accept(change, StaffFactory())
    with pytest.raises(services.WorkflowError):
        services.accept(change, StaffFactory())


def test_g2_of_user_cannot_accept():
    change = draft_formation()
    services.submit(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.accept(change, change.created_by)
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED


def test_cancel_new_formation_deletes_it():
    change = draft_formation()
    formation_id = change.formation_id
    services.cancel(change, change.created_by)
    assert not Formation.objects.filter(pk=formation_id).exists()

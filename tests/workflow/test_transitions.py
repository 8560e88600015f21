"""G1-G3: transitions of a change request and the ones that are refused."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from ofeli.formations.models import Formation
from ofeli.messaging.models import Message
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry
from tests.factories import StaffFactory, SuperviseurFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db


def submitted_change():
    change = draft_formation()
    services.submit(change, change.created_by)
    return change


def test_g2_of_user_cannot_accept_their_own_change_service_or_screen(client):
    change = submitted_change()
    with pytest.raises(services.WorkflowError, match="Seule l'équipe du Carif"):
        services.accept(change, change.created_by)
    client.force_login(change.created_by)
    assert client.post(reverse("workflow:review", args=[change.pk]), {"action": "accept"}).status_code == 403
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED
    assert Formation.objects.get(pk=change.formation_id).live_version_id is None


def test_g2_a_request_cannot_be_accepted_twice(client):
    change = submitted_change()
    staff = StaffFactory()
    services.accept(change, staff)
    with pytest.raises(services.WorkflowError, match="déjà été traitée"):
        services.accept(change, SuperviseurFactory())
    # and through the screen: an error, no second publication
    client.force_login(staff)
    response = client.post(reverse("workflow:review", args=[change.pk]), {"action": "accept"}, follow=True)
    assert "déjà été traitée" in response.content.decode()
    assert HistoryEntry.objects.filter(change_request=change, action=HistoryAction.ACCEPTED).count() == 1
    assert Message.objects.filter(structure=change.structure).count() == 1


def test_g2_two_staff_members_accepting_at_once_publish_once():
    """Both loaded the request while it was submitted; only the first decision goes through."""
    change = submitted_change()
    first, second = ChangeRequest.objects.get(pk=change.pk), ChangeRequest.objects.get(pk=change.pk)
    services.accept(first, StaffFactory())
    with pytest.raises(services.WorkflowError):
        services.accept(second, StaffFactory())
    with pytest.raises(services.WorkflowError):
        services.refuse(second, StaffFactory(), "Trop tard.")
    assert HistoryEntry.objects.filter(change_request=change, action=HistoryAction.ACCEPTED).count() == 1
    assert ChangeRequest.objects.get(pk=change.pk).decided_by_id == first.decided_by_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent transactions (PostgreSQL)")
def test_g2_two_staff_members_accepting_at_once_in_two_threads_publish_once():
    change = submitted_change()
    staff = [StaffFactory(), StaffFactory()]
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(user):
        try:
            request = ChangeRequest.objects.get(pk=change.pk)
            barrier.wait()
            services.accept(request, user)
            outcomes.append("accepted")
        except services.WorkflowError:
            outcomes.append("refused")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=decide, args=(user,)) for user in staff]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    assert HistoryEntry.objects.filter(change_request=change, action=HistoryAction.ACCEPTED).count() == 1
    assert Message.objects.filter(structure=change.structure).count() == 1
    assert Formation.objects.get(pk=change.formation_id).live_version_id == change.formation_version_id


def test_g2_decisions_need_a_submitted_request():
    change = draft_formation()
    staff = StaffFactory()
    for decide in (services.accept, services.request_info, services.refuse):
        with pytest.raises(services.WorkflowError):
            decide(change, staff, "Commentaire")
    change.refresh_from_db()
    assert change.status == ChangeStatus.DRAFT


def test_g2_a_refused_request_is_final():
    change = submitted_change()
    services.refuse(change, StaffFactory(), "Formation hors champ.")
    with pytest.raises(services.WorkflowError):
        services.submit(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.cancel(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.accept(change, StaffFactory())


def test_g2_a_submitted_request_cannot_be_cancelled_or_edited_by_the_of_user():
    change = submitted_change()
    with pytest.raises(services.WorkflowError):
        services.cancel(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.add_session(change, change.created_by)
    # but the Carif may correct it before accepting (logged)
    services.save_draft(change, StaffFactory(), "Intitulé corrigé")
    assert change.history.filter(action=HistoryAction.STAFF_CORRECTION, details="Intitulé corrigé").exists()


def test_g2_g3_send_back_correct_resubmit_accept_is_all_in_the_history(django_capture_on_commit_callbacks, mailoutbox):
    formation = published_formation()
    user = formation.created_by
    staff = StaffFactory()
    change = services.start_formation_change(formation, user)
    services.submit(change, user)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_info(change, staff, "Précisez les prérequis.")
    change.refresh_from_db()
    assert change.status == ChangeStatus.NEEDS_INFO and change.carif_comment == "Précisez les prérequis."
    version = change.formation_version
    version.objectif = "Tenir la comptabilité courante et préparer le bilan."
    version.save()
    services.submit(change, user)
    with django_capture_on_commit_callbacks(execute=True):
        services.accept(change, staff, "Merci.")
    formation.refresh_from_db()
    assert formation.live_version.objectif == "Tenir la comptabilité courante et préparer le bilan."
    actions = list(formation.history.order_by("created_at", "pk").values_list("action", flat=True))
    assert actions[-5:] == ["change_started", "submitted", "needs_info", "submitted", "accepted"]
    subjects = list(Message.objects.filter(structure=formation.structure).values_list("subject", flat=True))
    assert any("complément d'information" in s for s in subjects)
    assert any("acceptée" in s for s in subjects)
    assert [m.to for m in mailoutbox][-2:] == [[user.email], [user.email]]


def test_g2_assignment_to_oneself_is_logged_internally(client):
    from ofeli.backoffice import services as backoffice

    change = submitted_change()
    first, second = StaffFactory(), StaffFactory()
    backoffice.assign_to_self(change, first)
    backoffice.assign_to_self(change, second)
    change.refresh_from_db()
    assert change.assigned_to == second
    entries = list(HistoryEntry.objects.filter(change_request=change, formation__isnull=True).order_by("pk"))
    assert [e.details for e in entries] == [
        f"Demande attribuée à {first}",
        f"Demande attribuée à {second} (auparavant {first})",
    ]
    # not shown in the history the OF user reads
    assert not change.formation.history.filter(details__startswith="Demande attribuée").exists()
    with pytest.raises(backoffice.BackofficeError):
        backoffice.release(change, first)
    backoffice.release(change, second)
    change.refresh_from_db()
    assert change.assigned_to is None
    with pytest.raises(backoffice.BackofficeError):
        backoffice.assign_to_self(change, change.created_by)

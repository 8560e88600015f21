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


def test_g1_one_open_change_request_per_formation_is_enforced_by_the_database():
    from django.db import IntegrityError, transaction

    from ofeli.workflow.enums import ChangeKind
    from ofeli.workflow.models import ChangeRequest

    change = draft_formation()
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.create(
            kind=ChangeKind.FORMATION,
            structure=change.structure,
            formation=change.formation,
            status=ChangeStatus.SUBMITTED,
        )
    # a closed request does not count
    ChangeRequest.objects.create(
        kind=ChangeKind.FORMATION,
        structure=change.structure,
        formation=change.formation,
        status=ChangeStatus.REFUSED,
    )


def test_c1_one_open_change_request_per_structure_is_enforced_by_the_database():
    from django.db import IntegrityError, transaction

    from ofeli.workflow.enums import ChangeKind
    from ofeli.workflow.models import ChangeRequest
    from tests.factories import StructureFactory

    structure = StructureFactory()
    ChangeRequest.objects.create(kind=ChangeKind.STRUCTURE, structure=structure)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.create(kind=ChangeKind.STRUCTURE, structure=structure, status=ChangeStatus.NEEDS_INFO)


def test_f1_start_change_twice_returns_the_same_request():
    formation = published_formation()
    user = formation.change_requests.first().created_by
    first = services.start_formation_change(formation, user)
    second = services.start_formation_change(formation, user)
    assert first.pk == second.pk


def test_g2_needs_info_then_resubmit_then_accept():
    change = draft_formation()
    staff = StaffFactory()
    services.submit(change, change.created_by)
    services.request_info(change, staff, "Précisez le rythme.")
    change.refresh_from_db()
    assert change.status == ChangeStatus.NEEDS_INFO
    services.submit(change, change.created_by)
    services.accept(change, staff)
    change.refresh_from_db()
    assert change.status == ChangeStatus.ACCEPTED
    assert change.formation.live_version_id == change.formation_version_id


def test_g3_decisions_reach_the_messagerie_and_mail(django_capture_on_commit_callbacks, mailoutbox):
    from ofeli.messaging.models import Message

    change = draft_formation()
    services.submit(change, change.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        services.refuse(change, StaffFactory(), "Doublon de la formation existante.")
    message = Message.objects.get(structure=change.structure)
    assert message.from_carif and "refusée" in message.subject
    assert "Doublon" in message.body
    assert mailoutbox[0].to == [change.created_by.email]


def test_g2_refuse_and_needs_info_require_a_comment():
    change = draft_formation()
    services.submit(change, change.created_by)
    with pytest.raises(services.WorkflowError):
        services.refuse(change, StaffFactory(), "  ")
    with pytest.raises(services.WorkflowError):
        services.request_info(change, StaffFactory(), "")


def test_g1_submission_blocked_lists_problems_with_fields():
    change = draft_formation(complete=False)
    with pytest.raises(services.SubmissionBlocked) as blocked:
        services.submit(change, change.created_by)
    fields = {p.field for p in blocked.value.problems}
    assert "duree_centre" in fields
    change.refresh_from_db()
    assert change.status == ChangeStatus.DRAFT


def test_e6_duplicate_session_gets_new_numero_carif_and_copies_children():
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    copy = services.duplicate_session(change, sv, change.created_by)
    assert copy.session.reference != sv.session.reference
    assert copy.date_debut == sv.date_debut
    assert copy.financements.count() == sv.financements.count() == 1
    assert copy.trainers.get().is_principal


def test_g2_staff_correction_of_a_submitted_request_is_logged(client):
    import html

    from django.urls import reverse

    from ofeli.workflow.enums import HistoryAction

    change = draft_formation()
    services.submit(change, change.created_by)
    staff = StaffFactory()
    client.force_login(staff)
    url = reverse("formations:detail", args=[change.formation.reference])
    response = client.post(url, {"f-intitule": "Comptabilité des petites entreprises", "action": "save"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED
    assert change.formation_version.intitule == "Comptabilité des petites entreprises"
    assert change.history.filter(action=HistoryAction.STAFF_CORRECTION, author=staff).exists()
    # the OF user cannot edit while the request waits: refused with a message (R2)
    client.force_login(change.created_by)
    response = client.post(url, {"f-intitule": "Autre intitulé", "action": "save"}, follow=True)
    assert "cette demande n'est plus modifiable, elle est « En attente de validation »" in html.unescape(
        response.content.decode()
    )
    change.formation_version.refresh_from_db()
    assert change.formation_version.intitule == "Comptabilité des petites entreprises"

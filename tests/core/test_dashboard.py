"""B1-B3: the dashboard of the OF user."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ofeli.formations.queries import dashboard_counters
from ofeli.messaging.models import Message
from ofeli.workflow import services
from ofeli.workflow.guards import allow_published_changes
from tests.factories import (
    ContactFactory,
    DispositifFactory,
    FinanceurFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def structure():
    return StructureFactory()


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_b3_every_formation_counter_counts_its_state(structure):
    staff = StaffFactory()
    draft_formation(structure)  # en cours de création
    published = published_formation(structure, staff=staff)
    services.start_formation_change(published, published.change_requests.first().created_by)  # brouillon
    waiting = draft_formation(structure)
    services.submit(waiting, waiting.created_by)  # en attente de validation
    complement = draft_formation(structure)
    services.submit(complement, complement.created_by)
    services.request_info(complement, staff, "Précisez le rythme.")
    archived = published_formation(structure, staff=staff)
    services.set_formation_archived(archived, staff, True)  # non diffusée
    public = published_formation(structure, staff=staff)
    sv = public.live_version.sessions.get()
    public_funds = DispositifFactory(
        code="AFC01",
        libelle="France Travail Formation conventionnée",
        financeur=FinanceurFactory(code="98014", libelle="France Travail", lheo_code="4"),
        entered_by="CARIF",
        is_public_funds=True,
    )
    sv.financements.create(dispositif=public_funds, financeur=public_funds.financeur)
    public.link_error = "Erreur 404"
    public.save()
    published_formation()  # another structure's offer is not counted
    counters = dashboard_counters(structure)
    assert counters == {
        "en_creation": 1,
        "brouillons": 1,
        "diffusees": 2,
        "fonds_publics": 1,
        "en_attente": 1,
        "complement": 1,
        "non_diffusees": 1,
        "erreur_liens": 1,
    }


def test_b3_contacts_and_unread_messages(client, structure):
    membership = MembershipFactory(structure=structure)
    ContactFactory(structure=structure, user=membership.user)
    ContactFactory(structure=structure)
    Message.objects.create(structure=structure, from_carif=True, subject="Bienvenue", body="...")
    Message.objects.create(structure=structure, from_carif=True, subject="Lu", body="...", read_at=timezone.now())
    Message.objects.create(structure=structure, from_carif=False, subject="De l'OF", body="...")
    client.force_login(membership.user)
    response = client.get(reverse("dashboard"))
    assert response.context["contacts"] == {"total": 2, "with_rights": 1}
    assert response.context["unread"] == 1


def test_b3_dashboard_queries_do_not_grow_with_the_offer(client, structure):
    membership = MembershipFactory(structure=structure)
    client.force_login(membership.user)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(queries)

    count()  # the first request also creates the session
    before = count()
    for _ in range(3):
        draft_formation(structure, membership.user)
    assert count() == before


def test_b2_user_with_several_structures_chooses_first(client):
    membership = MembershipFactory()
    MembershipFactory(user=membership.user)
    client.force_login(membership.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url == reverse("choose_structure")


def test_b2_user_with_one_structure_goes_straight_to_it(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["request"].current_structure == membership.structure


def test_b1_menu_can_be_folded(client):
    client.force_login(MembershipFactory().user)
    content = client.get(reverse("dashboard")).content.decode()
    assert 'aria-controls="app-sidemenu"' in content and "Affichage menu" in content

"""C9, G3: the history of a formation and of a structure record lists every request with
date, author, action and Carif comment; older accepted versions stay readable."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from tests.factories import StaffFactory, StructureFactory, published_formation

pytestmark = pytest.mark.django_db


def change_and_accept(formation, user, staff, intitule, comment):
    change = services.start_formation_change(formation, user)
    version = change.formation_version
    version.intitule = intitule
    version.save()
    services.submit(change, user)
    services.accept(change, staff, comment)
    formation.refresh_from_db()
    return change


def test_c9_g3_older_accepted_versions_can_be_read(client):
    formation = published_formation(intitule="Comptabilité, version 1")
    user = formation.created_by
    staff = StaffFactory(first_name="Claire", last_name="HOUIX")
    first = formation.change_requests.get(status=ChangeStatus.ACCEPTED)
    second = change_and_accept(formation, user, staff, "Comptabilité, version 2", "Intitulé revu.")
    third = change_and_accept(formation, user, staff, "Comptabilité, version 3", "Dernière version.")
    assert formation.live_version_id == third.formation_version_id
    client.force_login(staff)

    history = client.get(reverse("workflow:history", args=["formation", formation.reference]))
    page = history.content.decode()
    assert [c.pk for c in history.context["changes"]] == [third.pk, second.pk, first.pk]
    assert page.count("Version publiée") == 1
    assert "Intitulé revu." in page and "Claire HOUIX" in page
    assert f"Voir cette version (demande n°{second.pk})" in page

    # the second version, no longer published, still reads in full, with what it changed
    review = client.get(reverse("workflow:review", args=[second.pk]))
    page = review.content.decode()
    assert review.context["content"].fields["Intitulé de la formation"] == "Comptabilité, version 2"
    (change,) = review.context["fields"]
    assert (change.old, change.new) == ("Comptabilité, version 1", "Comptabilité, version 2")
    assert "Version publiée actuellement" not in page and "Accepter et publier" not in page
    second.refresh_from_db()
    assert f"Demande acceptée le {timezone.localtime(second.decided_at):%d/%m/%Y}" in page
    # the formation page links each accepted line of its history to its version (staff only)
    detail = client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert reverse("workflow:review", args=[second.pk]) in detail
    client.force_login(user)
    detail = client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert reverse("workflow:review", args=[second.pk]) not in detail


def test_c9_structure_record_history(client):
    structure = StructureFactory()
    staff = StaffFactory()
    change = services.start_structure_change(structure, staff)
    change.structure_version.telephone = "0247000000"
    change.structure_version.save()
    services.submit(change, staff)
    services.accept(change, staff, "Téléphone mis à jour.")
    client.force_login(staff)
    page = client.get(reverse("workflow:history", args=["structure", structure.reference])).content.decode()
    assert "Téléphone mis à jour." in page and "Version publiée" in page
    review = client.get(reverse("workflow:review", args=[change.pk]))
    assert review.context["content"].fields["Téléphone principal"] == "0247000000"
    assert client.get(f"/ofeli/carif/demandes/historique/dossier/{structure.reference}/").status_code == 404

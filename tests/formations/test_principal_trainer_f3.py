"""F3 (issue 10): after « Rendre principal » the page opens on the question; switching the
principal trainer back and forth with « Oui » leaves only the current trainer's place."""

import pytest
from django.urls import reverse

from ofeli.formations.models import SessionTrainer
from ofeli.structures.models import StructureVersion
from tests.factories import StructureFactory, draft_formation
from tests.formations.test_session_rules import plain

pytestmark = pytest.mark.django_db


def test_f3_question_anchor_and_switching_back_and_forth_leaves_no_former_place(client):
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    responsable = change.formation.structure
    other = StructureFactory(nom="Formateur associé", with_version=False)
    other.live_version = StructureVersion.objects.create(
        structure=other, adresse="2 Place Jean Jaurès", code_postal="37000", ville="Tours", code_insee="37261"
    )
    other.save(update_fields=["live_version"])
    SessionTrainer.objects.create(session_version=sv, structure=other)
    client.force_login(change.created_by)
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    for target, address in (
        (other, "2 Place Jean Jaurès"),
        (responsable, responsable.live_version.adresse),
        (other, "2 Place Jean Jaurès"),
    ):
        trainer = sv.trainers.get(structure=target)
        response = client.post(url, plain(sv) | {"action": f"principal_trainer:{trainer.pk}"})
        assert response.status_code == 302 and response.url.endswith("#principal-question")
        html = client.get(url).content.decode()
        assert 'id="principal-question"' in html
        # the question is drawn by the trainers table, where the page opens
        assert html.index('id="principal-question"') > html.index('id="trainers"')
        client.post(url, plain(sv) | {"action": "principal_update_yes"})
        assert [p.lieu.adresse for p in sv.places.select_related("lieu")] == [address]
        sv.refresh_from_db()
        assert sv.lieu_inscription.adresse == address

"""K1: the 500s the probe found — huge integers in the mesures list and the session's
financement actions, a missing private file — now get ordinary answers."""

import pytest
from django.urls import reverse

from ofeli.formations.models import Financement
from tests.factories import draft_formation
from tests.formations.test_session_rules import plain

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("value", [HUGE, "-1", "abc", "²", "0", "x\x00y"])
def test_k1_mesures_of_an_impossible_financeur_is_an_empty_list(client, value):
    change = draft_formation()
    client.force_login(change.created_by)
    response = client.get(reverse("formations:mesures"), {"fin-financeur": value})
    assert response.status_code in (200, 400)
    assert 'option value="' not in response.content.decode().replace('option value=""', "")


@pytest.mark.parametrize("action", ["add_financement", "refresh_mesures"])
def test_k1_session_financement_actions_with_a_huge_financeur(client, action):
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    client.force_login(change.created_by)
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    before = Financement.objects.count()
    response = client.post(url, plain(sv) | {"action": action, "fin-financeur": HUGE, "fin-dispositif": HUGE})
    assert response.status_code in (200, 302)
    assert Financement.objects.count() == before
    if action == "add_financement":
        assert "Choisissez le financeur" in response.content.decode() or response.status_code == 302


def test_k1_a_nul_character_anywhere_in_a_request_is_a_400(client):
    change = draft_formation()
    client.force_login(change.created_by)
    search = reverse("formations:search")
    assert client.get(search, {"f_intitule": "compta"}).status_code == 200
    assert client.get(search, {"f_intitule": "comp\x00ta"}).status_code == 400
    assert client.get(search, {"q\x00": "x"}).status_code == 400
    response = client.post(reverse("users:password_reset"), {"email": "a\x00@example.org"})
    assert response.status_code == 400 and "Requête incorrecte" in response.content.decode()
    assert client.get("/ofeli/structures/x%00y/").status_code == 400

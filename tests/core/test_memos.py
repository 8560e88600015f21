"""B4 « Mémos »: personal notes, visible to their author only."""

import pytest
from django.urls import reverse

from ofeli.messaging.models import Memo
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_b4_user_adds_toggles_and_deletes_a_memo(client):
    user = MembershipFactory().user
    client.force_login(user)
    response = client.post(reverse("messaging:memos"), {"text": "Corriger le lien du site web"})
    assert response.status_code == 302
    memo = Memo.objects.get(user=user)
    client.post(reverse("messaging:memo_action", args=[memo.pk]), {"action": "toggle"})
    memo.refresh_from_db()
    assert memo.done
    client.post(reverse("messaging:memo_action", args=[memo.pk]), {"action": "delete"})
    assert not Memo.objects.exists()


def test_b4_empty_memo_is_refused(client):
    client.force_login(MembershipFactory().user)
    response = client.post(reverse("messaging:memos"), {"text": ""})
    assert response.status_code == 200
    assert not Memo.objects.exists()


def test_b4_memos_are_personal(client):
    owner = UserFactory()
    memo = Memo.objects.create(user=owner, text="Note privée")
    other = MembershipFactory().user
    client.force_login(other)
    assert "Note privée" not in client.get(reverse("messaging:memos")).content.decode()
    assert client.post(reverse("messaging:memo_action", args=[memo.pk]), {"action": "delete"}).status_code == 403
    assert Memo.objects.filter(pk=memo.pk).exists()


def test_b4_dashboard_shows_open_memos(client):
    user = MembershipFactory().user
    Memo.objects.create(user=user, text="Compléter le rythme de la session de Bourges")
    client.force_login(user)
    assert "Compléter le rythme" in client.get(reverse("dashboard")).content.decode()

"""K1: the three 500s the hostile-parameter sweep still found — a forged structure in
« Espace structure », huge ids in the back office's multiple choices — now get ordinary
answers, with the error on the field and nothing written."""

import pytest
from django.urls import reverse

from ofeli.users.models import Membership
from tests.factories import MembershipFactory, StructureFactory, SuperviseurFactory

pytestmark = pytest.mark.django_db
HOSTILE = ["99999999999999999999999", "-1", "abc", "²", "1" * 300]


@pytest.mark.parametrize("value", HOSTILE)
def test_k1_choosing_a_forged_structure_is_a_404(client, value):
    client.force_login(MembershipFactory().user)
    assert client.post(reverse("set_structure"), {"structure": value}).status_code == 404


@pytest.mark.parametrize("value", HOSTILE)
def test_k1_huge_ids_in_the_back_office_multiple_choices_are_field_errors(client, value):
    structure = StructureFactory()
    client.force_login(SuperviseurFactory())
    response = client.post(reverse("backoffice:structure_identity", args=[structure.reference]), {"detach": [value]})
    assert response.status_code in (200, 302)
    member = MembershipFactory(structure=structure).user
    before = Membership.objects.count()
    response = client.post(
        reverse("backoffice:user_edit", args=[member.pk]),
        {"email": member.email, "first_name": "A", "last_name": "B", "role": "of", "remove_memberships": [value]},
    )
    assert response.status_code == 200
    assert "remove_memberships" in response.context["form"].errors
    assert Membership.objects.count() == before

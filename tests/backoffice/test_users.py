"""Staff roles: the superviseur manages users, roles and rights on structures (logged);
a gestionnaire cannot."""

import re

import pytest
from django.urls import reverse

from ofeli.users.enums import Role
from ofeli.users.models import Membership, User
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a3_superviseur_creates_a_gestionnaire_who_gets_an_activation_key(
    superviseur_client, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        response = superviseur_client.post(
            reverse("backoffice:user_create"),
            {
                "email": "Nouvelle.Gestionnaire@Example.org",
                "first_name": "Anne",
                "last_name": "MARTIN",
                "role": "gestionnaire",
            },
        )
    user = User.objects.get(email="nouvelle.gestionnaire@example.org")
    assert response.status_code == 302 and response.url == reverse("backoffice:user_edit", args=[user.pk])
    assert user.role == Role.GESTIONNAIRE and not user.has_usable_password()
    assert re.search(r"/activer/\S+/", mailoutbox[0].body)
    # the same e-mail twice is refused on its field
    response = superviseur_client.post(
        reverse("backoffice:user_create"),
        {"email": "nouvelle.gestionnaire@example.org", "first_name": "A", "last_name": "B", "role": "of"},
    )
    assert "existe déjà" in " ".join(response.context["form"].errors["email"])


def test_a3_superviseur_changes_role_and_rights_on_structures(superviseur_client, superviseur):
    account = UserFactory()
    kept, removed, added = StructureFactory(), StructureFactory(), StructureFactory()
    Membership.objects.create(user=account, structure=kept)
    Membership.objects.create(user=account, structure=removed)
    url = reverse("backoffice:user_edit", args=[account.pk])
    page = superviseur_client.get(url).content.decode()
    assert kept.reference in page
    response = superviseur_client.post(
        url,
        {
            "first_name": account.first_name,
            "last_name": account.last_name,
            "phone": "",
            "role": "of",
            "is_active": "on",
            "add_structures": added.reference.lower(),
            "remove_memberships": [removed.pk],
        },
    )
    assert response.status_code == 302
    assert set(Structure_ids(account)) == {kept.pk, added.pk}
    assert added.history.get().details == f"Droits de saisie donnés à {account.email}"
    assert removed.history.get().details == f"Droits de saisie retirés à {account.email}"
    response = superviseur_client.post(
        url, {"first_name": account.first_name, "last_name": account.last_name, "role": "gestionnaire", "is_active": ""}
    )
    account.refresh_from_db()
    assert account.role == Role.GESTIONNAIRE and not account.is_active
    page = superviseur_client.get(url).content.decode()
    assert "Rôle : Utilisateur organisme de formation → Gestionnaire Carif" in page


def Structure_ids(user):  # noqa: N802
    return Membership.objects.filter(user=user).values_list("structure_id", flat=True)


def test_a3_superviseur_cannot_lock_themselves_out(superviseur_client, superviseur):
    url = reverse("backoffice:user_edit", args=[superviseur.pk])
    response = superviseur_client.post(
        url, {"first_name": "Claire", "last_name": "HOUIX", "role": "gestionnaire", "is_active": ""}
    )
    form = response.context["form"]
    assert "propre rôle de superviseur" in " ".join(form.errors["role"])
    assert "désactiver votre propre compte" in " ".join(form.errors["is_active"])
    superviseur.refresh_from_db()
    assert superviseur.role == Role.SUPERVISEUR and superviseur.is_active


def test_a3_unknown_structure_reference_is_refused_on_its_field(superviseur_client):
    account = UserFactory()
    response = superviseur_client.post(
        reverse("backoffice:user_edit", args=[account.pk]),
        {"first_name": "A", "last_name": "B", "role": "of", "is_active": "on", "add_structures": "00000P"},
    )
    assert "Référence(s) inconnue(s) : 00000P" in " ".join(response.context["form"].errors["add_structures"])


def test_user_list_filters(superviseur_client):
    UserFactory(last_name="THEVENIN", email="laure@example.org")
    response = superviseur_client.get(reverse("backoffice:users"), {"q": "thevenin", "role": "of"})
    assert [u.email for u in response.context["page_obj"]] == ["laure@example.org"]

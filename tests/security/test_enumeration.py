"""A2 / K1: « Créer mon compte » answers the same whether an account exists or not; the
owner of the existing account is told by e-mail, with the « Mot de passe oublié » link."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from ofeli.users.models import AccountRequest
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

FORM = {
    "siret": "21860076500018",
    "nda": "24370369337",
    "last_name": "Dupont",
    "first_name": "Marie",
    "phone": "0238000000",
    "consent": "on",
}


def page(response):
    return re.sub(r'(X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', "TOKEN", response.content.decode())


def ask(client, email, capture):
    with capture(execute=True):
        response = client.post(reverse("users:account_request"), {**FORM, "email": email})
    follow = client.get(response["Location"]) if response.status_code == 302 else None
    return response, follow


def test_a2_k1_existing_and_unknown_emails_get_the_same_answer(client, mailoutbox, django_capture_on_commit_callbacks):
    owner = MembershipFactory(user__email="marie.dupont@example.org", user__first_name="Marie").user
    known, known_page = ask(client, "Marie.Dupont@example.org", django_capture_on_commit_callbacks)
    unknown, unknown_page = ask(client, "nouvelle@example.org", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("users:account_request_done")
    assert page(known_page) == page(unknown_page)
    assert "Un compte existe déjà" not in page(known_page)
    # no request for the existing account; the unknown one is queued for the Carif
    assert list(AccountRequest.objects.values_list("email", flat=True)) == ["nouvelle@example.org"]
    # the owner is told, with the link to « Mot de passe oublié »
    assert [m.to for m in mailoutbox] == [[owner.email]]
    body = mailoutbox[0].body
    assert "Un compte existe déjà avec cette adresse" in body
    assert settings.SITE_URL + reverse("users:password_reset") in body


def test_a2_a_second_identical_request_is_answered_the_same_and_not_queued_twice(
    client, django_capture_on_commit_callbacks
):
    first, _ = ask(client, "marie@example.org", django_capture_on_commit_callbacks)
    second, _ = ask(client, "marie@example.org", django_capture_on_commit_callbacks)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert AccountRequest.objects.count() == 1


def test_a2_bad_input_still_gets_its_message_on_the_field(client):
    response = client.post(reverse("users:account_request"), {**FORM, "siret": "123", "email": "x@example.org"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="x@example.org"' in text and "SIRET" in text and not AccountRequest.objects.exists()

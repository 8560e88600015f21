"""K1 / A4-A5: failed logins are throttled per account and per client address (django-axes,
database handler), the anonymous forms are rate-limited, and nothing tells whether an
account exists."""

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from ofeli.users.models import AccountRequest
from tests.factories import MembershipFactory, SuperviseurFactory

pytestmark = pytest.mark.django_db
LOGIN = reverse("users:login")
PASSWORD = "Motdepasse!1"
BLOCKED = "Trop de tentatives de connexion infructueuses"


def attempt(client, email, password="Mauvais!1", ip="203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def logged_in(client):
    return "_auth_user_id" in client.session


def test_a4_k1_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_time_to_wait(client):
    staff = SuperviseurFactory(email="claire.houix@example.org")
    statuses = [attempt(client, staff.email).status_code for _ in range(30)]
    assert statuses[:4] == [200] * 4  # « Adresse e-mail ou mot de passe incorrect. »
    assert set(statuses[4:]) == {429}  # the 5th failure blocks
    response = attempt(client, staff.email, PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    text = response.content.decode()
    assert BLOCKED in text and "Réessayez dans 15 minutes" in text
    assert response["Retry-After"] == "900"
    assert 'value="claire.houix@example.org"' in text  # what was typed is kept (not the password)
    # another browser from the same address: the count is in the database, shared by all processes
    assert attempt(Client(), "Claire.Houix@example.org ", PASSWORD).status_code == 429
    assert AccessAttempt.objects.filter(username="claire.houix@example.org").exists()


def test_a4_k1_the_block_ends_after_the_cool_off_and_a_success_resets_the_count(client):
    user = MembershipFactory().user
    for _ in range(5):
        attempt(client, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10))
    response = attempt(client, user.email, PASSWORD)
    assert response.status_code == 429 and "Réessayez dans 5 minutes" in response.content.decode()
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16))
    response = attempt(client, user.email, PASSWORD)
    assert response.status_code == 302 and logged_in(client)
    assert not AccessAttempt.objects.filter(username=user.email).exists()


def test_a4_k1_the_answer_is_the_same_for_an_unknown_address_and_for_staff_and_of_accounts():
    known_staff = SuperviseurFactory(email="staff@example.org")
    known_of = MembershipFactory(user__email="of@example.org").user
    answers = {}
    for email in (known_staff.email, known_of.email, "inconnu@example.org"):
        client = Client()
        ip = f"198.51.100.{len(answers) + 1}"
        statuses = [attempt(client, email, ip=ip).status_code for _ in range(6)]
        body = attempt(client, email, ip=ip).content.decode().replace(email, "EMAIL")
        body = re.sub(r'(X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', "TOKEN", body)
        answers[email] = (statuses, body)
    assert answers[known_staff.email] == answers[known_of.email] == answers["inconnu@example.org"]
    assert answers[known_staff.email][0] == [200, 200, 200, 200, 429, 429]


def test_a4_k1_one_client_address_trying_many_accounts_is_blocked_other_addresses_are_not():
    victim = MembershipFactory().user
    attacker = Client()
    for n in range(5):
        attempt(attacker, f"essai{n}@example.org", ip="192.0.2.66")
    assert attempt(attacker, victim.email, PASSWORD, ip="192.0.2.66").status_code == 429
    other = Client()
    assert attempt(other, victim.email, PASSWORD, ip="192.0.2.10").status_code == 302 and logged_in(other)


def test_a4_k1_client_address_behind_trusted_proxies(settings):
    from django.test import RequestFactory

    from ofeli.users.throttling import client_ip

    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the address the proxy saw, not one the client wrote


ACCOUNT = {
    "siret": "21860076500018",
    "nda": "24370369337",
    "last_name": "Dupont",
    "first_name": "Marie",
    "phone": "0238000000",
    "consent": "on",
}


def test_a2_k1_creer_mon_compte_is_rate_limited_per_client_address(client):
    for n in range(5):
        response = client.post(reverse("users:account_request"), {**ACCOUNT, "email": f"marie{n}@example.org"})
        assert response.status_code == 302
    response = client.post(reverse("users:account_request"), {**ACCOUNT, "email": "marie9@example.org"})
    assert response.status_code == 429
    text = response.content.decode()
    assert "Trop de demandes ont été envoyées" in text and "Réessayez dans" in text and "minute" in text
    assert 'value="marie9@example.org"' in text and 'value="Dupont"' in text  # nothing typed is lost
    assert AccountRequest.objects.count() == 5
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert other.post(reverse("users:account_request"), {**ACCOUNT, "email": "x@example.org"}).status_code == 302


def test_a4_k1_mot_de_passe_oublie_is_rate_limited_per_address_and_per_email(client, mailoutbox):
    url = reverse("users:password_reset")
    user = MembershipFactory().user
    statuses = [Client(REMOTE_ADDR=f"192.0.2.{n}").post(url, {"email": user.email}).status_code for n in range(1, 5)]
    assert statuses == [302, 302, 302, 429]  # per e-mail, whatever the address
    statuses = [
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(url, {"email": "inconnu@example.org"}).status_code for n in range(1, 5)
    ]
    assert statuses == [302, 302, 302, 429]  # the same for an address without account
    for n in range(10):
        client.post(url, {"email": f"autre{n}@example.org"}, REMOTE_ADDR="198.51.100.50")
    response = client.post(url, {"email": "encore@example.org"}, REMOTE_ADDR="198.51.100.50")
    assert response.status_code == 429
    assert "Trop de demandes ont été envoyées" in response.content.decode()

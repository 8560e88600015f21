import pytest

from tests.factories import MembershipFactory, StaffFactory, SuperviseurFactory


@pytest.fixture
def staff(db):
    return StaffFactory(first_name="Gestion", last_name="OFFRE")


@pytest.fixture
def superviseur(db):
    return SuperviseurFactory(first_name="Claire", last_name="HOUIX")


@pytest.fixture
def of_member(db):
    """An OF user with rights on one structure."""
    return MembershipFactory()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def superviseur_client(client, superviseur):
    client.force_login(superviseur)
    return client

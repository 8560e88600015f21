import pytest

from tests.factories import MembershipFactory, StaffFactory, StructureFactory

from .fake_ban import FakeBan


@pytest.fixture
def fake_ban(settings):
    """A local api-adresse server; settings.BAN_API_URL points to it for the test."""
    server = FakeBan().start()
    settings.BAN_API_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def structure(db):
    return StructureFactory(nom="OF présentation OFELI", raison_sociale="OF PRESENTATION OFELI")


@pytest.fixture
def of_user(structure):
    return MembershipFactory(structure=structure).user


@pytest.fixture
def of_client(client, of_user):
    client.force_login(of_user)
    return client


@pytest.fixture
def staff(db):
    return StaffFactory()

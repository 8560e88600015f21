"""Fixtures of the formation and session tests: a draft formation with one session, its
session page and an OF client logged in as the request's author."""

import pytest
from django.urls import reverse

from tests.factories import draft_formation

# axe-core (pinned, vendored by tests/public/conftest.py) for the browser tests of the OF screens (U1).
from tests.public.conftest import axe_source  # noqa: F401


@pytest.fixture
def change():
    return draft_formation()


@pytest.fixture
def sv(change):
    return change.formation_version.sessions.get()


@pytest.fixture
def url(change, sv):
    return reverse("formations:session", args=[change.formation.reference, sv.session.reference])


@pytest.fixture
def of_client(client, change):
    client.force_login(change.created_by)
    return client

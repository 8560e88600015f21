"""G1, G2: the validation queue — oldest first, age against the 48-working-hour target,
filters (kind, structure, département, dispositif, staff member assigned), assignment to
oneself — in a fixed number of SQL queries whatever the number of rows."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ofeli.backoffice import services as backoffice
from ofeli.structures.models import Structure, StructureVersion
from ofeli.workflow import services
from ofeli.workflow.models import ChangeRequest
from ofeli.workflow.working_hours import PARIS
from tests.factories import (
    DispositifFactory,
    FinanceurFactory,
    LieuFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
)

pytestmark = pytest.mark.django_db


def submitted(structure=None, *, when=None, intitule="Comptabilité pour les petites entreprises"):
    change = draft_formation(structure, intitule=intitule)
    services.submit(change, change.created_by)
    if when is not None:
        ChangeRequest.objects.filter(pk=change.pk).update(submitted_at=when)
    change.refresh_from_db()
    return change


def in_departement(cp, ville):
    structure = StructureFactory()
    StructureVersion.objects.filter(pk=structure.live_version_id).update(code_postal=cp, ville=ville)
    LieuFactory(structure=structure, code_postal=cp, ville=ville)
    return Structure.objects.get(pk=structure.pk)


@pytest.fixture
def staff_client(client):
    staff = StaffFactory()
    client.force_login(staff)
    client.staff = staff
    return client


def rows(response):
    return [c.pk for c in response.context["page_obj"]]


def test_g2_oldest_first_with_the_age_against_48_working_hours(staff_client):
    now = timezone.now()
    recent = submitted(when=now - datetime.timedelta(minutes=5))
    old = submitted(when=now - datetime.timedelta(days=10))
    middle = submitted(when=now - datetime.timedelta(days=1))
    response = staff_client.get(reverse("workflow:queue"))
    assert rows(response) == [old.pk, middle.pk, recent.pk]
    ages = {c.pk: c.age for c in response.context["page_obj"]}
    assert ages[old.pk].is_late and not ages[recent.pk].is_late
    assert response.context["late"] >= 1
    page = response.content.decode()
    assert "Hors délai" in page and "Dans les délais" in page and "48 heures ouvrées" in page
    newest_first = staff_client.get(reverse("workflow:queue"), {"tri": "recentes"})
    assert rows(newest_first) == [recent.pk, middle.pk, old.pk]
    only_late = staff_client.get(reverse("workflow:queue"), {"retard": "on"})
    assert old.pk in rows(only_late) and recent.pk not in rows(only_late)


def test_g2_friday_evening_request_is_on_time_on_tuesday_after_easter(staff_client):
    change = submitted(when=datetime.datetime(2026, 4, 3, 18, 0, tzinfo=PARIS))
    from ofeli.workflow.working_hours import age_of

    assert not age_of(change.submitted_at, now=datetime.datetime(2026, 4, 7, 20, 0, tzinfo=PARIS)).is_late
    assert age_of(change.submitted_at, now=datetime.datetime(2026, 4, 8, 18, 1, tzinfo=PARIS)).is_late


def test_g2_filters(staff_client):
    loiret = in_departement("45000", "Orléans")
    cher = in_departement("18000", "Bourges")
    a = submitted(loiret, intitule="Anglais professionnel")
    b = submitted(cher, intitule="Soudure")
    opco = DispositifFactory(
        code="AOP03",
        libelle="Contrat de professionnalisation",
        financeur=FinanceurFactory(code="98018", libelle="OPCO"),
    )
    sv = b.formation_version.sessions.get()
    sv.financements.create(dispositif=opco, financeur=opco.financeur, nb_places=4)
    structure_change = services.start_structure_change(cher, StaffFactory())
    services.submit(structure_change, structure_change.created_by)
    url = reverse("workflow:queue")
    assert set(rows(staff_client.get(url))) == {a.pk, b.pk, structure_change.pk}
    assert rows(staff_client.get(url, {"objet": "structure"})) == [structure_change.pk]
    assert set(rows(staff_client.get(url, {"objet": "formation"}))) == {a.pk, b.pk}
    assert rows(staff_client.get(url, {"departement": "45"})) == [a.pk]
    assert set(rows(staff_client.get(url, {"departement": "18"}))) == {b.pk, structure_change.pk}
    assert rows(staff_client.get(url, {"dispositif": opco.pk})) == [b.pk]
    assert rows(staff_client.get(url, {"structure": loiret.reference})) == [a.pk]
    assert rows(staff_client.get(url, {"structure": loiret.siret})) == [a.pk]
    assert set(rows(staff_client.get(url, {"structure": cher.nom}))) == {b.pk, structure_change.pk}
    backoffice.assign_to_self(a, staff_client.staff)
    other = StaffFactory()
    backoffice.assign_to_self(b, other)
    assert rows(staff_client.get(url, {"gestionnaire": "moi"})) == [a.pk]
    assert rows(staff_client.get(url, {"gestionnaire": str(other.pk)})) == [b.pk]
    assert rows(staff_client.get(url, {"gestionnaire": "aucun"})) == [structure_change.pk]
    # status: requests sent back wait for the OF user
    services.request_info(a, staff_client.staff, "Précisez.")
    assert rows(staff_client.get(url, {"etat": "needs_info"})) == [a.pk]
    # wrong values are ignored, not an error
    assert staff_client.get(url, {"etat": "nimporte", "dispositif": "x"}).status_code == 200


def test_g2_queue_runs_a_fixed_number_of_queries(staff_client, django_assert_num_queries):
    """Same number of queries for 2 and for 12 requests, with every filter on."""
    url = reverse("workflow:queue")
    dispositif = DispositifFactory()
    params = {
        "objet": "formation",
        "departement": "45",
        "dispositif": dispositif.pk,
        "gestionnaire": "moi",
        "structure": "Organisme",
        "tri": "anciennes",
    }

    def make(n):
        for _ in range(n):
            change = submitted(in_departement("45000", "Orléans"))
            backoffice.assign_to_self(change, staff_client.staff)

    make(2)
    with CaptureQueriesContext(connection) as few:
        response = staff_client.get(url, params)
    assert len(rows(response)) == 2
    make(10)
    with django_assert_num_queries(len(few.captured_queries)):
        response = staff_client.get(url, params)
    assert len(rows(response)) == 12
    with django_assert_num_queries(QUEUE_QUERIES):
        staff_client.get(url, params)
    # without filters too
    with CaptureQueriesContext(connection) as plain:
        staff_client.get(url)
    make(3)
    with django_assert_num_queries(len(plain.captured_queries)):
        staff_client.get(url)


# session, user, dispositif choices, gestionnaire choices, paginator count, rows, late count.
QUEUE_QUERIES = 7


def test_g2_assignment_to_oneself_from_the_queue(staff_client):
    change = submitted()
    next_url = reverse("workflow:queue") + "?objet=formation"
    response = staff_client.post(reverse("workflow:assign", args=[change.pk]), {"next": next_url})
    assert response.status_code == 302 and response.url == next_url
    change.refresh_from_db()
    assert change.assigned_to == staff_client.staff
    page = staff_client.get(reverse("workflow:review", args=[change.pk])).content.decode()
    assert "Ne plus suivre cette demande" in page and f"Demande attribuée à {staff_client.staff}" in page
    # an external « next » is ignored
    response = staff_client.post(
        reverse("workflow:assign", args=[change.pk]), {"action": "release", "next": "https://evil.example.org/"}
    )
    assert response.url == reverse("workflow:review", args=[change.pk])
    change.refresh_from_db()
    assert change.assigned_to is None


def test_g2_htmx_filters_return_only_the_results(staff_client):
    submitted()
    response = staff_client.get(reverse("workflow:queue"), {"objet": "formation"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="queue-results">') and "<html" not in page

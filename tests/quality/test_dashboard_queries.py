"""The quality dashboard (Q4) at scale: a fixed number of queries whatever the rows, and the
rewritten session queries agreeing with the published offer's definition."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ofeli.formations import models as fm
from ofeli.formations.queries import published_sessions
from ofeli.quality.checks import BY_SLUG, CHECKS, counters, live_sessions
from ofeli.quality.watch import watch
from ofeli.referentials.enums import CertificationState
from ofeli.referentials.models import StructureState
from ofeli.structures.models import Lieu
from tests.exports.builders import publish
from tests.factories import CertificationFactory, ContactFactory, StaffFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db


def add_problems(n):
    """``n`` more rows of every kind the dashboard counts."""
    for i in range(n):
        draft = draft_formation(intitule=f"Formation terminée {i}", sessions=2)
        mute = ContactFactory(structure=draft.structure, nom=f"Muet {i}", email="", telephone="")
        sv = draft.formation_version.sessions.first()
        fm.SessionContact.objects.create(session_version=sv, contact=mute, type_contact="3")
        ended = publish(draft)
        fm.SessionVersion.objects.filter(formation_version=ended.live_version).update(
            date_debut=datetime.date(2025, 1, 5), date_fin=timezone.localdate() - datetime.timedelta(days=40)
        )
        ended.link_error = "404 Not Found"
        ended.save(update_fields=["link_error"])
        Lieu.objects.filter(structure=ended.structure).update(latitude=None, longitude=None)
        inactive = CertificationFactory(
            code_certifinfo=f"9{i:04d}", code_rncp=f"9{i:04d}", etat=CertificationState.INACTIVE
        )
        published_formation(certification=inactive)
    watch()


def dashboard_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/ofeli/carif/qualite/")
    assert response.status_code == 200
    return len(queries)


def test_q4_dashboard_queries_do_not_grow_with_rows(client):
    client.force_login(StaffFactory())
    add_problems(1)
    client.get("/ofeli/carif/qualite/")  # session, caches
    few = dashboard_queries(client)
    counts_few = counters()
    add_problems(3)
    many = dashboard_queries(client)
    counts_many = counters()
    assert few == many
    assert few <= len(CHECKS) + 8
    # the added rows were counted (the queries did not stay fixed by counting nothing)
    for slug in ("sessions-terminees", "liens-formations", "lieux", "contacts", "certifications"):
        assert counts_many[slug] > counts_few[slug], slug
    # and each counter agrees with its list
    for check in CHECKS:
        assert check.rows().count() == counts_many[check.slug], check.slug


def test_q4_live_sessions_are_the_published_sessions():
    """``checks.live_sessions`` (written for the index) holds exactly ``published_sessions``."""
    kept = published_formation(sessions=2)
    archived_session = published_formation()
    fm.Session.objects.filter(formation=archived_session).update(archived_at=timezone.now())
    archived_formation = published_formation()
    fm.Formation.objects.filter(pk=archived_formation.pk).update(archived_at=timezone.now())
    hidden = published_formation()
    state, _ = StructureState.objects.get_or_create(
        code="NDI", defaults={"libelle": "Non diffusée", "is_diffused": False}
    )
    type(hidden.structure).objects.filter(pk=hidden.structure_id).update(etat=state)
    draft_formation()  # never published
    changed = published_formation()
    from ofeli.workflow import services

    services.start_formation_change(changed, changed.structure.memberships.first().user)  # a draft copy
    expected = set(published_sessions().values_list("pk", flat=True))
    assert set(live_sessions().values_list("pk", flat=True)) == expected
    assert len(expected) == 3  # kept (2) and changed (its live version only)
    assert set(kept.live_version.sessions.values_list("pk", flat=True)) <= expected


def test_q4_formations_without_open_session_on_both_sides_of_today():
    today = timezone.localdate()
    over = published_formation(intitule="Terminée hier")
    fm.SessionVersion.objects.filter(formation_version=over.live_version).update(
        date_debut=today - datetime.timedelta(days=60), date_fin=today - datetime.timedelta(days=1)
    )
    last_day = published_formation(intitule="Se termine aujourd'hui")
    fm.SessionVersion.objects.filter(formation_version=last_day.live_version).update(
        date_debut=today - datetime.timedelta(days=60), date_fin=today
    )
    archived = published_formation(intitule="Seule session ouverte archivée")
    fm.Session.objects.filter(formation=archived).update(archived_at=timezone.now())
    listed = set(BY_SLUG["formations-sans-session"].rows().values_list("reference", flat=True))
    assert over.reference in listed and archived.reference in listed
    assert last_day.reference not in listed
    assert counters()["formations-sans-session"] == len(listed)

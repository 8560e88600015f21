"""E6, F2, F13: « Dupliquer » asks the dates of the new session and moves every other date
of the session (registration period, dated recruitment slots) by the same offset; a session
whose registration or recruitment dates are past or outside it is flagged at save, refused
at submission with a link to the field, and shown to the Carif reviewer."""

import datetime

import pytest
from django.urls import reverse

from ofeli.formations.models import RecruitmentSlot
from ofeli.formations.rules import formation_problems, stale_dates_problems
from ofeli.workflow import services
from tests.factories import StaffFactory, draft_formation

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def upcoming_session(change, start=None):
    """The draft's session, moved to start in two months, with a registration period and a
    dated information meeting of its own."""
    start = start or TODAY + datetime.timedelta(days=60)
    sv = change.formation_version.sessions.get()
    sv.date_debut, sv.date_fin = start, start + datetime.timedelta(days=200)
    sv.debut_inscription = start - datetime.timedelta(days=50)
    sv.fin_inscription = start - datetime.timedelta(days=5)
    sv.save()
    RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="9",
        date=start - datetime.timedelta(days=20),
        heure_debut=datetime.time(10),
        heure_fin=datetime.time(11),
        nb_places=10,
        structure=change.formation.structure,
    )
    return sv


def test_e6_f2_duplicate_moves_registration_and_recruitment_dates_by_the_same_offset():
    change = draft_formation()
    sv = upcoming_session(change)
    start = sv.date_debut.replace(year=sv.date_debut.year + 1) if sv.date_debut.month != 2 else sv.date_debut
    offset = start - sv.date_debut
    copy = services.duplicate_session(change, sv, change.created_by, date_debut=start, date_fin=sv.date_fin + offset)
    copy.refresh_from_db()
    assert copy.session.reference != sv.session.reference
    assert (copy.date_debut, copy.date_fin) == (start, sv.date_fin + offset)
    assert copy.debut_inscription == sv.debut_inscription + offset
    assert copy.fin_inscription == sv.fin_inscription + offset
    assert [s.date for s in copy.recruitment_slots.exclude(date=None)] == [
        s.date + offset for s in sv.recruitment_slots.exclude(date=None)
    ]
    assert copy.recruitment_slots.filter(date=None).count() == 1  # the undated modality stays undated
    # the original keeps its own dates
    sv.refresh_from_db()
    assert sv.date_debut + offset == start
    assert stale_dates_problems(copy) == []


def test_e6_f2_duplicate_page_asks_the_dates_then_shifts_everything(client):
    change = draft_formation()
    sv = upcoming_session(change)
    client.force_login(change.created_by)
    url = reverse("formations:duplicate_session", args=[change.formation.reference, sv.session.reference])
    page = client.get(url).content.decode()
    next_year = sv.date_debut.replace(year=sv.date_debut.year + 1) if sv.date_debut.month != 2 else None
    if next_year:
        assert f'value="{next_year:%Y-%m-%d}"' in page  # next year's dates by default
    # a refused date: the message is on the field, nothing is copied
    response = client.post(url, {"date_debut": "2028-09-01", "date_fin": "2028-01-01"})
    assert response.status_code == 200
    assert "La date de fin doit être postérieure" in response.content.decode()
    assert 'id="form-errors"' in response.content.decode()
    assert change.formation_version.sessions.count() == 1
    start = sv.date_debut + datetime.timedelta(days=364)
    response = client.post(
        url, {"date_debut": f"{start:%Y-%m-%d}", "date_fin": f"{start + datetime.timedelta(days=200):%Y-%m-%d}"}
    )
    assert response.status_code == 302
    copy = change.formation_version.sessions.exclude(pk=sv.pk).get()
    assert response.url == reverse("formations:session", args=[change.formation.reference, copy.session.reference])
    assert copy.fin_inscription == sv.fin_inscription + datetime.timedelta(days=364)
    assert copy.recruitment_slots.exclude(date=None).get().date == sv.recruitment_slots.exclude(
        date=None
    ).get().date + datetime.timedelta(days=364)


def test_e6_f13_session_keeping_last_years_registration_is_flagged_refused_and_shown_to_the_carif(client):
    change = draft_formation()
    sv = upcoming_session(change)
    # the session dates moved by a year, the others not (the defect of issue 10)
    sv.date_debut += datetime.timedelta(days=365)
    sv.date_fin += datetime.timedelta(days=365)
    sv.save()
    fields = {field for field, _ in stale_dates_problems(sv)}
    assert fields == {"debut_inscription", "fin_inscription", "recruitment_slots"}
    # flagged on the session page, with links to the fields
    client.force_login(change.created_by)
    session_url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    html = client.get(session_url).content.decode()
    assert 'id="date-warnings"' in html and 'href="#id_s-fin_inscription"' in html
    # refused at submission, each problem linked to its field
    problems = [p for p in formation_problems(change.formation_version) if p.target == sv.session.reference]
    sections = {p.section for p in problems}
    assert {"id_s-debut_inscription", "id_s-fin_inscription", "recruitment_slots"} <= sections
    with pytest.raises(services.SubmissionBlocked):
        services.submit(change, change.created_by)
    response = client.post(
        reverse("formations:detail", args=[change.formation.reference]),
        {"f-intitule": change.formation_version.intitule, "action": "submit"},
    )
    html = response.content.decode()
    assert "La demande n'est pas envoyée" in html
    assert f"{session_url}#id_s-fin_inscription" in html
    # shown to the Carif reviewer of a submitted request (here submitted as it was before the rule)
    change.refresh_from_db()
    change.status = "submitted"
    change.submitted_at = change.updated_at
    change.save()
    client.force_login(StaffFactory())
    html = client.get(reverse("workflow:review", args=[change.pk])).content.decode()
    assert 'id="date-alerts"' in html and f"{session_url}#id_s-fin_inscription" in html


def test_f13_past_registration_of_an_upcoming_session_is_flagged_not_of_a_running_one():
    change = draft_formation()
    sv = upcoming_session(change)
    sv.fin_inscription = TODAY - datetime.timedelta(days=3)
    sv.debut_inscription = TODAY - datetime.timedelta(days=30)
    sv.save()
    assert [f for f, _ in stale_dates_problems(sv)] == ["fin_inscription"]
    sv.date_debut = TODAY - datetime.timedelta(days=1)  # the session runs: a closed registration is normal
    assert stale_dates_problems(sv) == []


def test_f13_registration_ending_after_the_session_is_flagged():
    change = draft_formation()
    sv = upcoming_session(change)
    sv.fin_inscription = sv.date_fin + datetime.timedelta(days=1)
    assert [f for f, _ in stale_dates_problems(sv)] == ["fin_inscription"]


def test_f2_session_saved_with_stale_dates_gets_a_warning(client):
    change = draft_formation()
    sv = upcoming_session(change)
    client.force_login(change.created_by)
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    data = {
        "s-date_debut": f"{sv.date_debut + datetime.timedelta(days=365):%Y-%m-%d}",
        "s-date_fin": f"{sv.date_fin + datetime.timedelta(days=365):%Y-%m-%d}",
        "s-kind": sv.kind,
        "s-modalite_enseignement": sv.modalite_enseignement,
        "s-duree_centre": "400",
        "s-duree_entreprise": "200",
        "s-debut_inscription": f"{sv.debut_inscription:%Y-%m-%d}",
        "s-fin_inscription": f"{sv.fin_inscription:%Y-%m-%d}",
        "action": "save",
    }
    from ofeli.workflow import revisions

    data["draft_revision"] = revisions.current_token(change, revisions.session_scope(sv))
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "Session sauvegardée dans le brouillon" in html
    assert "plus d&#x27;un an avant le début de la session" in html or "plus d'un an avant le début" in html


def test_f2_session_dates_carry_the_required_marker(client):
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    client.force_login(change.created_by)
    html = client.get(reverse("formations:session", args=[change.formation.reference, sv.session.reference])).content
    html = html.decode()
    import re

    for name, label in (("date_debut", "Date de début"), ("date_fin", "Date de fin")):
        match = re.search(rf'<label[^>]*for="id_s-{name}"[^>]*>\s*{label} \*', html)
        assert match, f"{label} has no « * »"

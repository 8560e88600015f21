"""Offer quality: certification watch (Q1) and the Carif's quality dashboard (Q4)."""

import datetime
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from ofeli.formations import models as fm
from ofeli.messaging.models import Message
from ofeli.quality.checks import BY_SLUG, CHECKS, counters
from ofeli.quality.models import CertificationFlag
from ofeli.quality.watch import watch
from ofeli.referentials.enums import CertificationState
from ofeli.structures.models import Lieu
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from tests.exports.builders import publish
from tests.factories import (
    BlocFactory,
    CertificationFactory,
    ContactFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db
FRANCE_COMPETENCES = Path(__file__).resolve().parent.parent / "backoffice" / "fixtures" / "france_competences.xml"
SESSION_END = datetime.date(2027, 6, 30)  # tests.factories.draft_formation


def flags():
    return set(CertificationFlag.objects.filter(resolved_at__isnull=True).values_list("session__reference", "reason"))


def test_q1_watch_flags_on_both_sides_of_the_registration_end_and_resolves():
    ends_before = CertificationFactory(
        code_certifinfo="1001", code_rncp="1001", date_fin_enregistrement=SESSION_END - datetime.timedelta(days=1)
    )
    ends_same_day = CertificationFactory(code_certifinfo="1002", code_rncp="1002", date_fin_enregistrement=SESSION_END)
    inactive = CertificationFactory(code_certifinfo="1003", code_rncp="1003", etat=CertificationState.INACTIVE)
    a = published_formation(certification=ends_before)
    b = published_formation(certification=ends_same_day)
    c = published_formation(certification=inactive)
    assert watch() == (2, 0)
    assert flags() == {(a.sessions.get().reference, "ends_before"), (c.sessions.get().reference, "inactive")}
    assert b.sessions.get().reference not in {ref for ref, _ in flags()}
    assert watch() == (0, 0)  # one open flag per session and reason
    inactive.etat = CertificationState.PUBLISHED
    inactive.save()
    assert watch() == (0, 1)
    assert flags() == {(a.sessions.get().reference, "ends_before")}


def test_q1_ended_sessions_and_drafts_are_not_flagged():
    inactive = CertificationFactory(code_certifinfo="1004", code_rncp="1004", etat=CertificationState.INACTIVE)
    formation = published_formation(certification=inactive)
    fm.SessionVersion.objects.filter(formation_version=formation.live_version).update(
        date_debut=datetime.date(2025, 1, 5), date_fin=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert watch() == (0, 0)


def test_q1_nightly_imports_the_dropped_file_then_flags_with_the_successor(settings, tmp_path, client):
    settings.CERTIFICATIONS_INBOX = tmp_path / "certifications"
    settings.CERTIFICATIONS_INBOX.mkdir()
    old = CertificationFactory(
        code_certifinfo="102925",
        intitule="Titre professionnel gestionnaire comptable et fiscal",
        code_rncp="31677",
        date_fin_enregistrement=None,
    )
    formation = published_formation(certification=old)
    shutil.copy(FRANCE_COMPETENCES, settings.CERTIFICATIONS_INBOX / "export.xml")
    out = io.StringIO()
    call_command("watch_certifications", stdout=out)
    assert (settings.CERTIFICATIONS_INBOX / "done" / "export.xml").exists()
    old.refresh_from_db()
    assert old.etat == CertificationState.INACTIVE and old.replaced_by.code_rncp.endswith("37949")
    assert "2 nouveau(x) signalement(s)" in out.getvalue()  # inactive, and registration ended
    # the OF sees it on its dashboard and in the list, with the one-click successor
    user = formation.structure.memberships.first().user
    client.force_login(user)
    session = client.session
    session["current_structure"] = formation.structure.pk
    session.save()
    page = client.get("/ofeli/qualite/certifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert formation.sessions.get().reference in html and "Remplacer par RNCP37949" in html


def test_q1_a_refused_file_is_set_aside_and_reported(settings, tmp_path):
    settings.CERTIFICATIONS_INBOX = tmp_path / "inbox"
    settings.CERTIFICATIONS_INBOX.mkdir()
    (settings.CERTIFICATIONS_INBOX / "broken.xml").write_text("<FICHES><FICHE>", encoding="utf-8")
    with pytest.raises(CommandError, match="broken.xml"):
        call_command("watch_certifications", stdout=io.StringIO(), stderr=io.StringIO())
    assert (settings.CERTIFICATIONS_INBOX / "failed" / "broken.xml").exists()


def _successor_case():
    old = CertificationFactory(code_certifinfo="2001", code_rncp="31677", etat=CertificationState.INACTIVE)
    new = CertificationFactory(code_certifinfo="2002", code_rncp="37949", intitule="Gestionnaire comptable et fiscal")
    old.replaced_by = new
    old.save()
    old_blocs = [BlocFactory(certification=old, code=f"RNCP31677BC{n:02d}") for n in (1, 2, 3)]
    new_blocs = [BlocFactory(certification=new, code=f"RNCP37949BC{n:02d}") for n in (1, 2, 3, 4)]
    draft = draft_formation(certification=old)
    sv = draft.formation_version.sessions.get()
    row = fm.SessionBlocs.objects.create(session_version=sv, certification=old, type_validation="0")  # partielle
    row.blocs.set([old_blocs[0], old_blocs[2]])
    total = fm.SessionBlocs.objects.create(session_version=sv, certification=old, type_validation="1")
    total.blocs.set(old_blocs)
    formation = publish(draft)
    watch()
    return formation, old, new, new_blocs


def test_q1_replace_by_successor_opens_a_change_request_with_blocs_mapped(client):
    formation, old, new, new_blocs = _successor_case()
    user = formation.structure.memberships.first().user
    client.force_login(user)
    response = client.post(f"/ofeli/qualite/formations/{formation.reference}/remplacer-certification/")
    assert response.status_code == 302 and response.url.endswith(f"/formations/{formation.reference}/")
    change = formation.change_requests.get(status=ChangeStatus.DRAFT)
    assert change.formation_version.certification == new
    partial, total = fm.SessionBlocs.objects.filter(
        session_version__formation_version=change.formation_version
    ).order_by("type_validation")
    assert partial.certification == new == total.certification
    assert sorted(b.code for b in partial.blocs.all()) == ["RNCP37949BC01", "RNCP37949BC03"]  # same numbers
    assert sorted(b.code for b in total.blocs.all()) == [b.code for b in new_blocs]  # « Totale »: all of them
    formation.refresh_from_db()
    assert formation.live_version.certification == old  # published offer unchanged until the Carif accepts
    try:
        services.submit(change, user)
    except services.SubmissionBlocked as blocked:
        raise AssertionError([str(p) for p in blocked.problems]) from None
    services.accept(change, StaffFactory())
    formation.refresh_from_db()
    assert formation.live_version.certification == new
    assert watch() == (0, 1)  # the flag is resolved the next night


def test_q1_replacement_is_refused_to_another_structures_user(client):
    formation, *_ = _successor_case()
    intruder = MembershipFactory(structure=StructureFactory()).user
    client.force_login(intruder)
    response = client.post(f"/ofeli/qualite/formations/{formation.reference}/remplacer-certification/")
    assert response.status_code == 403
    assert not formation.change_requests.filter(status=ChangeStatus.DRAFT).exists()
    assert client.get(f"/ofeli/qualite/formations/{formation.reference}/remplacer-certification/").status_code == 405


def test_q1_list_of_an_of_user_shows_only_its_structures_flags(client):
    formation, *_ = _successor_case()
    other_user = MembershipFactory(structure=StructureFactory()).user
    client.force_login(other_user)
    html = client.get("/ofeli/qualite/certifications/").content.decode()
    assert formation.sessions.get().reference not in html


# --- Q4 ----------------------------------------------------------------------------------------


@pytest.fixture
def messy_offer(settings):
    """One example of each quality problem, plus clean offer that must not be listed."""
    settings.QUALITY_ENDED_DAYS = 30
    published_formation()  # clean
    draft = draft_formation(intitule="Formation au lien cassé")
    mute = ContactFactory(structure=draft.structure, email="", telephone="")
    fm.SessionContact.objects.create(
        session_version=draft.formation_version.sessions.get(), contact=mute, type_contact="3"
    )
    broken = publish(draft)
    broken.link_error = "404 Not Found"
    broken.save(update_fields=["link_error"])
    broken.structure.link_error = "Délai dépassé"
    broken.structure.save(update_fields=["link_error"])
    ended = published_formation(intitule="Formation terminée")
    fm.SessionVersion.objects.filter(formation_version=ended.live_version).update(
        date_debut=datetime.date(2025, 1, 5), date_fin=timezone.localdate() - datetime.timedelta(days=40)
    )
    lieu = Lieu.objects.filter(structure=ended.structure).first()
    Lieu.objects.filter(pk=lieu.pk).update(latitude=None, longitude=None)
    inactive = CertificationFactory(code_certifinfo="3001", code_rncp="3001", etat=CertificationState.INACTIVE)
    published_formation(certification=inactive)
    watch()
    return {"broken": broken, "ended": ended}


def test_q4_every_counter_agrees_with_its_list(messy_offer, client):
    client.force_login(StaffFactory())
    counts = counters()
    assert counts["liens-formations"] == 1 and counts["liens-structures"] == 1
    assert counts["sessions-terminees"] == 1 and counts["formations-sans-session"] == 1
    assert counts["certifications"] == 1 and counts["lieux"] == 1 and counts["contacts"] == 1
    page = client.get("/ofeli/carif/qualite/")
    assert page.status_code == 200
    for check in CHECKS:
        listing = client.get(f"/ofeli/carif/qualite/{check.slug}/")
        assert listing.status_code == 200
        assert listing.context["page_obj"].paginator.count == counts[check.slug], check.slug


def test_q4_filters_by_structure_and_departement(messy_offer, client):
    client.force_login(StaffFactory())
    ended = messy_offer["ended"]
    url = "/ofeli/carif/qualite/sessions-terminees/"
    assert client.get(url, {"q": ended.structure.nom[:6]}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"q": "aucune structure de ce nom"}).context["page_obj"].paginator.count == 0
    assert client.get(url, {"departement": "99"}).context["page_obj"].paginator.count == 0
    assert client.get(url, {"departement": "x" * 50, "page": "999999999999999999"}).status_code == 200


def test_q4_excel_export_writes_user_text_as_text(messy_offer, client):
    broken = messy_offer["broken"]
    fm.FormationVersion.objects.filter(pk=broken.live_version_id).update(
        intitule='=HYPERLINK("http://evil.example","x")'
    )
    client.force_login(StaffFactory())
    response = client.get("/ofeli/carif/qualite/liens-formations/", {"format": "xlsx"})
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert any(str(cell.value).startswith("'=HYPERLINK") for cell in cells)


def test_q4_one_action_messages_each_structure_with_its_own_rows(messy_offer, client):
    client.force_login(StaffFactory())
    response = client.post(
        "/ofeli/carif/qualite/sessions-terminees/", {"subject": "Sessions à retirer", "body": "Bonjour,"}
    )
    assert response.status_code == 302
    ended = messy_offer["ended"]
    message = Message.objects.get(subject="Sessions à retirer")
    assert message.structure == ended.structure and message.from_carif
    assert ended.sessions.get().reference in message.body


def test_q4_staff_only(messy_offer, client):
    client.force_login(messy_offer["broken"].structure.memberships.first().user)
    assert client.get("/ofeli/carif/qualite/").status_code == 403
    assert client.get("/ofeli/carif/qualite/lieux/").status_code == 403
    assert client.post("/ofeli/carif/qualite/lieux/", {"subject": "Intrusion", "body": "y"}).status_code == 403
    assert not Message.objects.filter(subject="Intrusion").exists()


def test_q4_dashboard_and_lists_use_a_fixed_number_of_queries(messy_offer, client, django_assert_max_num_queries):
    client.force_login(StaffFactory())
    client.get("/ofeli/carif/qualite/")
    with django_assert_max_num_queries(len(CHECKS) + 8):
        client.get("/ofeli/carif/qualite/")
    for _ in range(3):
        published_formation().structure.__class__.objects.update(link_error="Erreur")
    with django_assert_max_num_queries(12):
        client.get(f"/ofeli/carif/qualite/{BY_SLUG['liens-structures'].slug}/")


def test_q1_q4_staff_dashboard_shows_the_quality_counters(messy_offer, client):
    client.force_login(StaffFactory())
    html = client.get("/ofeli/").content.decode()
    assert "Demandes au-delà de 48 h ouvrées" in html and "Sessions sur une certification à vérifier" in html


def test_q1_e2_certification_search_shows_state_end_date_and_successor(client):
    old = CertificationFactory(
        code_certifinfo="2101",
        code_rncp="31677",
        intitule="Gestionnaire comptable et fiscal (ancienne fiche)",
        etat=CertificationState.INACTIVE,
        date_fin_enregistrement=datetime.date(2023, 12, 1),
    )
    old.replaced_by = CertificationFactory(
        code_certifinfo="2102", code_rncp="37949", intitule="Gestionnaire comptable et fiscal"
    )
    old.save()
    client.force_login(MembershipFactory().user)
    html = client.get("/ofeli/formations/certifications/", {"q": "31677", "toutes": "1"}).content.decode()
    assert "01/12/2023" in html and "Inactives" in html
    assert "Remplacée par RNCP37949 — Gestionnaire comptable et fiscal" in html

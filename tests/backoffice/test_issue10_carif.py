"""Issue 10, « Carif side »: assignment logged as an assignment and a correction confirmed as
a correction (G2); Carif messages mailed through the outbox, a mail that cannot be sent
listed for staff (I1, R4); a message's attachment downloaded under its original name (I1);
archiving asks for confirmation (G4); the staff dashboard counts the requests past the 48
working hours (G2); the « Dispositif » filters run a fixed number of queries (G2, I1)."""

import datetime
import html
import logging
import re
import socket
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ofeli.backoffice import queries
from ofeli.backoffice import services as backoffice
from ofeli.formations.models import Financement
from ofeli.mails.models import MailKind, MailStatus, OutgoingMail
from ofeli.messaging.models import Message, safe_file_name
from ofeli.structures.models import Structure
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry
from tests.factories import (
    DispositifFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)
from tests.workflow.pages import page_data, text

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% test\n"


def submitted_change(structure=None):
    change = draft_formation(structure)
    services.submit(change, change.created_by)
    change.refresh_from_db()
    return change


# --- G2: assignment and correction in the history ------------------------------------------


def test_g2_assigning_a_request_is_logged_as_an_assignment_not_a_modification(staff_client, staff):
    change = submitted_change()
    review = reverse("workflow:review", args=[change.pk])
    response = staff_client.post(reverse("workflow:assign", args=[change.pk]), follow=True)
    assert f"Demande n°{change.pk} attribuée à vous-même." in text(response)
    other = StaffFactory(first_name="Claire", last_name="HOUIX")
    backoffice.assign_to_self(ChangeRequest.objects.get(pk=change.pk), other)
    backoffice.release(ChangeRequest.objects.get(pk=change.pk), other)
    entries = list(HistoryEntry.objects.filter(change_request=change, action=HistoryAction.ASSIGNED).order_by("pk"))
    assert [(e.author, e.details) for e in entries] == [
        (staff, f"Demande attribuée à {staff}"),
        (other, f"Demande attribuée à {other} (auparavant {staff})"),
        (other, "Attribution retirée"),
    ]
    assert not HistoryEntry.objects.filter(action=HistoryAction.STAFF_EDIT).exists()
    page = text(staff_client.get(review))
    assert f"Attribution — Demande attribuée à {staff}" in page and "Attribution — Attribution retirée" in page
    assert "Modification par le Carif" not in page
    # internal to the Carif: not in the history the OF user reads
    assert not change.formation.history.filter(action=HistoryAction.ASSIGNED).exists()


def test_g2_release_by_someone_else_is_refused_and_logs_nothing(staff_client, staff):
    change = submitted_change()
    backoffice.assign_to_self(change, StaffFactory())
    response = staff_client.post(reverse("workflow:assign", args=[change.pk]), {"action": "release"}, follow=True)
    assert "Cette demande ne vous est pas attribuée." in text(response)
    assert HistoryEntry.objects.filter(change_request=change, action=HistoryAction.ASSIGNED).count() == 1


def test_g2_a_staff_correction_of_the_formation_page_is_confirmed_and_logged_as_a_correction(staff_client, staff):
    change = submitted_change()
    url = reverse("formations:detail", args=[change.formation.reference])
    page = staff_client.get(url)
    response = staff_client.post(
        url, page_data(page, **{"f-objectif": "Objectif corrigé.", "action": "save"}), follow=True
    )
    assert services.CORRECTION_SAVED in text(response)
    assert "Brouillon sauvegardé." not in text(response)
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED and change.formation_version.objectif == "Objectif corrigé."
    entry = change.history.get(author=staff)
    assert entry.action == HistoryAction.STAFF_CORRECTION and entry.get_action_display() == "Correction par le Carif"
    assert entry.formation == change.formation  # in the formation's history, seen by the OF user (C9)
    of_client = staff_client
    of_client.force_login(change.created_by)
    assert "Correction par le Carif" in text(of_client.get(url))


def test_g2_a_staff_correction_of_a_session_page_is_confirmed_as_a_correction(staff_client, staff):
    change = submitted_change()
    sv = change.formation_version.sessions.get()
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    page = staff_client.get(url)
    response = staff_client.post(
        url, page_data(page, **{"s-prerequis": "Savoir lire et écrire.", "action": "save"}), follow=True
    )
    assert services.CORRECTION_SAVED in text(response)
    assert "Session sauvegardée dans le brouillon." not in text(response)
    assert change.history.get(author=staff).action == HistoryAction.STAFF_CORRECTION


def test_g2_a_staff_correction_of_a_structure_record_is_confirmed_as_a_correction(staff_client, staff):
    from tests.structures.test_record import fields_of

    member = MembershipFactory()
    change = services.start_structure_change(member.structure, member.user)
    services.submit(change, member.user)
    url = reverse("structures:detail", args=[member.structure.reference])
    response = staff_client.post(
        url, fields_of(change.structure_version, complement="Bâtiment B", action="save"), follow=True
    )
    assert services.CORRECTION_SAVED in text(response)
    entry = member.structure.history.get(author=staff)
    assert entry.action == HistoryAction.STAFF_CORRECTION and entry.change_request == change


def test_g2_the_of_user_saving_a_draft_still_reads_brouillon_sauvegarde(client):
    change = draft_formation()
    client.force_login(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    response = client.post(url, page_data(client.get(url), action="save"), follow=True)
    assert "Brouillon sauvegardé." in text(response) and services.CORRECTION_SAVED not in text(response)
    assert not change.history.filter(action=HistoryAction.STAFF_CORRECTION).exists()


# --- I1, R4: Carif messages by e-mail; unsent mails listed ------------------------------------


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_i1_r4_a_message_mail_that_cannot_be_sent_is_logged_and_listed_for_staff(
    staff_client, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.MAIL_MAX_ATTEMPTS = 1
    structure = StructureFactory(nom="Organisme du Cher")
    member = MembershipFactory(structure=structure).user
    caplog.set_level(logging.WARNING, logger="ofeli.mails.outbox")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("backoffice:thread", args=[structure.reference]),
            {"subject": "Pièces manquantes", "body": "Merci d'envoyer votre NDA."},
        )
    assert response.status_code == 302  # the message is sent even if the mail is not
    assert Message.objects.filter(structure=structure, subject="Pièces manquantes").exists()
    mail = OutgoingMail.objects.get(kind=MailKind.MESSAGE)
    assert mail.to == member.email and mail.status == MailStatus.FAILED and mail.last_error
    logged = [r.getMessage() for r in caplog.records if r.name == "ofeli.mails.outbox"]
    assert len(logged) == 1 and f"Mail n°{mail.pk}" in logged[0] and "Mails non envoyés" in logged[0]
    page = staff_client.get(reverse("mails:unsent")).content.decode()
    assert member.email in page and "Message de l&#x27;équipe OFeli : Pièces manquantes" in page
    # the line leads to the structure's thread
    assert f'href="{reverse("backoffice:thread", args=[structure.reference])}"' in page
    assert re.search(
        r'<span class="app-counter">1</span><br>Mails non envoyés', staff_client.get("/ofeli/").content.decode()
    )


def test_i1_r4_a_broadcast_mail_links_to_each_structure_thread_with_an_absolute_url(
    staff_client, django_capture_on_commit_callbacks, mailoutbox
):
    structures = [StructureFactory(nom=f"Organisme {n}") for n in range(2)]
    for structure in structures:
        MembershipFactory(structure=structure)
    refs = " ".join(s.reference for s in structures)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("backoffice:broadcast") + f"?references={quote(refs)}",
            {"subject": "Campagne 2027", "body": "Mettez à jour vos sessions."},
        )
    assert response.status_code == 302 and len(mailoutbox) == 2
    for sent in mailoutbox:
        structure = Structure.objects.get(memberships__user__email=sent.to[0])
        link = f"http://127.0.0.1:8000{reverse('messaging:inbox')}?structure={structure.reference}"
        assert link + "\n" in sent.body  # the thread itself, not the site root


# --- I1: attachments keep their original name -----------------------------------------------


def disposition(response):
    return response["Content-Disposition"]


def test_i1_broadcast_attachment_is_downloaded_under_its_original_name(staff_client, client):
    structure = StructureFactory()
    member = MembershipFactory(structure=structure).user
    name = "Convocation réunion (mars) d'été.pdf"
    response = staff_client.post(
        reverse("backoffice:broadcast") + f"?references={structure.reference}",
        {"subject": "Réunion", "body": "Convocation jointe.", "attachment": SimpleUploadedFile(name, PDF)},
    )
    assert response.status_code == 302
    message = Message.objects.get(structure=structure)
    stored = message.attachment.name
    assert message.attachment_name == name
    assert stored.startswith("messages/diffusion/") and stored.endswith("/convocation-reunion-mars-dete.pdf")
    assert stored.isascii() and " " not in stored and "(" not in stored and "'" not in stored
    client.force_login(member)
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert html.escape(name) in inbox  # the link names the file
    download = client.get(reverse("messaging:attachment", args=[message.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    # RFC 5987 / 6266: the UTF-8 name, percent-encoded
    assert disposition(download) == f"attachment; filename*=utf-8''{quote(name)}"
    # the Carif downloads it under the same name
    assert disposition(staff_client.get(reverse("messaging:attachment", args=[message.pk]))) == disposition(download)


def test_i1_a_thread_attachment_with_an_ascii_name_keeps_it_too(staff_client, client):
    structure = StructureFactory()
    member = MembershipFactory(structure=structure).user
    response = staff_client.post(
        reverse("backoffice:thread", args=[structure.reference]),
        {"subject": "Avis", "body": "Ci-joint.", "attachment": SimpleUploadedFile('Avis "final" 2026.PDF', PDF)},
    )
    assert response.status_code == 302
    message = Message.objects.get(structure=structure)
    assert message.attachment.name.endswith("/avis-final-2026.pdf")
    client.force_login(member)
    download = client.get(reverse("messaging:attachment", args=[message.pk]))
    assert disposition(download) == 'attachment; filename="Avis \\"final\\" 2026.PDF"'


def test_i1_an_of_users_attachment_keeps_its_name_for_the_carif(client, staff_client):
    member = MembershipFactory()
    client.force_login(member.user)
    client.post(
        reverse("messaging:inbox"),
        {"subject": "Attestation", "body": "Voici.", "attachment": SimpleUploadedFile("Qualiopi élève.pdf", PDF)},
    )
    message = Message.objects.get(subject="Attestation")
    assert message.attachment_name == "Qualiopi élève.pdf"
    download = staff_client.get(reverse("messaging:attachment", args=[message.pk]))
    assert disposition(download) == "attachment; filename*=utf-8''" + quote("Qualiopi élève.pdf")


def test_i1_safe_file_name():
    assert safe_file_name("Compte rendu (réunion).PDF") == "compte-rendu-reunion.pdf"
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("ééé.docx") == "eee.docx"
    assert safe_file_name("«».pdf") == "piece-jointe.pdf"


# --- G4: archiving asks for confirmation ---------------------------------------------------------


def test_g4_every_archive_button_of_the_staff_formation_page_asks_for_confirmation(staff_client):
    formation = published_formation()
    session = formation.live_version.sessions.get().session
    page = staff_client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    buttons = re.findall(r'<button[^>]*value="archive"[^>]*>', page)
    assert len(buttons) == 2  # the formation and its session
    assert all("data-confirm=" in button for button in buttons)
    assert f"Archiver la formation {formation.reference} ?" in html.unescape(page)
    assert f"Archiver la session {session.reference} ?" in html.unescape(page)


# --- G2: the staff dashboard counts the late requests ----------------------------------------------


def test_g2_staff_dashboard_shows_the_number_of_requests_past_48_working_hours(staff_client):
    late = [submitted_change() for _ in range(2)]
    submitted_change()  # on time
    ChangeRequest.objects.filter(pk__in=[c.pk for c in late]).update(
        submitted_at=timezone.now() - datetime.timedelta(days=10)
    )
    response = staff_client.get(reverse("dashboard"))
    assert response.context["carif"]["hors_delai"] == 2 == queries.late_count(timezone.now())
    assert re.search(
        r'<span class="app-counter">2</span><br>Demandes au-delà de 48 h ouvrées', response.content.decode()
    )


# --- G2, I1: the « Dispositif » filters -------------------------------------------------------------


@pytest.fixture
def offer_with_dispositif():
    """A dispositif and a function publishing formations with a financement of it (or of
    another one); every formation also has the factory's CPR02 financement."""
    dispositif = DispositifFactory(code="AFC02", libelle="Action de formation conventionnée")
    other = DispositifFactory(code="POE01", libelle="Préparation opérationnelle à l'emploi")

    def add(count, *, with_dispositif=True):
        made = []
        for _ in range(count):
            change = draft_formation()
            Financement.objects.create(
                session_version=change.formation_version.sessions.get(),
                dispositif=dispositif if with_dispositif else other,
                financeur=dispositif.financeur,
                nb_places=3,
            )
            services.submit(change, change.created_by)
            services.accept(change, StaffFactory())
            change.formation.refresh_from_db()
            made.append(change.formation)
        return made

    return dispositif, add


def test_g2_i1_dispositif_filters_select_the_published_offer_of_that_dispositif(staff_client, offer_with_dispositif):
    dispositif, add = offer_with_dispositif
    (with_it,) = add(1)
    (without,) = add(1, with_dispositif=False)
    # in a draft only: counts for the queue (the draft's financements), not for the structures
    draft = services.start_formation_change(without, without.created_by)
    Financement.objects.create(
        session_version=draft.formation_version.sessions.get(),
        dispositif=dispositif,
        financeur=dispositif.financeur,
    )
    services.submit(draft, without.created_by)
    structures = staff_client.get(reverse("backoffice:structures"), {"dispositif": dispositif.pk})
    assert [s.pk for s in structures.context["page_obj"]] == [with_it.structure_id]
    assert staff_client.get(reverse("backoffice:broadcast"), {"dispositif": dispositif.pk}).context["count"] == 1
    queue = staff_client.get(reverse("workflow:queue"), {"dispositif": dispositif.pk})
    assert [c.pk for c in queue.context["page_obj"]] == [draft.pk]
    accepted = staff_client.get(reverse("workflow:queue"), {"etat": "accepted", "dispositif": dispositif.pk})
    assert [c.formation_id for c in accepted.context["page_obj"]] == [with_it.pk]


def queries_of(client, url, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("workflow:queue", {"etat": "accepted"}),
        ("backoffice:structures", {}),
        ("backoffice:broadcast", {}),
    ],
)
def test_g2_i1_dispositif_filters_run_a_fixed_number_of_queries(staff_client, offer_with_dispositif, name, extra):
    """The same number of queries for 2 and for 6 matching rows (G2 queue, I1 structures and
    recipients of a message), the filter being one subquery of the list's query."""
    dispositif, add = offer_with_dispositif
    url, params = reverse(name), {"dispositif": dispositif.pk, **extra}
    add(2)
    add(1, with_dispositif=False)
    few, response = queries_of(staff_client, url, params)
    found = (
        response.context["count"] if name == "backoffice:broadcast" else response.context["page_obj"].paginator.count
    )
    assert found == 2
    add(4)
    many, response = queries_of(staff_client, url, params)
    found = (
        response.context["count"] if name == "backoffice:broadcast" else response.context["page_obj"].paginator.count
    )
    assert found == 6 and many == few


def test_g2_i1_dispositif_filter_is_one_uncorrelated_subquery(offer_with_dispositif):
    """The filter reads the financements of the dispositif once (IN on a subquery that does
    not refer to the outer row), not once per row (a correlated EXISTS: 21 s on 20,000
    sessions with SQLite, docs/benchmarks.md)."""
    dispositif, add = offer_with_dispositif
    add(1)
    for qs in (
        queries.queue({"etat": "accepted", "dispositif": dispositif.pk}, None, timezone.now()),
        queries.structures({"dispositif": dispositif}),
    ):
        sql = str(qs.query).upper()
        assert " IN (SELECT" in sql and "EXISTS" not in sql, sql

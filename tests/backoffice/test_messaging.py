"""I1: messagerie between a structure's users and the Carif — threads per structure, unread
counts on both sides, attachments, one message to every structure of a list or a filter;
G3: decisions reach the OF user in the messagerie."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ofeli.messaging.models import Message
from ofeli.structures.models import StructureVersion
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.models import HistoryEntry
from tests.factories import MembershipFactory, StructureFactory, StructureStateFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% test\n"


def test_i1_thread_with_unread_counts_on_both_sides(client, staff, of_member):
    structure = of_member.structure
    # The OF user writes to the Carif.
    client.force_login(of_member.user)
    response = client.post(
        reverse("messaging:inbox"), {"subject": "Anomalie SIRET", "body": "Notre SIRET a changé.", "attachment": ""}
    )
    assert response.status_code == 302
    # The Carif sees one unread message in the thread list.
    client.force_login(staff)
    threads = client.get(reverse("backoffice:threads"))
    (row,) = threads.context["page_obj"]
    assert (row.reference, row.unread_by_carif, row.unread_by_of) == (structure.reference, 1, 0)
    assert threads.context["unread_total"] == 1
    assert client.get(reverse("backoffice:threads"), {"non_lus": "1"}).context["page_obj"].paginator.count == 1
    # Opening the thread marks it read and shows it.
    thread_url = reverse("backoffice:thread", args=[structure.reference])
    page = client.get(thread_url)
    assert "Notre SIRET a changé." in page.content.decode()
    assert Message.objects.get(subject="Anomalie SIRET").read_at is not None
    # The Carif answers with an attachment.
    response = client.post(
        thread_url,
        {
            "subject": "Re: Anomalie SIRET",
            "body": "Merci, c'est corrigé.",
            "attachment": SimpleUploadedFile("avis.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302
    answer = Message.objects.get(subject="Re: Anomalie SIRET")
    assert answer.from_carif and answer.author == staff and answer.attachment
    assert HistoryEntry.objects.get(author=staff).details == (
        f"Message « Re: Anomalie SIRET » envoyé à {structure} (avec pièce jointe)"
    )
    (row,) = client.get(reverse("backoffice:threads")).context["page_obj"]
    assert (row.unread_by_carif, row.unread_by_of) == (0, 1)
    # The OF user sees the unread count on the dashboard, then reads it with the attachment.
    client.force_login(of_member.user)
    assert client.get(reverse("dashboard")).context["unread"] == 1
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert "est corrigé." in inbox and "Nouveau" in inbox
    assert client.get(reverse("dashboard")).context["unread"] == 0
    download = client.get(reverse("messaging:attachment", args=[answer.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    # another OF user cannot download it
    client.force_login(MembershipFactory().user)
    assert client.get(reverse("messaging:attachment", args=[answer.pk])).status_code == 404


def test_i1_wrong_attachment_is_refused_on_its_field(staff_client):
    structure = StructureFactory()
    response = staff_client.post(
        reverse("backoffice:thread", args=[structure.reference]),
        {"subject": "Test", "body": "Test", "attachment": SimpleUploadedFile("virus.exe", b"MZ...")},
    )
    assert response.status_code == 200
    assert "Ce type de fichier n'est pas accepté" in " ".join(response.context["form"].errors["attachment"])
    assert not Message.objects.exists()


def test_i1_staff_inbox_link_leads_to_the_carif_messagerie(staff_client):
    response = staff_client.get(reverse("messaging:inbox"))
    assert response.status_code == 302 and response.url == reverse("backoffice:threads")


def test_i1_message_every_structure_of_a_filter(staff_client, staff):
    diffused = StructureStateFactory()
    loiret = [StructureFactory(etat=diffused) for _ in range(3)]
    cher = StructureFactory(etat=diffused)
    StructureVersion.objects.filter(pk=cher.live_version_id).update(code_postal="18000")
    url = reverse("backoffice:broadcast")
    preview = staff_client.get(url, {"departement": "45"})
    assert preview.context["count"] == 3
    assert "<strong>3</strong> structures recevront ce message" in preview.content.decode()
    response = staff_client.post(
        url + "?departement=45",
        {
            "subject": "Campagne apprentissage 2026",
            "body": "Merci de mettre à jour vos formations en apprentissage.",
            "attachment": SimpleUploadedFile("calendrier.pdf", PDF),
        },
    )
    assert response.status_code == 302
    sent = Message.objects.filter(subject="Campagne apprentissage 2026")
    assert {m.structure_id for m in sent} == {s.pk for s in loiret}
    assert all(m.from_carif and m.author == staff and m.read_at is None for m in sent)
    assert len({m.attachment.name for m in sent}) == 1  # stored once
    assert HistoryEntry.objects.get(action=HistoryAction.STAFF_EDIT, structure__isnull=True).details == (
        "Message « Campagne apprentissage 2026 » envoyé à 3 structures"
    )


def test_i1_message_every_structure_of_a_list_of_references(staff_client):
    first, second, _ = StructureFactory(), StructureFactory(), StructureFactory()
    url = reverse("backoffice:broadcast") + f"?references={first.reference}%0A{second.reference.lower()}"
    response = staff_client.post(url, {"subject": "Rappel", "body": "Pensez à vos sessions 2027."})
    assert response.status_code == 302
    assert set(Message.objects.values_list("structure_id", flat=True)) == {first.pk, second.pk}


def test_i1_no_recipient_no_message(staff_client):
    url = reverse("backoffice:broadcast")
    page = staff_client.get(url).content.decode()
    assert "Aucun destinataire choisi." in page
    response = staff_client.post(url + "?q=introuvable", {"subject": "Rappel", "body": "Texte"}, follow=True)
    assert "Aucune structure ne correspond" in response.content.decode()
    assert not Message.objects.exists()


def test_i1_structure_list_offers_to_write_to_the_selection(staff_client):
    StructureFactory(nom="Lycée professionnel de Blois")
    response = staff_client.get(reverse("backoffice:structures"), {"q": "Blois"})
    assert response.context["page_obj"].paginator.count == 1
    page = response.content.decode()
    assert "Écrire à cette structure" in page and "/messagerie/plusieurs-structures/?q=Blois" in page


def test_i1_message_to_several_structures_with_a_long_attachment_name(staff_client):
    structure = StructureFactory()
    name = "Convocation à la réunion des organismes de formation du 12 mars 2026.pdf"
    response = staff_client.post(
        reverse("backoffice:broadcast") + f"?references={structure.reference}",
        {"subject": "Réunion", "body": "Convocation jointe.", "attachment": SimpleUploadedFile(name, PDF)},
    )
    assert response.status_code == 302
    stored = Message.objects.get(structure=structure).attachment.name
    assert len(stored) <= Message._meta.get_field("attachment").max_length

"""C9 « Documents »: files sent to the Carif, checked on upload, private on download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ofeli.structures.forms import DocumentForm
from ofeli.structures.models import Document
from ofeli.workflow.enums import HistoryAction
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def pdf(name="attestation-nda.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def upload_url(structure):
    return reverse("structures:document_upload", args=[structure.reference])


def download_url(document):
    return reverse("structures:document_download", args=[document.structure.reference, document.pk])


def test_c9_upload_a_document_with_name_and_comment(of_client, of_user, structure):
    response = of_client.post(
        upload_url(structure),
        {"document-fichier": pdf(), "document-nom": "Attestation NDA", "document-commentaire": "Renouvelée en 2025"},
    )
    assert response.status_code == 302 and response.url.endswith("#gestion")
    document = Document.objects.get(structure=structure)
    assert (document.nom, document.commentaire, document.uploaded_by) == (
        "Attestation NDA",
        "Renouvelée en 2025",
        of_user,
    )
    assert document.fichier.name.startswith(f"structures/{structure.reference}/documents/")
    assert structure.history.filter(action=HistoryAction.DOCUMENT_ADDED, details__contains="Attestation NDA").exists()
    html = of_client.get(reverse("structures:detail", args=[structure.reference])).content.decode()
    assert download_url(document) in html and "Renouvelée en 2025" in html


def test_c9_document_name_defaults_to_the_file_name():
    form = DocumentForm({}, {"document-fichier": pdf("qualiopi-2025.pdf")})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["nom"] == "qualiopi-2025"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("virus.exe", b"MZ\x90\x00"), "Ce type de fichier n'est pas accepté"),
        (SimpleUploadedFile("faux.pdf", b"<html>not a pdf</html>"), "ne correspond pas à son extension"),
        (SimpleUploadedFile("gros.pdf", PDF + b"0" * 2048), "trop volumineux"),
    ],
)
def test_c9_refused_files_say_why(settings, upload, message):
    settings.UPLOAD_MAX_BYTES = 1024
    form = DocumentForm({"document-nom": "x"}, {"document-fichier": upload})
    assert not form.is_valid()
    assert message in " ".join(form.errors["fichier"])


def test_c9_refused_upload_re_renders_the_gestion_tab(of_client, structure):
    response = of_client.post(
        upload_url(structure),
        {
            "document-fichier": SimpleUploadedFile("a.exe", b"MZ"),
            "document-nom": "Mon fichier",
            "document-commentaire": "c",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="gestion" class="fr-tabs__panel fr-tabs__panel--selected"' in html
    assert "Ce type de fichier n&#x27;est pas accepté" in html and 'value="Mon fichier"' in html
    assert not Document.objects.exists()


def test_c9_download_by_the_structure_users_and_staff_only(client, of_client, structure):
    of_client.post(upload_url(structure), {"document-fichier": pdf(), "document-nom": "NDA"})
    document = Document.objects.get()
    response = of_client.get(download_url(document))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    client.force_login(StaffFactory())
    assert client.get(download_url(document)).status_code == 200
    client.logout()
    response = client.get(download_url(document))
    assert response.status_code == 302 and "/connexion/" in response.url


def test_c9_documents_are_not_served_by_a_public_media_url(client, of_client, structure, settings):
    of_client.post(upload_url(structure), {"document-fichier": pdf(), "document-nom": "NDA"})
    document = Document.objects.get()
    assert client.get(settings.MEDIA_URL + document.fichier.name).status_code == 404
    assert client.get("/" + document.fichier.name).status_code == 404

"""C1-C9 permissions: an OF user cannot read or change another structure's record, contacts
or documents, neither by URL nor by a forged form field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ofeli.structures.models import Contact, Document
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest
from tests.factories import ContactFactory, MembershipFactory, StructureFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def other():
    """Another structure, with a contact, a document and an open change request."""
    structure = StructureFactory(nom="3 SIGMA")
    owner = MembershipFactory(structure=structure).user
    contact = ContactFactory(structure=structure, nom="SECRET", prenom="Agent", is_principal=True)
    document = Document.objects.create(
        structure=structure,
        nom="Convention",
        fichier=SimpleUploadedFile("convention.pdf", PDF),
        uploaded_by=owner,
    )
    return structure, contact, document


def test_c1_to_c9_other_structure_pages_are_forbidden(of_client, other):
    structure, contact, document = other
    ref = structure.reference
    forbidden_gets = [
        reverse("structures:detail", args=[ref]),
        reverse("structures:contacts_table", args=[ref]),
        reverse("structures:contact_create", args=[ref]),
        reverse("structures:contact_edit", args=[ref, contact.reference]),
        reverse("structures:contact_delete", args=[ref, contact.reference]),
        reverse("structures:document_download", args=[ref, document.pk]),
    ]
    for url in forbidden_gets:
        response = of_client.get(url)
        assert response.status_code == 403, url
        assert b"SECRET" not in response.content and PDF not in response.content


def test_c1_c4_other_structure_record_cannot_be_changed(of_client, other):
    structure, _, _ = other
    url = reverse("structures:detail", args=[structure.reference])
    for action in ("request_change", "save", "submit", "cancel"):
        assert of_client.post(url, {"action": action, "adresse": "1 Rue Pirate"}).status_code == 403
    assert not ChangeRequest.objects.filter(structure=structure).exists()


def test_c6_other_structure_contacts_cannot_be_changed(of_client, other):
    structure, contact, _ = other
    ref = structure.reference
    data = {"contact-structure": structure.pk, "contact-nom": "PIRATE", "contact-confirm_new": "on"}
    assert of_client.post(reverse("structures:contact_create", args=[ref]), data).status_code == 403
    assert of_client.post(reverse("structures:contact_edit", args=[ref, contact.reference]), data).status_code == 403
    assert of_client.post(reverse("structures:contact_delete", args=[ref, contact.reference])).status_code == 403
    contact.refresh_from_db()
    assert contact.nom == "SECRET"
    assert not Contact.objects.filter(nom="PIRATE").exists()


def test_c6_forged_contact_id_through_my_own_structure_is_not_found(of_client, structure, other):
    _, contact, _ = other
    mine = structure.reference
    data = {"contact-structure": structure.pk, "contact-nom": "PIRATE"}
    assert of_client.get(reverse("structures:contact_edit", args=[mine, contact.reference])).status_code == 404
    assert of_client.post(reverse("structures:contact_edit", args=[mine, contact.reference]), data).status_code == 404
    assert of_client.post(reverse("structures:contact_delete", args=[mine, contact.reference])).status_code == 404
    contact.refresh_from_db()
    assert contact.nom == "SECRET"


def test_c6_forged_structure_field_cannot_create_a_contact_elsewhere(of_client, structure, other):
    target, _, _ = other
    data = {"contact-structure": target.pk, "contact-nom": "PIRATE", "contact-confirm_new": "on"}
    response = of_client.post(reverse("structures:contact_create", args=[structure.reference]), data)
    assert response.status_code == 200  # the form refuses the choice
    assert not Contact.objects.filter(nom="PIRATE").exists()


def test_c6_forged_structure_field_cannot_move_my_contact_elsewhere(of_client, structure, other):
    target, _, _ = other
    mine = ContactFactory(structure=structure, nom="MARC")
    data = {"contact-structure": target.pk, "contact-nom": "MARC"}
    of_client.post(reverse("structures:contact_edit", args=[structure.reference, mine.reference]), data)
    mine.refresh_from_db()
    assert mine.structure == structure


def test_c9_forged_document_id_through_my_own_structure_is_not_found(of_client, structure, other):
    _, _, document = other
    response = of_client.get(reverse("structures:document_download", args=[structure.reference, document.pk]))
    assert response.status_code == 404


def test_c9_other_structure_cannot_receive_my_upload(of_client, other):
    structure, _, _ = other
    response = of_client.post(
        reverse("structures:document_upload", args=[structure.reference]),
        {"document-fichier": SimpleUploadedFile("x.pdf", PDF), "document-nom": "Pirate"},
    )
    assert response.status_code == 403
    assert not Document.objects.filter(nom="Pirate").exists()


def test_c1_anonymous_visitor_goes_to_the_login_page(client, structure):
    response = client.get(reverse("structures:detail", args=[structure.reference]))
    assert response.status_code == 302 and "/connexion/" in response.url


def test_c1_member_of_one_structure_edits_it_not_its_sibling(client):
    mine = StructureFactory()
    sibling = StructureFactory(parent=mine)  # attached structure, no membership
    user = MembershipFactory(structure=mine).user
    client.force_login(user)
    assert client.get(reverse("structures:detail", args=[mine.reference])).status_code == 200
    assert client.get(reverse("structures:detail", args=[sibling.reference])).status_code == 403
    assert not ChangeRequest.objects.filter(status=ChangeStatus.DRAFT).exists()

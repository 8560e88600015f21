"""A1, A3: the queue of account requests (oldest first, with their age), the detail with the
uploaded NDA file, acceptance (the structure is looked up by SIRET first) and refusal with a
reason mailed to the applicant — both logged."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from ofeli.structures.models import Structure
from ofeli.users.enums import AccountRequestStatus
from ofeli.users.models import AccountRequest, Membership
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.models import HistoryEntry
from tests.factories import StructureFactory, StructureStateFactory, StructureTypeFactory

pytestmark = pytest.mark.django_db


def account_request(**fields):
    values = {
        "siret": "21860076500018",
        "nda": "24370369337",
        "last_name": "THEVENIN",
        "first_name": "Laure",
        "phone": "0238778335",
        "email": "laure@example.org",
        "consent_at": timezone.now(),
    }
    values.update(fields)
    return AccountRequest.objects.create(**values)


def test_a3_queue_oldest_first_with_age_and_known_structures(staff_client):
    StructureFactory(siret="21860076500018")
    recent = account_request(email="b@example.org")
    old = account_request(email="a@example.org", siret="43256884800027")
    AccountRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=7))
    response = staff_client.get(reverse("users:account_requests"))
    rows = list(response.context["page_obj"])
    assert [r.pk for r in rows] == [old.pk, recent.pk]
    assert rows[0].age.is_late and rows[1].known_siret and not rows[0].known_siret
    page = response.content.decode()
    assert "structure connue" in page and "Hors délai" in page


def test_a3_detail_shows_the_nda_file_and_accepting_links_the_existing_structure(
    staff_client, staff, django_capture_on_commit_callbacks, mailoutbox
):
    structure = StructureFactory(siret="21860076500018", nom="OF présentation OFELI")
    request = account_request(nda_file=ContentFile(b"%PDF-1.4 declaration", name="nda.pdf"))
    url = reverse("users:account_request_detail", args=[request.pk])
    page = staff_client.get(url).content.decode()
    assert "Une structure existe déjà avec ce SIRET" in page
    download = staff_client.get(reverse("users:account_request_file", args=[request.pk, "nda"]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 declaration"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"accept": ""})
    assert response.status_code == 302
    assert Structure.objects.filter(siret="21860076500018").count() == 1  # no duplicate
    assert Membership.objects.filter(structure=structure, user__email="laure@example.org").exists()
    assert "activer" in mailoutbox[0].body
    assert structure.history.get(action=HistoryAction.ACCOUNT).author == staff


def test_a3_accepting_creates_the_structure_when_the_siret_is_new(staff_client):
    StructureTypeFactory()
    StructureStateFactory()
    request = account_request(siret="43256884800027")
    response = staff_client.post(
        reverse("users:account_request_detail", args=[request.pk]),
        {"accept-raison_sociale": "3 SIGMA", "accept-nom": "3 SIGMA", "accept": ""},
    )
    assert response.status_code == 302
    structure = Structure.objects.get(siret="43256884800027")
    assert structure.nom == "3 SIGMA" and structure.live_version is not None


def test_a3_refusal_needs_a_reason_is_mailed_and_logged(
    staff_client, staff, django_capture_on_commit_callbacks, mailoutbox
):
    request = account_request()
    url = reverse("users:account_request_detail", args=[request.pk])
    response = staff_client.post(url, {"refuse-reason": "", "refuse": ""})
    assert response.status_code == 200
    assert "refuse-reason" in response.content.decode() and response.context["refuse_form"].errors["reason"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"refuse-reason": "Numéro de déclaration d'activité caduc.", "refuse": ""})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == AccountRequestStatus.REFUSED and request.processed_by == staff
    assert "caduc" in mailoutbox[0].body and mailoutbox[0].to == ["laure@example.org"]
    entry = HistoryEntry.objects.get(action=HistoryAction.ACCOUNT)
    assert entry.author == staff and "refusée" in entry.details and entry.structure is None
    # a second decision is refused
    response = staff_client.post(url, {"accept": ""}, follow=True)
    assert request.__class__.objects.get(pk=request.pk).status == AccountRequestStatus.REFUSED
    listing = staff_client.get(reverse("users:account_requests"), {"etat": "refused"})
    assert [r.pk for r in listing.context["page_obj"]] == [request.pk]

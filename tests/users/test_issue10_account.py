"""Issue 10, account request and activation (A2, A4): the consent text links to the
personal-data page, a proof file is kept after a validation error (or, when it was refused,
the page says it must be chosen again), and the login form opens with the e-mail after the
activation."""

import html
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ofeli.users import kept_uploads
from ofeli.users.models import AccountRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 declaration d'activite"
FORM = {
    "siret": "21860076500018",
    "nda": "24370369337",
    "last_name": "Dupont",
    "first_name": "Marie",
    "phone": "0238000000",
    "email": "marie.dupont@example.org",
    "consent": "on",
}


def text(response):
    return html.unescape(response.content.decode())


def pdf(name="declaration.pdf", content=PDF):
    return SimpleUploadedFile(name, content, "application/pdf")


def kept_files():
    try:
        folders, _ = default_storage.listdir(kept_uploads.DIRECTORY)
    except FileNotFoundError:
        return []
    return [name for folder in folders for name in default_storage.listdir(f"{kept_uploads.DIRECTORY}/{folder}")[1]]


# A2: consent ---------------------------------------------------------------------------


def test_a2_consent_text_and_checkbox_link_to_the_personal_data_page(client):
    page = text(client.get(reverse("users:account_request")))
    url = reverse("personal_data")
    consent = page[page.index('id="consent-text"') :]
    paragraph = consent[: consent.index("</p>")]
    assert f'href="{url}"' in paragraph and "politique\n          de gestion des données personnelles</a>" in paragraph
    label = page[page.index('for="id_consent"') :]
    assert f'href="{url}"' in label[: label.index("</label>")]
    assert client.get(url).status_code == 200


# A2: the chosen file after a validation error ---------------------------------------


def test_a2_proof_file_is_kept_after_a_validation_error_and_saved_with_the_request(client):
    response = client.post(reverse("users:account_request"), {**FORM, "siret": "123", "nda_file": pdf()})
    page = text(response)
    assert response.status_code == 200 and not AccountRequest.objects.exists()
    assert "Fichier conservé : declaration.pdf" in page
    assert "Vous n'avez pas à le choisir à nouveau" in page
    assert len(kept_files()) == 1
    # corrected, without choosing the file again
    response = client.post(reverse("users:account_request"), FORM)
    assert response.status_code == 302
    request_row = AccountRequest.objects.get()
    with request_row.nda_file.open("rb") as handle:
        assert handle.read() == PDF
    assert request_row.nda_file.name.endswith("declaration.pdf")
    assert kept_files() == []  # the kept copy is gone
    assert kept_uploads.SESSION_KEY not in client.session


def test_a2_a_new_file_replaces_the_kept_one_and_drop_removes_it(client):
    client.post(reverse("users:account_request"), {**FORM, "siret": "123", "nda_file": pdf("premier.pdf")})
    page = text(client.post(reverse("users:account_request"), {**FORM, "siret": "123", "nda_file": pdf("second.pdf")}))
    assert "Fichier conservé : second.pdf" in page and "premier.pdf" not in page
    assert kept_files() == ["second.pdf"]
    response = client.post(reverse("users:account_request"), {**FORM, "nda_file-drop": "1"})
    assert response.status_code == 302
    assert not AccountRequest.objects.get().nda_file
    assert kept_files() == []


def test_a2_a_refused_file_is_not_kept_and_the_page_says_to_choose_it_again(client):
    bad = pdf("declaration.pdf", b"MZ not a pdf at all")
    page = text(client.post(reverse("users:account_request"), {**FORM, "nda_file": bad}))
    message = "Ce fichier n'est pas conservé : choisissez à nouveau un fichier."
    # in the error summary (with its link to the field) and next to the field
    summary = page[page.index("data-error-summary") : page.index("</div>", page.index("data-error-summary"))]
    assert 'href="#id_nda_file"' in summary and message in summary
    assert re.search(r'id="id_nda_file-desc-error">[^<]*' + re.escape(message), page)
    assert "Fichier conservé" not in page and kept_files() == []


def test_a2_a_kept_file_belongs_to_its_visitor_only(client):
    from django.test import Client

    client.post(reverse("users:account_request"), {**FORM, "siret": "123", "nda_file": pdf()})
    other = Client()
    response = other.post(reverse("users:account_request"), {**FORM, "email": "autre@example.org"})
    assert response.status_code == 302
    assert not AccountRequest.objects.get(email="autre@example.org").nda_file
    assert len(kept_files()) == 1  # still the first visitor's
    # an entry pointing outside the kept folder (another request's proof) is never used
    from django.core.files.base import ContentFile

    secret = default_storage.save("account-requests/21860076500018/secret.pdf", ContentFile(PDF))
    session = client.session
    session[kept_uploads.SESSION_KEY] = {"nda_file": {"path": secret, "name": "secret.pdf", "at": 9e9}}
    session.save()
    assert "Fichier conservé" not in text(client.get(reverse("users:account_request")))
    assert client.post(reverse("users:account_request"), FORM).status_code == 302
    assert not AccountRequest.objects.get(email=FORM["email"]).nda_file
    assert default_storage.exists(secret)


# A4: after the activation the login form has the e-mail ------------------------------


def test_a4_after_activation_the_login_form_is_prefilled_with_the_email(client):
    # fixed names: a random one (« Martin ») may be too close to the password for its validator
    user = UserFactory(email="marie.dupont@example.org", first_name="Marie", last_name="Dupont")
    path = reverse(
        "users:activate", args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)]
    )
    response = client.post(path, {"new_password1": "Formation!2026", "new_password2": "Formation!2026"})
    assert response.status_code == 302 and response.url == reverse("users:login")
    page = text(client.get(response.url))
    assert re.search(r'<input type="email" name="username" value="marie.dupont@example.org"', page)
    assert re.search(r'name="password"[^>]*autofocus', page)
    assert "Votre mot de passe est enregistré" in page
    # once only: the next visit of the login page is blank again, and never by the URL
    assert 'value="marie.dupont@example.org"' not in text(client.get(reverse("users:login")))
    assert 'value="marie.dupont@example.org"' not in text(client.get(reverse("users:login") + "?email=x@example.org"))

"""Issue 2 §4 walked with Django's test client (the browser walk is in test_browser_path.py)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from ofeli.formations.models import Formation
from ofeli.users.models import AccountRequest, User
from tests.factories import (
    DispositifFactory,
    StaffFactory,
    StructureStateFactory,
    StructureTypeFactory,
)

pytestmark = pytest.mark.django_db


def test_a2_a3_a4_a5_b2_e2_f_g2_h1_whole_path(client, django_capture_on_commit_callbacks):
    StructureTypeFactory()
    StructureStateFactory()
    dispositif = DispositifFactory()
    # A2 « Créer mon compte »
    response = client.post(
        reverse("users:account_request"),
        {
            "siret": "218 600 765 00018",
            "nda": "24370369337",
            "last_name": "Dupont",
            "first_name": "Marie",
            "phone": "0238000000",
            "email": "Marie.Dupont@example.org",
            "consent": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    request_row = AccountRequest.objects.get()
    assert request_row.siret == "21860076500018"
    # A3 staff accepts
    staff = StaffFactory()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("users:account_request_detail", args=[request_row.pk]),
            {
                "accept-raison_sociale": "OF DUPONT FORMATION",
                "accept-nom": "Dupont Formation",
                "accept": "",
            },
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/activer/\S+/", mail.outbox[0].body).group(0)
    client.logout()
    # A4 choose a password
    path = link.split("8000", 1)[-1] if "8000" in link else link
    response = client.post(path, {"new_password1": "faible", "new_password2": "faible"})
    assert response.status_code == 200
    assert "8 caractères" in response.content.decode()
    response = client.post(path, {"new_password1": "Formation!2026", "new_password2": "Formation!2026"})
    assert response.status_code == 302 and response.url == reverse("users:login")
    # A5 login by e-mail
    response = client.post(
        reverse("users:login"), {"username": "marie.dupont@example.org", "password": "Formation!2026"}
    )
    assert response.status_code == 302
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "Formations en cours de création" in response.content.decode()
    # E2-E4: a non-certifying formation
    response = client.post(
        reverse("formations:create"),
        {
            "certifiante": "non",
            "intitule": "Initiation à la comptabilité",
            "action": "create",
        },
    )
    assert response.status_code == 302
    formation = Formation.objects.get()
    response = client.post(
        reverse("formations:detail", args=[formation.reference]),
        {
            "f-intitule": "Initiation à la comptabilité",
            "f-objectif": "Tenir une comptabilité simple.",
            "f-contenu": "Écritures courantes.",
            "f-niveau_entree": "1",
            "action": "add_session",
        },
    )
    assert response.status_code == 302
    session_url = response.url
    response = client.get(session_url)
    assert response.status_code == 200
    # F2/F11: dates and durations, a lieu is needed before submitting
    user = User.objects.get(email="marie.dupont@example.org")
    structure = user.memberships.get().structure
    from tests.factories import LieuFactory

    LieuFactory(structure=structure)
    form = {
        "s-date_debut": "2026-09-01",
        "s-date_fin": "2027-06-30",
        "s-kind": "continue",
        "s-modalite_enseignement": "0",
        "s-duree_centre": "300",
        "s-duree_entreprise": "100",
    }
    response = client.post(session_url, {**form, "action": "add_place", "place": structure.lieux.get().pk})
    assert response.status_code == 302
    response = client.post(
        session_url,
        {
            **form,
            "action": "add_financement",
            "fin-financeur": dispositif.financeur_id,
            "fin-dispositif": dispositif.pk,
            "fin-nb_places": "10",
        },
    )
    assert response.status_code == 302
    response = client.post(
        session_url, {**form, "action": "add_slot", "rs-modalite": "7", "rs-structure": structure.pk}
    )
    assert response.status_code == 302
    response = client.post(session_url, {**form, "action": "save"})
    assert response.status_code == 302
    # G1 submit
    response = client.post(
        reverse("formations:detail", args=[formation.reference]),
        {
            "f-intitule": "Initiation à la comptabilité",
            "f-objectif": "Tenir une comptabilité simple.",
            "f-contenu": "Écritures courantes.",
            "f-niveau_entree": "1",
            "action": "submit",
        },
    )
    assert response.status_code == 302, [str(m) for m in response.context["messages"]]
    change = formation.change_requests.get()
    assert change.status == "submitted"
    # Not public before acceptance
    assert "Initiation à la comptabilité" not in client.get(reverse("public:search")).content.decode()
    # G2 staff accepts
    client.force_login(staff)
    assert client.get(reverse("workflow:review", args=[change.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the public index follows the publication
        response = client.post(reverse("workflow:review", args=[change.pk]), {"action": "accept"})
    assert response.status_code == 302
    # H1 public list and detail with the Numéro CARIF
    client.logout()
    page = client.get(reverse("public:search"), {"q": "comptabilité"}).content.decode()
    assert "Initiation à la comptabilité" in page
    formation.refresh_from_db()
    session_ref = formation.live_version.sessions.get().session.reference
    detail = client.get(reverse("public:formation_short", args=[formation.reference]), follow=True)
    assert session_ref in detail.content.decode()

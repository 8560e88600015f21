"""Reference data: the superviseur lists, creates and edits dispositifs / mesures,
financeurs, structure types and states (every change logged); gestionnaires get 403."""

import pytest
from django.urls import reverse

from ofeli.referentials.models import Dispositif, Financeur, StructureState, StructureType
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.models import HistoryEntry
from tests.factories import CertificationFactory, DispositifFactory, FinanceurFactory

pytestmark = pytest.mark.django_db

KINDS = ["financeurs", "dispositifs", "types-structure", "etats-structure", "labels"]


def test_ref_superviseur_lists_every_referential(superviseur_client):
    DispositifFactory()
    page = superviseur_client.get(reverse("backoffice:referentials")).content.decode()
    for title in ["Financeurs", "Dispositifs / mesures", "Types de structure", "États de structure"]:
        assert title in page
    for kind in KINDS:
        assert superviseur_client.get(reverse("backoffice:referential_list", args=[kind])).status_code == 200
    listing = superviseur_client.get(reverse("backoffice:referential_list", args=["dispositifs"]), {"q": "CPR"})
    assert "CPR02" in listing.content.decode()
    assert superviseur_client.get(reverse("backoffice:referential_list", args=["inconnu"])).status_code == 404


def test_ref_gestionnaire_gets_403(staff_client):
    dispositif = DispositifFactory()
    urls = [reverse("backoffice:referentials"), reverse("backoffice:certifications")]
    for kind in KINDS:
        urls += [
            reverse("backoffice:referential_list", args=[kind]),
            reverse("backoffice:referential_create", args=[kind]),
        ]
    urls.append(reverse("backoffice:referential_edit", args=["dispositifs", dispositif.pk]))
    for url in urls:
        assert staff_client.get(url).status_code == 403, url
        assert staff_client.post(url, {"code": "X", "libelle": "Y"}).status_code == 403, url
    assert Dispositif.objects.count() == 1


def test_ref_superviseur_creates_and_edits_a_dispositif(superviseur_client, superviseur):
    opco = FinanceurFactory(code="98018", libelle="OPCO", lheo_code="16")
    url = reverse("backoffice:referential_create", args=["dispositifs"])
    data = {
        "code": "AOP09",
        "libelle": "Contrat d'apprentissage : transition écologique",
        "financeur": opco.pk,
        "entered_by": "OF",
        "training_kind": "alternance",
        "is_public_funds": "",
        "is_active": "on",
    }
    response = superviseur_client.post(url, data)
    assert response.status_code == 302
    dispositif = Dispositif.objects.get(code="AOP09")
    assert dispositif.financeur == opco and dispositif.training_kind == "alternance"
    # the same code again is refused on its field
    response = superviseur_client.post(url, data)
    assert response.status_code == 200 and "code" in response.context["form"].errors
    # edit: the code is fixed, the rest changes and is logged
    edit = reverse("backoffice:referential_edit", args=["dispositifs", dispositif.pk])
    response = superviseur_client.post(
        edit, {**data, "code": "CHANGED", "is_active": "", "libelle": "Apprentissage vert"}
    )
    assert response.status_code == 302
    dispositif.refresh_from_db()
    assert (dispositif.code, dispositif.libelle, dispositif.is_active) == ("AOP09", "Apprentissage vert", False)
    entries = list(HistoryEntry.objects.filter(author=superviseur).order_by("pk").values_list("details", flat=True))
    assert entries[0].startswith("Référentiel « Dispositifs / mesures » : création de AOP09")
    assert "Libellé : Contrat d'apprentissage : transition écologique → Apprentissage vert" in entries[1]
    assert "Actif (proposé à la saisie) : Oui → Non" in entries[1]
    assert all(e.action == HistoryAction.STAFF_EDIT for e in HistoryEntry.objects.filter(author=superviseur))


def test_ref_financeur_lheo_code_is_checked(superviseur_client):
    url = reverse("backoffice:referential_create", args=["financeurs"])
    response = superviseur_client.post(url, {"code": "98030", "libelle": "Agefiph", "lheo_code": "999"})
    assert "table LHEO des financeurs" in " ".join(response.context["form"].errors["lheo_code"])
    response = superviseur_client.post(
        url, {"code": "98030", "libelle": "Agefiph", "lheo_code": "10", "is_public": "on"}
    )
    assert response.status_code == 302
    assert Financeur.objects.get(code="98030").is_public


def test_ref_structure_types_and_states(superviseur_client):
    response = superviseur_client.post(
        reverse("backoffice:referential_create", args=["types-structure"]),
        {"code": "F1800", "libelle": "Organismes consulaires hors région"},
    )
    assert response.status_code == 302 and StructureType.objects.filter(code="F1800").exists()
    response = superviseur_client.post(
        reverse("backoffice:referential_create", args=["etats-structure"]),
        {"code": "SUS", "libelle": "Suspendue", "is_diffused": ""},
    )
    assert response.status_code == 302 and not StructureState.objects.get(code="SUS").is_diffused
    state = StructureState.objects.get(code="SUS")
    response = superviseur_client.post(
        reverse("backoffice:referential_edit", args=["etats-structure", state.pk]),
        {"libelle": "Suspendue (contrôle)", "is_diffused": ""},
    )
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.libelle == "Suspendue (contrôle)" and state.code == "SUS"
    journal = superviseur_client.get(reverse("backoffice:journal"), {"q": "Suspendue"})
    assert journal.context["page_obj"].paginator.count == 2


def test_ref_certifications_are_listed_with_the_import_command(superviseur_client):
    CertificationFactory()
    page = superviseur_client.get(reverse("backoffice:certifications"), {"q": "38234"}).content.decode()
    assert "BTS assurance" in page and "import_certifications" in page
    assert "https://www.francecompetences.fr/recherche/rncp/38234/" in page

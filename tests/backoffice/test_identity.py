"""C3, C5: identity and organisation data that only the Carif edits (SIRET, NDA, UAI, raison
sociale, nom, type, state, parent and attached structures), with identifier checks tied to
their field and history entries."""

import pytest
from django.urls import reverse

from ofeli.structures.models import Structure
from ofeli.workflow.enums import HistoryAction
from tests.factories import StructureFactory, StructureStateFactory, StructureTypeFactory

pytestmark = pytest.mark.django_db


def form_data(structure, **overrides):
    data = {
        "siret": structure.siret,
        "nda": structure.nda,
        "uai": structure.uai,
        "raison_sociale": structure.raison_sociale,
        "nom": structure.nom,
        "type": structure.type_id,
        "etat": structure.etat_id,
        "reseau": structure.reseau,
        "parent_reference": structure.parent.reference if structure.parent else "",
        "attach": "",
    }
    data.update(overrides)
    return data


def test_c3_staff_edits_identity_and_it_is_in_the_history(staff_client, staff):
    structure = StructureFactory(nom="OF présentation OFELI")
    draft_state = StructureStateFactory(code="BRO", libelle="Brouillon", is_diffused=False)
    other_type = StructureTypeFactory(code="F1620", libelle="Organismes de formation continue hors RCVL")
    url = reverse("backoffice:structure_identity", args=[structure.reference])
    assert "Identité et organisation" in staff_client.get(url).content.decode()
    response = staff_client.post(
        url,
        form_data(
            structure,
            siret="218 600 765 00018",
            nda="24370369337",
            uai="0370035m",
            raison_sociale="OF PRESENTATION OFELI",
            type=other_type.pk,
            etat=draft_state.pk,
        ),
    )
    assert response.status_code == 302
    structure.refresh_from_db()
    assert (structure.siret, structure.siren, structure.nda, structure.uai) == (
        "21860076500018",
        "218600765",
        "24370369337",
        "0370035M",
    )
    assert structure.raison_sociale == "OF PRESENTATION OFELI"
    assert structure.type == other_type and structure.etat == draft_state
    assert structure.admin_updated_by == staff and structure.admin_updated_at
    entry = structure.history.get(action=HistoryAction.STAFF_EDIT)
    assert entry.author == staff
    assert "SIRET" in entry.details and "→ 21860076500018" in entry.details
    assert "État : DIO - Diffusion OF → BRO - Brouillon" in entry.details
    # the OF user reads it in « Gestion / Historique »
    page = staff_client.get(reverse("structures:detail", args=[structure.reference])).content.decode()
    assert "Modification par le Carif" in page and "OF PRESENTATION OFELI" in page


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("siret", "21860076500019", "Ce SIRET n'est pas valide"),
        ("siret", "1234", "exactement 14 chiffres"),
        ("nda", "2437036933", "exactement 11 chiffres"),
        ("nda", "24990369337", "ne sont pas un département"),
        ("uai", "0370035A", "lettre de contrôle"),
        ("raison_sociale", "", "Ce champ est obligatoire"),
        ("parent_reference", "99999P", "Aucune structure ne porte la référence 99999P"),
    ],
)
def test_a6_c3_wrong_identifiers_get_a_message_on_their_field(staff_client, field, value, message):
    structure = StructureFactory()
    before = Structure.objects.values().get(pk=structure.pk)
    url = reverse("backoffice:structure_identity", args=[structure.reference])
    response = staff_client.post(url, form_data(structure, **{field: value}))
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    page = response.content.decode()
    assert f'id="id_{field}-desc-error"' in page  # the error is tied to its field (aria-describedby)
    assert Structure.objects.values().get(pk=structure.pk) == before
    assert not structure.history.exists()


def test_c3_a_siret_already_used_is_refused(staff_client):
    first = StructureFactory()
    second = StructureFactory()
    response = staff_client.post(
        reverse("backoffice:structure_identity", args=[second.reference]), form_data(second, siret=first.siret)
    )
    assert "déjà celui de la structure" in " ".join(response.context["form"].errors["siret"])


def test_c5_parent_and_attached_structures(staff_client, staff):
    head = StructureFactory(nom="OF présentation OFELI")
    antenna = StructureFactory(nom="OF présentation OFELI - Antenne")
    other = StructureFactory(nom="Autre antenne")
    url = reverse("backoffice:structure_identity", args=[head.reference])
    response = staff_client.post(url, form_data(head, attach=f"{antenna.reference}, {other.reference.lower()}"))
    assert response.status_code == 302
    assert set(head.children.all()) == {antenna, other}
    assert antenna.history.get().details.startswith("Organisation : Rattachée à la structure parente")
    # detach one
    response = staff_client.post(url, {**form_data(head), "detach": [other.pk]})
    assert response.status_code == 302
    assert list(head.children.all()) == [antenna]
    assert "détachée de la structure parente" in other.history.order_by("-pk").first().details
    # a cycle is refused: the head cannot become a child of its antenna
    response = staff_client.post(url, form_data(head, parent_reference=antenna.reference))
    assert "ne peut pas en être la parente" in " ".join(response.context["form"].errors["parent_reference"])
    response = staff_client.post(
        reverse("backoffice:structure_identity", args=[antenna.reference]),
        form_data(Structure.objects.get(pk=antenna.pk), attach=head.reference),
    )
    assert "est une structure parente" in " ".join(response.context["form"].errors["attach"])
    # set the parent from the child's screen
    response = staff_client.post(
        reverse("backoffice:structure_identity", args=[other.reference]),
        form_data(Structure.objects.get(pk=other.pk), parent_reference=head.reference),
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.parent == head
    assert "Structure parente : (vide) → " in other.history.order_by("-pk").first().details


def test_c3_saving_without_change_writes_no_history(staff_client):
    structure = StructureFactory()
    url = reverse("backoffice:structure_identity", args=[structure.reference])
    response = staff_client.post(url, form_data(structure), follow=True)
    assert "Aucune modification." in response.content.decode()
    assert not structure.history.exists()


def test_c3_of_user_still_cannot_edit_identity(client, of_member):
    client.force_login(of_member.user)
    structure = of_member.structure
    url = reverse("backoffice:structure_identity", args=[structure.reference])
    assert client.post(url, form_data(structure, nom="Piraté")).status_code == 403
    structure.refresh_from_db()
    assert structure.nom != "Piraté"

"""C6 contacts of the structure record (address book, not versioned, every change logged)
and the reusable ContactForm of F7."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ofeli.formations.models import SessionContact
from ofeli.structures.forms import CONFIRM_NEW_LABEL, ContactForm, StructureContactForm
from ofeli.structures.models import Contact
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.guards import allow_published_changes
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    published_formation,
)

pytestmark = pytest.mark.django_db


def detail(structure, **params):
    return reverse("structures:detail", args=[structure.reference])


def create_url(structure):
    return reverse("structures:contact_create", args=[structure.reference])


def edit_url(contact):
    return reverse("structures:contact_edit", args=[contact.structure.reference, contact.reference])


def delete_url(contact):
    return reverse("structures:contact_delete", args=[contact.structure.reference, contact.reference])


def contact_data(structure, **overrides):
    data = {
        "contact-structure": structure.pk,
        "contact-nom": "DOUGNAC",
        "contact-prenom": "Aurélie",
        "contact-types": ["14"],
        "contact-fonction": "Chargée des relations entreprises",
        "contact-service": "Apprentissage",
        "contact-email": "a.dougnac@example.org",
        "contact-telephone": "02 38 77 83 35",
        "contact-confirm_new": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- list and search ---------------------------------------------------------------------------


def test_c6_contacts_list_has_the_guide_columns_and_lheo_types(of_client, structure):
    ContactFactory(structure=structure, prenom="Equipe", nom="OFFRE", types=["5"], is_principal=True)
    ContactFactory(structure=structure, prenom="Carole", nom="MARC", types=["1", "3"], diffusion_web=False)
    html = of_client.get(detail(structure)).content.decode()
    table = html[html.index('id="contacts-list"') : html.index("data-contacts-count")]
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table)
    assert headers == ["Réf", "Prénom", "Nom", "Type", "Fonction", "Contact principal", "Diffusion web"]
    assert "5 - Direction" in table and "1 - Référent handicap" in table and "3 - Référent pédagogique" in table
    assert "Affichage de 1 à 2 sur 2 éléments" in html
    assert "le contact principal doit correspondre à la personne responsable" in html


def test_c6_search_contacts_with_and_without_javascript(of_client, structure):
    ContactFactory(structure=structure, prenom="Aurélie", nom="DOUGNAC")
    ContactFactory(structure=structure, prenom="Carole", nom="MARC")
    html = of_client.get(detail(structure), {"contacts_q": "dougnac"}).content.decode()
    table = html[html.index('id="contacts-list"') : html.index("data-contacts-count")]
    assert "DOUGNAC" in table and "MARC" not in table
    partial = of_client.get(
        reverse("structures:contacts_table", args=[structure.reference]), {"contacts_q": "carole"}
    ).content.decode()
    assert "MARC" in partial and "DOUGNAC" not in partial and "<html" not in partial
    assert "Aucun contact ne correspond" in of_client.get(detail(structure), {"contacts_q": "zzz"}).content.decode()


@pytest.mark.parametrize("url_name", ["detail", "contacts_table"])
def test_c6_contacts_list_runs_a_fixed_number_of_queries(of_client, structure, url_name):
    def count(n):
        Contact.objects.filter(structure=structure).delete()
        for i in range(n):
            ContactFactory(structure=structure, types=["3", "5"], is_principal=(i == 0), user=None)
        target = reverse(f"structures:{url_name}", args=[structure.reference])
        of_client.get(target)  # the first request of a session writes it
        with CaptureQueriesContext(connection) as queries:
            response = of_client.get(target)
        assert response.status_code == 200
        assert response.content.decode().count("data-contact=") == n
        return len(queries)

    assert count(3) == count(30)


# --- add ------------------------------------------------------------------------------------


def test_c6_add_contact_with_several_lheo_types_is_logged(of_client, structure):
    response = of_client.post(create_url(structure), contact_data(structure, **{"contact-types": ["14", "3"]}))
    assert response.status_code == 302 and response.url.endswith("#contacts")
    contact = Contact.objects.get(structure=structure)
    assert re.fullmatch(r"\d{5}C", contact.reference)
    assert contact.types == ["3", "14"]
    assert contact.telephone == "02 38 77 83 35"
    entry = structure.history.get(action=HistoryAction.CONTACT_CHANGED)
    assert contact.reference in entry.details and "créé" in entry.details


def test_c6_add_contact_requires_the_confirmation_and_keeps_what_was_typed(of_client, structure):
    response = of_client.post(create_url(structure), contact_data(structure, **{"contact-confirm_new": None}))
    html = response.content.decode()
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert "Je confirme avoir bien vérifié que le contact à créer n&#x27;existe pas déjà" in html
    assert "Cochez cette case pour confirmer" in html
    assert 'value="DOUGNAC"' in html and 'value="Chargée des relations entreprises"' in html


def test_c6_add_contact_refuses_bad_values():
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    form = StructureContactForm(
        contact_data(structure, **{"contact-types": ["99"], "contact-nom": "", "contact-telephone": "123"}),
        user=user,
        structure=structure,
    )
    assert not form.is_valid()
    assert set(form.errors) >= {"types", "nom", "telephone"}


def test_c6_same_name_in_the_structure_is_flagged_then_confirmed(of_client, structure):
    existing = ContactFactory(structure=structure, prenom="Aurelie", nom="Dougnac", email="autre@example.org")
    response = of_client.post(create_url(structure), contact_data(structure))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Un contact semblable existe déjà dans cette structure" in html and existing.reference in html
    assert 'name="contact-confirm_duplicate"' in html
    assert Contact.objects.filter(structure=structure).count() == 1
    response = of_client.post(create_url(structure), contact_data(structure, **{"contact-confirm_duplicate": "on"}))
    assert response.status_code == 302
    assert Contact.objects.filter(structure=structure).count() == 2


def test_c6_same_name_in_another_structure_is_not_a_duplicate(of_client, structure):
    ContactFactory(prenom="Aurélie", nom="DOUGNAC")  # another structure
    assert of_client.post(create_url(structure), contact_data(structure)).status_code == 302


# --- edit, main contact ---------------------------------------------------------------------


def test_c6_edit_contact_is_logged(of_client, structure):
    contact = ContactFactory(structure=structure, nom="MARC", prenom="Carole", types=["1"])
    data = contact_data(structure, **{"contact-nom": "MARC", "contact-prenom": "Carole", "contact-fonction": "CPE"})
    data.pop("contact-confirm_new")
    response = of_client.post(edit_url(contact), data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.fonction == "CPE" and contact.types == ["14"]
    entry = structure.history.filter(action=HistoryAction.CONTACT_CHANGED).first()
    assert "modifié" in entry.details and "Fonction" in entry.details


def test_c6_exactly_one_main_contact_the_new_one_replaces_the_old(of_client, structure):
    old = ContactFactory(structure=structure, is_principal=True)
    new = ContactFactory(structure=structure, nom="DIRECTEUR", prenom="Paul")
    data = contact_data(
        structure, **{"contact-nom": "DIRECTEUR", "contact-prenom": "Paul", "contact-is_principal": "on"}
    )
    data.pop("contact-confirm_new")
    response = of_client.post(edit_url(new), data)
    assert response.status_code == 302, response.context["form"].errors
    old.refresh_from_db()
    new.refresh_from_db()
    assert new.is_principal and not old.is_principal
    assert Contact.objects.filter(structure=structure, is_principal=True).count() == 1
    assert structure.history.filter(details__contains="Contact principal").exists()


def test_c6_the_main_contact_cannot_be_unticked(of_client, structure):
    main = ContactFactory(structure=structure, nom="OFFRE", prenom="Equipe", is_principal=True)
    data = contact_data(structure, **{"contact-nom": "OFFRE", "contact-prenom": "Equipe"})
    data.pop("contact-confirm_new")
    response = of_client.post(edit_url(main), data)
    assert response.status_code == 200
    assert "personne responsable de l&#x27;établissement" in response.content.decode()
    main.refresh_from_db()
    assert main.is_principal


def test_c6_structure_without_main_contact_is_warned(of_client, structure):
    ContactFactory(structure=structure)
    assert "Aucun contact principal" in of_client.get(detail(structure)).content.decode()


# --- delete -----------------------------------------------------------------------------------


def test_c6_delete_contact_asks_then_deletes_and_logs(of_client, structure):
    contact = ContactFactory(structure=structure, nom="MARC")
    assert "Supprimer le contact" in of_client.get(delete_url(contact)).content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()  # GET only asks
    response = of_client.post(delete_url(contact))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert structure.history.filter(details__contains="supprimé").exists()


def test_c6_delete_main_contact_refused_while_other_contacts_exist(of_client, structure):
    main = ContactFactory(structure=structure, is_principal=True)
    ContactFactory(structure=structure)
    response = of_client.post(delete_url(main))
    assert "désignez d&#x27;abord un autre contact principal" in response.content.decode()
    assert Contact.objects.filter(pk=main.pk).exists()


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_c6_delete_contact_used_by_a_session_is_refused_in_french(of_client, of_user, structure):
    formation = published_formation(structure, user=of_user)
    sv = formation.live_version.sessions.get()
    contact = ContactFactory(structure=structure)
    SessionContact.objects.create(session_version=sv, contact=contact, type_contact="3", is_principal=True)
    response = of_client.post(delete_url(contact))
    html = response.content.decode()
    assert response.status_code == 200
    assert "ne peut pas être supprimé" in html and sv.session.reference in html
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not structure.history.filter(details__contains="supprimé").exists()


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_c6_delete_contact_d_inscription_is_refused(of_client, of_user, structure):
    formation = published_formation(structure, user=of_user)
    sv = formation.live_version.sessions.get()
    contact = ContactFactory(structure=structure)
    sv.contact_inscription = contact
    sv.save()
    response = of_client.post(delete_url(contact))
    assert sv.session.reference in response.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- F7: the reusable ContactForm -----------------------------------------------------------------


def test_f7_contact_form_offers_only_the_structures_the_user_holds_rights_on():
    mine = StructureFactory(nom="OF présentation OFELI")
    antenna = StructureFactory(nom="OF présentation OFELI - Antenne")
    foreign = StructureFactory(nom="3 SIGMA")
    user = MembershipFactory(structure=mine).user
    MembershipFactory(user=user, structure=antenna)
    form = ContactForm(user=user, structure=antenna)
    assert set(form.fields["structure"].queryset) == {mine, antenna}
    assert form.initial["structure"] == antenna.pk
    assert list(form.fields) == [
        "structure",
        "nom",
        "prenom",
        "types",
        "fonction",
        "service",
        "email",
        "telephone",
        "confirm_new",
    ]
    assert form.fields["confirm_new"].label == CONFIRM_NEW_LABEL
    forged = ContactForm(contact_data(foreign), user=user)
    assert not forged.is_valid() and "structure" in forged.errors
    assert not Contact.objects.filter(structure=foreign).exists()
    assert set(ContactForm(user=StaffFactory()).fields["structure"].queryset) == {mine, antenna, foreign}


def test_f7_contact_form_in_the_session_form_and_save():
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    form = ContactForm(contact_data(structure), user=user, form_id="session-form")
    html = form.as_div()
    assert 'form="session-form"' in html and 'name="contact-nom"' in html
    assert form.is_valid(), form.errors
    contact = form.save()
    assert contact.structure == structure and contact.reference.endswith("C")
    assert not contact.is_principal
    assert structure.history.get(action=HistoryAction.CONTACT_CHANGED).author == user

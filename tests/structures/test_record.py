"""The structure record « Fiche organisme »: read mode and change request (C1), tabs (C2),
identity (C3), coordonnées (C4), organisation (C5), complément (C7), formations (C8),
gestion (C9)."""

import html
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from ofeli.formations.models import SessionTrainer
from ofeli.referentials.models import Label
from ofeli.structures.forms import CoordonneesForm
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.guards import allow_published_changes
from ofeli.workflow.models import ChangeRequest
from tests.factories import ContactFactory, MembershipFactory, StructureFactory, published_formation

pytestmark = pytest.mark.django_db


def url(structure):
    return reverse("structures:detail", args=[structure.reference])


def fields_of(version, **overrides):
    """The POST of the record form with the version's values (what the page shows)."""
    data = {
        "adresse": version.adresse,
        "complement": version.complement,
        "code_postal": version.code_postal,
        "ville": version.ville,
        "code_insee": version.code_insee,
        "latitude": "" if version.latitude is None else str(version.latitude),
        "longitude": "" if version.longitude is None else str(version.longitude),
        "telephone": version.telephone,
        "telephone_secondaire": version.telephone_secondaire,
        "email": version.email,
        "site_web": version.site_web,
    }
    if version.saisie_manuelle:
        data["saisie_manuelle"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def open_change(client, structure):
    assert client.post(url(structure), {"action": "request_change"}).status_code == 302
    return ChangeRequest.objects.get(structure=structure, status=ChangeStatus.DRAFT)


# --- C1 read mode and change request ---------------------------------------------------------


def test_c1_record_opens_in_read_mode_with_demande_de_modification(of_client, structure):
    html = of_client.get(url(structure)).content.decode()
    assert "Demande de modification" in html
    assert 'id="structure-form"' not in html
    assert ">Soumettre pour validation</button>" not in html and ">Sauvegarder le brouillon</button>" not in html
    assert "10 Rue Saint-Étienne 45000 Orléans" in html


def test_c1_sidemenu_ma_structure_opens_the_record(of_client, structure):
    html = of_client.get(reverse("dashboard")).content.decode()
    assert f'href="{url(structure)}"' in html


def test_c1_while_open_the_three_buttons_and_the_published_record_unchanged(of_client, structure):
    live = structure.live_version
    change = open_change(of_client, structure)
    html = of_client.get(url(structure)).content.decode()
    for label in ("Supprimer ma demande", "Sauvegarder le brouillon", "Soumettre pour validation"):
        assert f">{label}</button>" in html
    assert "Demande de modification</button>" not in html
    response = of_client.post(
        url(structure), fields_of(change.structure_version, adresse="8 Rue Jeanne d'Arc", action="save")
    )
    assert response.status_code == 302
    change.structure_version.refresh_from_db()
    structure.refresh_from_db()
    assert change.structure_version.adresse == "8 Rue Jeanne d'Arc"
    assert structure.live_version_id == live.pk
    live.refresh_from_db()
    assert live.adresse == "10 Rue Saint-Étienne"
    assert structure.of_updated_at is not None


def test_c1_a_second_demande_de_modification_does_not_blank_the_draft(of_client, structure):
    change = open_change(of_client, structure)
    of_client.post(url(structure), {"action": "request_change"})  # double click, back button...
    change.structure_version.refresh_from_db()
    assert change.structure_version.adresse == "10 Rue Saint-Étienne"
    assert ChangeRequest.objects.filter(structure=structure).count() == 1


def test_c1_soumettre_then_carif_accepts_publishes_the_new_version(of_client, structure, staff):
    change = open_change(of_client, structure)
    data = fields_of(change.structure_version, adresse="8 Rue Jeanne d'Arc", action="submit")
    response = of_client.post(url(structure), data)
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED
    html = of_client.get(url(structure)).content.decode()
    assert "en attente de validation" in html and ">Soumettre pour validation</button>" not in html
    services.accept(change, staff)
    structure.refresh_from_db()
    assert structure.live_version_id == change.structure_version_id
    assert "8 Rue Jeanne d&#x27;Arc 45000 Orléans" in of_client.get(url(structure)).content.decode()


def test_c1_rules_that_block_submission_are_listed_with_links_to_the_fields(of_client, structure):
    change = open_change(of_client, structure)
    data = fields_of(change.structure_version, ville="", code_postal="", action="submit")
    response = of_client.post(url(structure), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Avant de soumettre, corrigez ces points" in html
    assert 'href="#id_code_postal"' in html and "le code postal, la ville" in html
    change.refresh_from_db()
    assert change.status == ChangeStatus.DRAFT  # not sent
    change.structure_version.refresh_from_db()
    assert change.structure_version.ville == ""  # the draft is saved half-complete


def test_c1_structure_problems_accepted_and_refused_cases():
    from ofeli.structures.rules import structure_problems

    version = StructureFactory().live_version
    assert structure_problems(version) == []
    version.site_web = "http://www.example.org"
    version.telephone = "12"
    version.email = "pas-un-mail"
    version.adresse = ""
    fields = {p.field for p in structure_problems(version)}
    assert fields == {"site_web", "telephone", "email", "adresse"}
    assert all(p.section == "coordonnees" for p in structure_problems(version))


def test_c1_supprimer_ma_demande_deletes_the_draft_only(of_client, structure):
    live_id = structure.live_version_id
    change = open_change(of_client, structure)
    draft_id = change.structure_version_id
    response = of_client.post(url(structure), {"action": "cancel"})
    assert response.status_code == 302
    change.refresh_from_db()
    structure.refresh_from_db()
    assert change.status == ChangeStatus.CANCELLED
    assert structure.live_version_id == live_id
    assert not structure.versions.filter(pk=draft_id).exists()
    assert "Demande de modification" in of_client.get(url(structure)).content.decode()


def test_c1_submitted_request_cannot_be_changed_by_the_of_user(of_client, structure):
    change = open_change(of_client, structure)
    services.submit(change, change.created_by)
    response = of_client.post(
        url(structure), fields_of(change.structure_version, adresse="1 Rue X", action="save"), follow=True
    )
    # Refused with the reason (R2), not an error page.
    assert "cette demande n'est plus modifiable, elle est « En attente de validation »" in html.unescape(
        response.content.decode()
    )
    assert of_client.post(url(structure), {"action": "cancel"}).status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED
    change.structure_version.refresh_from_db()
    assert change.structure_version.adresse == "10 Rue Saint-Étienne"


def test_c1_needs_info_lets_the_of_user_correct_and_resubmit(of_client, structure, staff):
    change = open_change(of_client, structure)
    services.submit(change, change.created_by)
    services.request_info(change, staff, "Précisez le numéro de la rue.")
    html = of_client.get(url(structure)).content.decode()
    assert "Précisez le numéro de la rue." in html and ">Soumettre pour validation</button>" in html
    of_client.post(url(structure), fields_of(change.structure_version, adresse="12 Rue Saint-Étienne", action="submit"))
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED


def test_c1_staff_may_correct_a_submitted_request_and_it_is_logged(client, of_user, structure, staff):
    client.force_login(of_user)
    change = open_change(client, structure)
    services.submit(change, of_user)
    client.force_login(staff)
    html = client.get(url(structure)).content.decode()
    assert "Enregistrer la correction" in html and ">Soumettre pour validation</button>" not in html
    client.post(url(structure), fields_of(change.structure_version, complement="Bâtiment B", action="submit"))
    change.refresh_from_db()
    change.structure_version.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED and change.structure_version.complement == "Bâtiment B"
    assert structure.history.filter(action=HistoryAction.STAFF_CORRECTION).exists()


def test_c1_enter_in_a_field_saves_never_deletes(of_client, structure):
    """The first submit button of the form (the one Enter uses) is « save »."""
    open_change(of_client, structure)
    html = of_client.get(url(structure)).content.decode()
    form = html[html.index('<form method="post" id="structure-form"') :]
    first_button = form[form.index("<button") : form.index("</button>")]
    assert 'value="save"' in first_button


def test_c1_structure_never_published_starts_from_an_empty_record(client):
    structure = StructureFactory(with_version=False)
    client.force_login(MembershipFactory(structure=structure).user)
    html = client.get(url(structure)).content.decode()
    assert "ne sont pas encore renseignées" in html
    change = open_change(client, structure)
    response = client.post(url(structure), fields_of(change.structure_version, action="submit"))
    assert "L&#x27;adresse de la structure est incomplète" in response.content.decode()
    data = fields_of(
        change.structure_version,
        adresse="10 Rue Grande",
        code_postal="36000",
        ville="Châteauroux",
        saisie_manuelle="on",
        action="submit",
    )
    assert client.post(url(structure), data).status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED and change.is_new_object


# --- C2 tabs ---------------------------------------------------------------------------


TAB_LABELS = [
    "Identité",
    "Coordonnées",
    "Organisation",
    "Contacts",
    "Complément organisme de formation",
    "Formations de l&#x27;OF",
    "Gestion",
]


def test_c2_tabs_in_the_guide_order_with_their_panels(of_client, structure):
    html = of_client.get(url(structure)).content.decode()
    positions = [html.index(f">{label}</button>") for label in TAB_LABELS]
    assert positions == sorted(positions)
    for panel in ("identite", "coordonnees", "organisation", "contacts", "complement", "formations", "gestion"):
        assert f'role="tabpanel" aria-labelledby="tab-{panel}"' in html
        assert f'aria-controls="{panel}"' in html
    assert html.count("fr-tabs__panel--selected") == 1
    assert 'id="identite" class="fr-tabs__panel fr-tabs__panel--selected"' in html


def test_c2_tab_chosen_by_parameter_or_by_contacts_search(of_client, structure):
    html = of_client.get(url(structure), {"onglet": "gestion"}).content.decode()
    assert 'id="gestion" class="fr-tabs__panel fr-tabs__panel--selected"' in html
    html = of_client.get(url(structure), {"contacts_q": "x"}).content.decode()
    assert 'id="contacts" class="fr-tabs__panel fr-tabs__panel--selected"' in html
    assert 'aria-selected="true" aria-controls="contacts"' in html


def test_c2_without_javascript_every_panel_is_shown(of_client, structure):
    html = of_client.get(url(structure)).content.decode()
    noscript = html[html.index("<noscript>") : html.index("</noscript>")]
    assert 'href="/static/ofeli/structure-noscript.css"' in noscript  # a file: the CSP forbids inline styles
    from django.contrib.staticfiles import finders

    css = Path(finders.find("ofeli/structure-noscript.css")).read_text(encoding="utf-8")
    assert ".fr-tabs__panel { visibility: visible !important" in css


# --- C3 Identité ------------------------------------------------------------------------


def test_c3_identity_is_read_only_with_definitions_and_messagerie(of_client, structure):
    open_change(of_client, structure)
    html = of_client.get(url(structure)).content.decode()
    assert f'id="identite-siret" value="{structure.siret}" readonly' in html
    assert f'id="identite-nda" value="{structure.nda}" readonly' in html
    assert 'id="identite-raison_sociale" value="OF PRESENTATION OFELI" readonly' in html
    assert 'id="identite-uai"' in html
    for name in ("siret", "nda", "uai", "raison_sociale"):
        assert f'name="{name}"' not in html
    assert "Unité Administrative Immatriculée" in html and "02 38 79 38 79" in html
    assert "champs grisés" in html and f'href="{reverse("messaging:inbox")}"' in html


def test_c3_of_user_cannot_change_identity_by_a_forged_field(of_client, structure):
    change = open_change(of_client, structure)
    siret, nda = structure.siret, structure.nda
    data = fields_of(change.structure_version, action="save", siret="43256884800027", nda="24370253537")
    data.update(raison_sociale="AUTRE", nom="Autre", uai="0451234A", parent=StructureFactory().pk)
    of_client.post(url(structure), data)
    structure.refresh_from_db()
    assert (structure.siret, structure.nda, structure.raison_sociale, structure.parent_id) == (
        siret,
        nda,
        "OF PRESENTATION OFELI",
        None,
    )


# --- C4 Coordonnées -----------------------------------------------------------------------


def form_for(version, **overrides):
    return CoordonneesForm(fields_of(version, **overrides), instance=version)


def test_c4_web_site_must_be_https():
    version = StructureFactory().live_version
    form = form_for(version, site_web="http://www.example.org")
    assert not form.is_valid() and "https://" in form.errors["site_web"][0]
    assert form_for(version, site_web="https://www.example.org/formations").is_valid()
    form = form_for(version, site_web="www.example.org")  # the scheme is added: https
    assert form.is_valid() and form.cleaned_data["site_web"] == "https://www.example.org"


def test_c4_phone_numbers_checked_and_written_the_french_way():
    version = StructureFactory().live_version
    form = form_for(version, telephone="02.38.77.83.35", telephone_secondaire="+33 2 38 77 04 90")
    assert form.is_valid()
    assert form.cleaned_data["telephone"] == "02 38 77 83 35"
    assert form.cleaned_data["telephone_secondaire"] == "02 38 77 04 90"
    form = form_for(version, telephone="12 34")
    assert not form.is_valid() and "10 chiffres" in form.errors["telephone"][0]


def test_c4_postal_code_and_email_checked():
    version = StructureFactory().live_version
    assert "5 chiffres" in form_for(version, code_postal="450").errors["code_postal"][0]
    assert "email" in form_for(version, email="contact@").errors


def test_c4_address_changed_by_hand_drops_the_stale_geolocation():
    version = StructureFactory().live_version
    form = form_for(version, adresse="12 Rue Saint-Étienne", saisie_manuelle="on")
    assert form.is_valid()
    saved = form.save()
    assert saved.latitude is None and saved.code_insee == "" and saved.saisie_manuelle


def test_c4_address_chosen_in_the_ban_keeps_its_geolocation():
    version = StructureFactory().live_version
    form = form_for(
        version,
        adresse="8 Rue Jeanne d'Arc",
        code_insee="45234",
        latitude="47.902503",
        longitude="1.904613",
    )
    assert form.is_valid()
    saved = form.save()
    assert saved.latitude == Decimal("47.902503") and saved.longitude == Decimal("1.904613")


def test_c4_validation_error_keeps_what_was_typed(of_client, structure):
    change = open_change(of_client, structure)
    data = fields_of(
        change.structure_version, adresse="8 Rue Jeanne d'Arc", site_web="http://mon-site.fr", action="save"
    )
    response = of_client.post(url(structure), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="8 Rue Jeanne d&#x27;Arc"' in html and 'value="http://mon-site.fr"' in html
    assert 'id="id_site_web-desc-error"' in html and "Ce que vous avez saisi est conservé" in html
    assert 'id="coordonnees" class="fr-tabs__panel fr-tabs__panel--selected"' in html
    change.structure_version.refresh_from_db()
    assert change.structure_version.adresse == "10 Rue Saint-Étienne"


def test_c4_localiser_l_adresse_without_javascript(of_client, structure, fake_ban):
    change = open_change(of_client, structure)
    data = fields_of(
        change.structure_version,
        adresse="56 Avenue du Danemark",
        code_postal="37100",
        ville="Tours",
        saisie_manuelle="on",
        action="locate_address",
    )
    response = of_client.post(url(structure), data, follow=True)
    assert "Adresse localisée : 56 Avenue du Danemark 37100 Tours" in response.content.decode()
    version = change.structure_version
    version.refresh_from_db()
    assert (version.adresse, version.code_insee, version.latitude) == (
        "56 Avenue du Danemark",
        "37261",
        Decimal("47.419900"),
    )


def test_c4_ban_unreachable_localiser_keeps_the_typed_address(of_client, structure, settings):
    settings.BAN_API_URL = "http://127.0.0.1:9"
    change = open_change(of_client, structure)
    data = fields_of(change.structure_version, adresse="3 Chemin Perdu", saisie_manuelle="on", action="locate_address")
    response = of_client.post(url(structure), data, follow=True)
    assert "ne répond pas" in response.content.decode()
    version = change.structure_version
    version.refresh_from_db()
    assert version.adresse == "3 Chemin Perdu" and version.latitude is None
    # and nothing blocks the submission
    of_client.post(url(structure), fields_of(version, action="submit"))
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED


def test_c4_address_search_widget_and_test_link_on_the_draft(of_client, structure):
    open_change(of_client, structure)
    html = of_client.get(url(structure)).content.decode()
    assert "Rechercher une adresse" in html and 'data-form="structure-form"' in html
    assert "Saisie manuelle" in html and "Localiser l'adresse</button>" in html
    assert 'id="site-web-test" href="https://www.example.org"' in html and "Tester le lien" in html
    assert "code INSEE 45234, latitude 47.902964, longitude 1.909251" in html


# --- C5 Organisation ------------------------------------------------------------------------


def test_c5_parent_and_attached_structures_read_only(of_client, structure):
    parent = StructureFactory(nom="OF siège")
    structure.parent = parent
    structure.save()
    child = StructureFactory(nom="OF présentation OFELI - Antenne", parent=structure)
    html = of_client.get(url(structure)).content.decode()
    organisation = html[html.index('id="organisation"') : html.index('id="contacts"')]
    assert child.reference in organisation and parent.reference in organisation
    assert "<input" not in organisation and "Pour modifier ces rattachements" in organisation


# --- C7 Complément ----------------------------------------------------------------------------


def test_c7_qualites_are_part_of_the_draft_and_published_on_accept(of_client, structure, staff):
    qualiopi = Label.objects.create(kind="qualite", code="95", libelle="Qualiopi")
    convention = Label.objects.create(kind="convention", code="12", libelle="Cléa")
    change = open_change(of_client, structure)
    data = fields_of(change.structure_version, action="submit", qualites=[qualiopi.pk], labels=[convention.pk])
    of_client.post(url(structure), data)
    structure.refresh_from_db()
    assert not structure.live_version.labels.exists()  # still the published version
    change.refresh_from_db()
    services.accept(change, staff)
    html = of_client.get(url(structure)).content.decode()
    assert "95 - Qualiopi" in html and "12 - Cléa" in html


def test_c7_a_convention_cannot_be_posted_as_a_qualite():
    convention = Label.objects.create(kind="convention", code="12", libelle="Cléa")
    version = StructureFactory().live_version
    form = form_for(version, qualites=[convention.pk])
    assert not form.is_valid() and "qualites" in form.errors


# --- C8 Formations de l'OF ------------------------------------------------------------------------


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_c8_formations_where_the_of_is_responsible_and_where_it_trains(of_client, structure):
    own = published_formation(structure, intitule="Comptabilité pour les petites entreprises")
    other = published_formation(intitule="Gestion de la paie")
    sv = other.live_version.sessions.get()
    SessionTrainer.objects.create(session_version=sv, structure=structure, is_principal=False)
    unrelated = published_formation(intitule="Soudure")
    html = of_client.get(url(structure)).content.decode()
    panel = html[html.index('id="formations"') : html.index('id="gestion"')]
    responsible = panel[panel.index('id="formations-responsable"') : panel.index('id="formations-formateur"')]
    trainer = panel[panel.index('id="formations-formateur"') :]
    assert own.reference in responsible and "Diffusion" in responsible
    assert f'href="{reverse("formations:detail", args=[own.reference])}"' in responsible
    assert other.reference in trainer and "Gestion de la paie" in trainer
    assert f'href="{reverse("formations:detail", args=[other.reference])}"' not in trainer  # no rights on it
    assert unrelated.reference not in panel
    assert "Voir les formations dont l'OF est responsable" in panel
    assert "Voir les formations dont l'OF est formateur" in panel


# --- C9 Gestion ---------------------------------------------------------------------------------


def test_c9_history_dates_and_authors(of_client, of_user, structure, staff):
    change = open_change(of_client, structure)
    of_client.post(url(structure), fields_of(change.structure_version, action="submit"))
    change.refresh_from_db()
    services.accept(change, staff, "Adresse vérifiée.")
    ContactFactory(structure=structure, is_principal=True)
    html = of_client.get(url(structure)).content.decode()
    gestion = html[html.index('id="gestion"') :]
    for action in ("Demande de modification", "Demande de vérification", "Demande acceptée"):
        assert action in gestion
    assert "Adresse vérifiée." in gestion and staff.display_name in gestion
    assert f"<dd>{structure.reference}</dd>" in gestion
    assert "Mise à jour Admin</dt><dd>le " in gestion and f"par {staff.display_name}" in gestion
    assert "Mise à jour SAD</dt><dd>le " in gestion and f"par {of_user.display_name}" in gestion
    assert "Création</dt><dd>le " in gestion and "Structure parente" in gestion

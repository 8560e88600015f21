"""Issue 3 in Chromium: a certifying apprenticeship formation with one complete session
(cycles, blocs, recruitment slots), and « Dupliquer » for the next year."""

import datetime
import re

import pytest

from ofeli.formations.models import Formation
from tests.e2e.test_browser_path import login
from tests.factories import (
    ApprenticeshipDispositifFactory,
    BlocFactory,
    CertificationFactory,
    ContactFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    published_formation,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_e2_f9_f10_f13_apprenticeship_formation_with_a_complete_session(page):
    """Apprenticeship formations are created by the Carif (E5: an OF adds sessions only)."""
    certification = CertificationFactory()
    for _ in range(3):
        BlocFactory(certification=certification)
    ApprenticeshipDispositifFactory()
    structure = StructureFactory(nom="OF présentation OFELI")
    ContactFactory(structure=structure, nom="DOUGNAC", prenom="Aurélie", types=["14"])
    staff = StaffFactory()
    login(page, staff.email, "Motdepasse!1")
    page.get_by_role("link", name="Espace structure").click()
    page.get_by_label("Rechercher une structure (nom, référence, SIRET)").fill("OFELI")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("button", name="Choisir OF présentation OFELI", exact=True).click()
    page.get_by_role("link", name="Formations", exact=True).click()
    page.get_by_role("link", name="Ajouter").click()
    page.get_by_label("Libellé du diplôme, code RNCP, code RS ou code Certifinfo").fill("94419")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_label("Sélectionner BTS assurance").check(force=True)
    page.get_by_role("button", name="Valider ma sélection").click()
    page.get_by_role("button", name="Créer").click()
    page.get_by_label("Durée cycle (années)").fill("2")
    page.get_by_role("button", name="Ajouter").click()

    page.get_by_role("textbox", name="Date de début").fill("2026-09-01")
    page.get_by_role("textbox", name="Date de fin").fill("2028-06-30")
    page.get_by_label("Type de formation").select_option(label="Formation en alternance")
    # financement: financeur then mesure (dependent list)
    page.get_by_text("Ajouter un financement").click()
    page.get_by_label("Financeur").select_option(label="98018 - OPCO")
    page.locator("#id_fin-dispositif").get_by_text("AOP02 - Contrat d'apprentissage").wait_for(state="attached")
    page.get_by_label("Mesure").select_option(label="AOP02 - Contrat d'apprentissage (OPCO)")
    page.get_by_label("Nb places").fill("15")
    page.locator("#add-financement").get_by_role("button", name="Valider").click()
    page.locator("#financements tbody").get_by_text("AOP02 - Contrat d'apprentissage").wait_for()
    # contact with its type (required for apprenticeship)
    page.get_by_text("Ajouter un contact", exact=True).click()
    page.get_by_label("Personne").fill("DOUGNAC")  # searched, not a drop-down (issue 10)
    page.get_by_label(re.compile(r"Aurélie DOUGNAC$")).check(force=True)
    page.locator("#id_ct-type_contact").select_option(label="14 - Référent Apprentissage")
    page.get_by_role("button", name="Valider ma sélection").click()
    # cycles: years 1 and 2
    for year in ("Année 1", "Année 2"):
        page.get_by_text("Ajouter un cycle").click()
        page.get_by_label("Année cycle").select_option(label=year)
        page.get_by_label("Type de cycle").select_option(label="1 - Contrat d'apprentissage")
        page.get_by_label("Type d'alternance").select_option(label="1 - Contrat d'apprentissage (CA)")
        page.locator("#cycles").get_by_role("button", name="Valider").click()
    assert page.locator("#cycles tbody tr").count() == 2
    # blocs: Totale
    page.get_by_text("Ajouter des blocs de compétences").click()
    page.get_by_label("Type de validation").select_option(label="1 - Totale: tous les blocs")
    page.locator("#blocs").get_by_role("button", name="Valider").click()
    page.locator("#blocs tbody").get_by_text("1 - Totale: tous les blocs").wait_for()
    # durées
    page.get_by_label("Durée en centre (heures)").fill("1350")
    page.get_by_label("Durée en entreprise (heures)").fill("2000")
    # recruitment slot: information collective, dated, before the session ends
    page.get_by_text("Ajouter une modalité de recrutement").click()
    page.get_by_label("Modalité de recrutement").select_option(label="Réunion d'information collective")
    page.locator("#id_rs-date").fill("2026-06-15")
    page.get_by_label("Horaire début").fill("10:00")
    page.get_by_label("Horaire fin").fill("11:00")
    page.get_by_label("Nombre de places").fill("10")
    page.get_by_label("Adresse OF Formateur").check(force=True)
    page.locator("#inscription").get_by_role("button", name="Valider").click()
    page.locator("#inscription tbody").get_by_role(
        "cell", name="Réunion d'information collective", exact=True
    ).wait_for()
    assert page.get_by_label("Durée en centre (heures)").input_value() == "1350"
    page.get_by_role("button", name="Sauvegarder le brouillon").click()
    page.get_by_text("Session sauvegardée dans le brouillon").wait_for()
    assert not page.locator("#problems").is_visible() or page.locator("#problems").inner_text() == ""
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("en attente de validation").first.wait_for()
    formation = Formation.objects.get()
    sv = formation.change_requests.get().formation_version.sessions.get()
    assert sv.cycles.count() == 2 and sv.blocs.get().blocs.count() == 3 and sv.recruitment_slots.count() == 1


def test_e6_f2_duplicate_a_session_for_the_next_year(page):
    formation = published_formation()
    live = formation.live_version.sessions.get()
    # set up as published (a published version is otherwise read-only)
    type(live).objects.filter(pk=live.pk).update(
        date_debut=datetime.date(2026, 1, 1), date_fin=datetime.date(2026, 12, 31), entree_sortie_permanente=True
    )
    user = formation.change_requests.first().created_by
    user.set_password("Motdepasse!1")
    user.save()
    MembershipFactory(user=user)  # two structures: pick the formation's one
    login(page, user.email, "Motdepasse!1")
    page.get_by_role("button", name=f"Choisir {formation.structure.nom}", exact=True).click()
    page.goto(f"/ofeli/formations/{formation.reference}/")
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_role("button", name=f"Dupliquer la session {live.session.reference}").click()
    # F2: the dates of the new session are asked first, next year's by default
    assert page.get_by_label("Date de début de la nouvelle session").input_value() == "2027-01-01"
    assert page.get_by_label("Date de fin de la nouvelle session").input_value() == "2027-12-31"
    page.get_by_role("button", name="Dupliquer la session").click()
    page.get_by_text("Session dupliquée").wait_for()
    new_ref = re.search(r"nouvelle session (\d+S)", page.get_by_text("Session dupliquée").inner_text()).group(1)
    assert new_ref != live.session.reference
    assert page.get_by_role("textbox", name="Date de début").input_value() == "2027-01-01"
    page.get_by_role("button", name="Sauvegarder le brouillon").click()
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Votre demande est envoyée").wait_for()
    change = formation.change_requests.get(status="submitted")
    dates = sorted(change.formation_version.sessions.values_list("date_debut", flat=True))
    assert dates == [datetime.date(2026, 1, 1), datetime.date(2027, 1, 1)]
    # the published version still has one session until the Carif accepts
    formation.refresh_from_db()
    assert formation.live_version.sessions.count() == 1

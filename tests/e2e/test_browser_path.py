"""Issue 2 §4 in Chromium: a new user, guided by the guide's labels, walks from
« Créer mon compte » to the published offer and the LHEO file."""

import re

import pytest
from django.core import mail
from django.core.management import call_command

from ofeli.users.models import Membership, User
from tests.factories import (
    CertificationFactory,
    DispositifFactory,
    StaffFactory,
    StructureFactory,
    StructureStateFactory,
    StructureTypeFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, email, password):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def logout(page):
    page.get_by_role("button", name="Se déconnecter").click()


def test_a2_to_h2_thin_path_in_browser(page, tmp_path):
    StructureTypeFactory()
    StructureStateFactory()
    DispositifFactory()
    CertificationFactory()
    staff = StaffFactory(email="gestion@example.org")
    other = StructureFactory(nom="OF présentation OFELI - Antenne")

    # 1. « Créer mon compte » with a wrong SIRET first: the message is on the field, nothing typed is lost.
    page.goto("/ofeli/")
    page.get_by_role("link", name="Créer mon compte").first.click()
    page.get_by_label("SIRET de l'établissement de formation").fill("21860076500019")
    page.get_by_role("textbox", name="Numéro de déclaration d'activité").fill("24370369337")
    page.get_by_role("textbox", name="Nom du contact référent", exact=True).fill("Thevenin")
    page.get_by_label("Prénom du contact référent").fill("Laure")
    page.get_by_label("Téléphone du contact référent").fill("0238778335")
    page.get_by_label("Adresse e-mail du contact référent").fill("laure@example.org")
    page.get_by_text("J'accepte la").click()
    page.get_by_role("button", name="Créer votre compte").click()
    assert page.locator("#id_siret-desc-error").inner_text().startswith("Ce SIRET n'est pas valide")
    assert page.get_by_role("textbox", name="Nom du contact référent", exact=True).input_value() == "Thevenin"
    assert page.get_by_role("checkbox").is_checked()
    page.get_by_label("SIRET de l'établissement de formation").fill("21860076500018")
    page.get_by_role("button", name="Créer votre compte").click()
    page.get_by_text("Votre demande de compte est enregistrée").wait_for()

    # 2. A staff member accepts the request; the activation mail carries the link.
    login(page, staff.email, "Motdepasse!1")
    page.get_by_role("link", name="Demandes de compte").first.click()
    page.locator("table tbody a").first.click()
    page.get_by_label("Raison sociale").fill("OF PRESENTATION OFELI")
    page.get_by_label("Nom de la structure").fill("OF présentation OFELI")
    page.get_by_role("button", name="Accepter et envoyer la clé d'activation").click()
    page.get_by_text("Demande acceptée").wait_for()
    logout(page)
    link = re.search(r"http://\S+/activer/\S+/", mail.outbox[-1].body).group(0)

    # 3. Choose the password (A4), then log in (A5).
    page.goto(link)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill("motdepasse")
    page.get_by_label("Confirmation du mot de passe").fill("motdepasse")
    page.get_by_role("button", name="Sauvegarder").click()
    page.locator("#id_new_password1-desc-error").get_by_text("au moins une lettre majuscule").wait_for()
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill("Ofeli-2026!")
    page.get_by_label("Confirmation du mot de passe").fill("Ofeli-2026!")
    page.get_by_role("button", name="Sauvegarder").click()
    page.get_by_text("Votre mot de passe est enregistré").wait_for()
    user = User.objects.get(email="laure@example.org")
    Membership.objects.create(user=user, structure=other)  # a second structure: B2 asks to choose
    login(page, "laure@example.org", "Ofeli-2026!")

    # 4. « Espace structure » then the dashboard counters.
    page.get_by_role("heading", name="Espace structure").wait_for()
    page.get_by_role("button", name="Choisir OF présentation OFELI", exact=True).click()
    page.get_by_role("heading", name="Tableau de bord").wait_for()
    assert page.get_by_text("Formations en cours de création").is_visible()

    # 5. A certifying formation (E2, E3), one session with dates, trainer, place, durations.
    page.get_by_role("link", name="Formations", exact=True).click()
    page.get_by_role("link", name="Ajouter").click()
    page.get_by_label("Libellé du diplôme, code RNCP, code RS ou code Certifinfo").fill("assurance")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_label("Sélectionner BTS assurance").check(force=True)
    page.get_by_role("button", name="Valider ma sélection").click()
    page.locator("#selected-certification").get_by_text("94419 - BTS assurance").wait_for()
    page.get_by_role("button", name="Créer").click()
    page.get_by_role("heading", name="BTS assurance").wait_for()
    assert page.get_by_label("Objectif").input_value() == "Former des techniciens de l'assurance."
    page.get_by_label("Niveau d'entrée").select_option(label="Niveau 4")
    page.get_by_role("button", name="Ajouter").click()
    page.get_by_role("heading", name=re.compile("Session")).wait_for()
    page.get_by_role("textbox", name="Date de début").fill("2026-09-01")
    page.get_by_role("textbox", name="Date de fin").fill("2028-06-30")
    assert (
        page.locator("#organisation table")
        .first.get_by_role("cell", name="OF présentation OFELI", exact=True)
        .is_visible()
    )
    page.get_by_text("Créer un nouveau lieu de formation").click()
    page.get_by_label("Nom du lieu").fill("OF pour les tests OFELI")
    page.get_by_label("Numéro et voie").fill("10 Rue Saint-Étienne")
    page.get_by_label("Code postal").fill("45000")
    page.get_by_label("Ville").fill("Orléans")
    page.get_by_role("button", name="Sauvegarder et choisir").click()
    page.get_by_text("Lieu « OF pour les tests OFELI » créé").wait_for()
    assert page.get_by_role("textbox", name="Date de début").input_value() == "2026-09-01"
    page.get_by_text("Ajouter un financement").click()
    page.get_by_label("Financeur").select_option(label="98020 - Privé (Entreprise / Particulier)")
    page.locator("#id_fin-dispositif option", has_text="CPR02").wait_for(state="attached")
    page.get_by_label("Mesure").select_option(index=1)
    page.locator("#add-financement").get_by_role("button", name="Valider").click()
    page.get_by_text("Ajouter une modalité de recrutement").click()
    page.get_by_label("Modalité de recrutement").select_option(label="Inscription sur candidature")
    page.locator("#inscription").get_by_role("button", name="Valider").click()
    page.locator("#inscription tbody").get_by_role("cell", name="Inscription sur candidature", exact=True).wait_for()
    page.get_by_label("Durée en centre (heures)").fill("500")
    page.get_by_label("Durée en entreprise (heures)").fill("800")
    assert page.locator("output[data-duration-total]").inner_text() == "1300"
    page.get_by_role("button", name="Sauvegarder le brouillon").click()
    page.get_by_text("Session sauvegardée dans le brouillon").wait_for()
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Votre demande est envoyée").wait_for()
    session_ref = page.locator("tbody a").first.inner_text()
    logout(page)

    # 6. The staff member opens the request and accepts it.
    login(page, staff.email, "Motdepasse!1")
    page.get_by_role("link", name="Demandes à valider").first.click()
    page.locator("tbody a").first.click()
    page.get_by_text(f"Session {session_ref}").first.wait_for()
    page.get_by_role("button", name="Accepter et publier").click()
    page.get_by_text("Demande acceptée : la nouvelle version est publiée").wait_for()
    logout(page)

    # 7. The public site lists it and shows the Numéro CARIF.
    page.goto("/")
    page.get_by_label("Métier, formation, diplôme, organisme").fill("assurance")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="BTS assurance", exact=True).first.click()  # the card's title
    assert page.locator("[data-numero-carif]").first.inner_text() == session_ref

    # 8. The LHEO 2.3 file of the published offer validates against the XSD.
    output = tmp_path / "offre.xml"
    call_command("export_lheo", "--lheo-version", "2.3", "--output", str(output))
    from ofeli.exports.validation import validate_lheo

    assert validate_lheo(output, "2.3") == []
    assert session_ref in output.read_text(encoding="utf-8")

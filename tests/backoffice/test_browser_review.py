"""Issue 4 in Chromium: an OF user submits a change, a gestionnaire sends it back with a
comment, the OF user corrects and resubmits, the gestionnaire accepts, and the public page
of the formation shows the new version."""

import re

import pytest

from ofeli.workflow.models import ChangeRequest
from tests.factories import (
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    StructureStateFactory,
    StructureTypeFactory,
    published_formation,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Motdepasse!1"


def login(page, email):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", name="Tableau de bord").wait_for()


def logout(page):
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("button", name="Se connecter").wait_for()


def open_the_request(page, change_pk):
    page.get_by_role("link", name="Demandes à valider").first.click()
    page.get_by_role("heading", name="Demandes à valider").wait_for()
    page.get_by_role("link", name=f"Ouvrir la demande n°{change_pk}").click()
    page.get_by_role("heading", name=f"Demande n°{change_pk} — Formation et sessions").wait_for()


def test_g1_g2_g3_h1_send_back_correct_resubmit_accept_publish(page):
    StructureTypeFactory()
    StructureStateFactory()
    structure = StructureFactory(nom="OF présentation OFELI")
    of_user = MembershipFactory(structure=structure, user__email="laure@example.org").user
    staff = StaffFactory(email="gestion@example.org", first_name="Gestion", last_name="OFFRE")
    formation = published_formation(structure, user=of_user)
    old_title = formation.live_version.intitule

    # 1. The OF user asks for a change, renames the formation and submits it.
    login(page, of_user.email)
    page.goto(f"/ofeli/formations/{formation.reference}/")
    page.get_by_role("button", name="Demande de modification").click()
    page.get_by_label("Intitulé de la formation").fill("Comptabilité des très petites entreprises")
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Votre demande est envoyée").wait_for()
    change = ChangeRequest.objects.get(formation=formation, status="submitted")
    logout(page)

    # 2. The gestionnaire opens it from the queue, sees old and new side by side, sends it back.
    login(page, staff.email)
    open_the_request(page, change.pk)
    changes = page.locator("#modifications + h3 + .bo-diff")
    assert old_title in changes.inner_text() and "Comptabilité des très petites entreprises" in changes.inner_text()
    page.get_by_role("button", name="En attente complément d'information").click()
    assert page.locator("#id_comment-desc-error").inner_text().startswith("Indiquez au demandeur")  # comment required
    page.get_by_label("Commentaire CARIF").fill("Précisez l'objectif : la préparation du bilan est-elle incluse ?")
    page.get_by_role("button", name="En attente complément d'information").click()
    page.get_by_text("Demande renvoyée au demandeur").wait_for()
    logout(page)

    # 3. The OF user reads the comment in the messagerie, corrects and resubmits.
    login(page, of_user.email)
    page.get_by_role("link", name="Messagerie").first.click()
    page.get_by_text("Votre demande est en attente de complément d'information").first.wait_for()
    assert page.get_by_text("la préparation du bilan est-elle incluse ?").first.is_visible()
    page.goto(f"/ofeli/formations/{formation.reference}/")
    page.get_by_role("heading", name="En attente complément d'information").wait_for()
    page.get_by_role("textbox", name=re.compile(r"^Objectif")).fill(
        "Tenir la comptabilité courante et préparer le bilan annuel."
    )
    page.get_by_role("button", name="Soumettre pour validation").click()
    page.get_by_text("Votre demande est envoyée").wait_for()
    logout(page)

    # 4. The gestionnaire accepts: the new version is published.
    login(page, staff.email)
    open_the_request(page, change.pk)
    assert "préparer le bilan annuel" in page.locator("#modifications + h3 + .bo-diff").inner_text()
    page.get_by_role("button", name="Accepter et publier").click()
    page.get_by_text("Demande acceptée : la nouvelle version est publiée.").wait_for()
    logout(page)

    # 5. The public page shows the new version.
    page.goto(f"/formation/{formation.reference}/")
    page.get_by_role("heading", name="Comptabilité des très petites entreprises", level=1).wait_for()
    assert page.get_by_text("préparer le bilan annuel").first.is_visible()
    assert old_title not in page.locator("h1").inner_text()

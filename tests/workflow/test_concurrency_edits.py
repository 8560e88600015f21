"""R1: two people saving the same editing page never lose a word without being told.

Each test loads a page in two Django test clients (two browsers), saves it in one, then
saves it from the other, older, page: the second save is refused with the list of what
changed meanwhile and the form keeps what was typed; saving again from the refused page
(which carries the new revision) goes through. Runs on SQLite and PostgreSQL."""

import pytest
from django.urls import reverse

from ofeli.formations.models import Financement, SessionPlace
from ofeli.workflow import guards, services
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest, DraftRevision
from tests.factories import (
    DispositifFactory,
    LieuFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    SuperviseurFactory,
    draft_formation,
    published_formation,
)
from tests.workflow.pages import client_for, page_data, text

pytestmark = pytest.mark.django_db


def assert_conflict(response, *labels):
    assert response.status_code == 200
    page = text(response)
    assert "Vos modifications ne sont pas enregistrées" in page
    assert 'id="draft-conflict"' in page
    changes = response.context["conflict"].changes
    assert [c.label for c in changes] == list(labels)
    return changes


# --- the formation page ------------------------------------------------------------------


def test_r1_formation_page_stale_save_is_refused_and_keeps_typed_text():
    change = draft_formation()
    user = change.created_by
    colleague = MembershipFactory(structure=change.structure, user__first_name="Laure", user__last_name="Thevenin").user
    url = reverse("formations:detail", args=[change.formation.reference])
    a, b = client_for(colleague), client_for(user)
    page_a, page_b = a.get(url), b.get(url)
    assert page_a.context["draft_revision"] == page_b.context["draft_revision"] == 0
    assert 'name="draft_revision" value="0"' in page_b.content.decode()

    assert a.post(url, page_data(page_a, **{"f-objectif": "Objectif écrit par A."})).status_code == 302
    refused = b.post(url, page_data(page_b, **{"f-contenu": "Contenu écrit par B."}))

    (objectif,) = assert_conflict(refused, "Objectif")
    assert objectif.old == "Tenir la comptabilité courante." and objectif.new == "Objectif écrit par A."
    assert "Laure Thevenin" in text(refused)
    assert "Contenu écrit par B." in text(refused)  # nothing typed is lost (F15)
    version = change.formation_version
    version.refresh_from_db()
    assert version.objectif == "Objectif écrit par A." and version.contenu == "Écritures, TVA, bilan."

    # B merges (keeps A's objectif) and saves again from the refused page: it goes through.
    assert refused.context["draft_revision"] == 1
    merged = page_data(refused, **{"f-objectif": "Objectif écrit par A."})
    assert merged["f-contenu"] == "Contenu écrit par B."
    assert b.post(url, merged).status_code == 302
    version.refresh_from_db()
    assert (version.objectif, version.contenu) == ("Objectif écrit par A.", "Contenu écrit par B.")


def test_r1_saving_ones_own_page_twice_in_a_row_keeps_working():
    change = draft_formation()
    client = client_for(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    for n, objectif in enumerate(["Premier objectif.", "Deuxième objectif.", "Troisième objectif."]):
        page = client.get(url)
        assert page.context["draft_revision"] == n
        assert client.post(url, page_data(page, **{"f-objectif": objectif})).status_code == 302
    change.formation_version.refresh_from_db()
    assert change.formation_version.objectif == "Troisième objectif."
    assert DraftRevision.objects.filter(change_request=change, scope="formation").count() == 3


def test_r1_a_page_refused_for_a_validation_error_saves_once_corrected():
    change = draft_formation()
    client = client_for(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    page = client.get(url)
    invalid = client.post(url, page_data(page, **{"f-intitule": "", "f-objectif": "Gardé."}))
    assert invalid.status_code == 200 and "Gardé." in text(invalid)
    assert invalid.context["draft_revision"] == 0  # nothing saved: same revision
    fixed = page_data(invalid, **{"f-intitule": "Comptabilité générale"})
    assert client.post(url, fixed).status_code == 302


def test_r1_a_page_re_rendered_for_a_validation_error_keeps_the_revision_it_was_loaded_from():
    """Someone saves while the user's page comes back with a validation error: correcting
    and saving again must still be refused as stale, not overwrite the other save."""
    change = draft_formation()
    url = reverse("formations:detail", args=[change.formation.reference])
    a, b = client_for(change.created_by), client_for(MembershipFactory(structure=change.structure).user)
    page_a, page_b = a.get(url), b.get(url)
    assert a.post(url, page_data(page_a, **{"f-objectif": "Objectif de A."})).status_code == 302
    invalid = b.post(url, page_data(page_b, **{"f-intitule": "", "f-contenu": "Contenu de B."}))
    assert invalid.status_code == 200 and invalid.context["draft_revision"] == 0
    refused = b.post(url, page_data(invalid, **{"f-intitule": "Comptabilité générale"}))
    assert_conflict(refused, "Objectif")
    change.formation_version.refresh_from_db()
    assert change.formation_version.objectif == "Objectif de A."


def test_r1_structure_record_re_rendered_for_a_validation_error_keeps_its_revision():
    structure = StructureFactory()
    a, b = (
        client_for(MembershipFactory(structure=structure).user),
        client_for(MembershipFactory(structure=structure).user),
    )
    url = reverse("structures:detail", args=[structure.reference])
    a.post(url, {"action": "request_change"})
    page_a, page_b = a.get(url), b.get(url)
    assert a.post(url, page_data(page_a, complement="Bâtiment C")).status_code == 302
    invalid = b.post(url, page_data(page_b, email="pas-une-adresse"))
    assert invalid.status_code == 200 and invalid.context["draft_revision"] == 0


def test_r1_adding_a_session_from_a_stale_formation_page_is_refused():
    change = draft_formation()
    url = reverse("formations:detail", args=[change.formation.reference])
    a, b = client_for(change.created_by), client_for(MembershipFactory(structure=change.structure).user)
    page_a, page_b = a.get(url), b.get(url)
    assert a.post(url, page_data(page_a, **{"f-intitule": "Comptabilité générale"})).status_code == 302
    refused = b.post(url, page_data(page_b, action="add_session"))
    assert_conflict(refused, "Intitulé de la formation")
    assert change.formation_version.sessions.count() == 1


def test_r1_pages_without_the_hidden_field_never_skip_the_state_check():
    """A post without the revision (a client that does not send it) still goes through the
    lock and the state check (R2); a non-numeric revision is always stale."""
    change = draft_formation()
    client = client_for(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    page = client.get(url)
    data = page_data(page, **{"f-objectif": "Sans jeton."})
    del data["draft_revision"]
    assert client.post(url, data).status_code == 302
    refused = client.post(url, page_data(page, draft_revision="abc"))
    assert refused.status_code == 200 and refused.context["conflict"] is not None


# --- the session page --------------------------------------------------------------------


@pytest.fixture
def session_page():
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    other = MembershipFactory(structure=change.structure).user
    return change, sv, url, client_for(change.created_by), client_for(other)


def test_r1_session_page_stale_save_is_refused_and_keeps_typed_text(session_page):
    change, sv, url, a, b = session_page
    page_a, page_b = a.get(url), b.get(url)
    saved = a.post(url, page_data(page_a, **{"s-commentaire_session": "Commentaire de A."}, action="save"))
    assert saved.status_code == 302
    refused = b.post(url, page_data(page_b, **{"s-prerequis": "Prérequis de B."}, action="save"))
    (commentaire,) = assert_conflict(refused, "Commentaire session")
    assert commentaire.new == "Commentaire de A."
    assert "Prérequis de B." in text(refused)
    sv.refresh_from_db()
    assert (sv.commentaire_session, sv.prerequis) == ("Commentaire de A.", "")

    merged = page_data(refused, **{"s-commentaire_session": "Commentaire de A."}, action="save")
    assert b.post(url, merged).status_code == 302
    sv.refresh_from_db()
    assert (sv.commentaire_session, sv.prerequis) == ("Commentaire de A.", "Prérequis de B.")


def test_r1_session_sub_actions_follow_the_same_rule(session_page):
    """« Ajouter » a place in one browser, a financement from an older page in the other:
    the financement is refused, what was typed in its row stays, the place is listed as
    changed meanwhile; the same action from the refused page then works."""
    change, sv, url, a, b = session_page
    lieu = LieuFactory(structure=change.structure, nom="Antenne de Blois", ville="Blois")
    dispositif = DispositifFactory()
    page_a, page_b = a.get(url), b.get(url)
    assert a.post(url, page_data(page_a, action="add_place", place=lieu.pk)).status_code == 302
    financement = {
        "action": "add_financement",
        "fin-financeur": dispositif.financeur_id,
        "fin-dispositif": dispositif.pk,
        "fin-nb_places": "12",
        "fin-numero_marche": "MARCHE-2026-17",
    }
    refused = b.post(url, page_data(page_b, **financement))
    (places,) = assert_conflict(refused, "Lieux de formation")
    assert "Antenne de Blois" in places.new
    assert "MARCHE-2026-17" in text(refused)
    assert not Financement.objects.filter(session_version=sv, numero_marche="MARCHE-2026-17").exists()
    assert SessionPlace.objects.filter(session_version=sv, lieu=lieu).exists()

    again = b.post(url, page_data(refused, **financement))
    assert again.status_code == 302
    assert Financement.objects.filter(session_version=sv, numero_marche="MARCHE-2026-17").exists()


def test_r1_a_re_rendered_session_page_carries_the_token_of_its_own_save(session_page):
    """An action that re-renders the page (a row form refused) saved the plain fields: the
    page comes back with the new revision, so the next save from it is not refused."""
    change, sv, url, a, _ = session_page
    page = a.get(url)
    rerendered = a.post(url, page_data(page, **{"s-prerequis": "Savoir lire."}, action="add_cycle"))
    assert rerendered.status_code == 200 and rerendered.context["conflict"] is None
    assert rerendered.context["draft_revision"] == 1
    assert a.post(url, page_data(rerendered, action="save")).status_code == 302
    sv.refresh_from_db()
    assert sv.prerequis == "Savoir lire."


def test_r1_two_sessions_of_one_formation_are_saved_independently():
    change = draft_formation(sessions=2)
    first, second = change.formation_version.sessions.order_by("pk")
    ref = change.formation.reference
    a, b = client_for(change.created_by), client_for(MembershipFactory(structure=change.structure).user)
    url1 = reverse("formations:session", args=[ref, first.session.reference])
    url2 = reverse("formations:session", args=[ref, second.session.reference])
    page1, page2 = a.get(url1), b.get(url2)
    assert a.post(url1, page_data(page1, **{"s-prerequis": "Un."}, action="save")).status_code == 302
    assert b.post(url2, page_data(page2, **{"s-prerequis": "Deux."}, action="save")).status_code == 302


# --- the structure record ----------------------------------------------------------------


def test_r1_structure_record_stale_save_is_refused_and_keeps_typed_text():
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    colleague = MembershipFactory(structure=structure).user
    url = reverse("structures:detail", args=[structure.reference])
    a, b = client_for(user), client_for(colleague)
    assert a.post(url, {"action": "request_change"}).status_code == 302
    page_a, page_b = a.get(url), b.get(url)
    assert a.post(url, page_data(page_a, complement="Bâtiment B, 2e étage")).status_code == 302
    refused = b.post(url, page_data(page_b, site_web="https://www.exemple-formation.fr"))
    changes = {c.label: c for c in refused.context["conflict"].changes}
    assert "Vos modifications ne sont pas enregistrées" in text(refused)
    assert changes["Complément d'adresse"].new == "Bâtiment B, 2e étage"
    assert "Site web" not in changes
    assert "https://www.exemple-formation.fr" in text(refused)
    draft = ChangeRequest.objects.get(structure=structure, status=ChangeStatus.DRAFT).structure_version
    assert (draft.complement, draft.site_web) == ("Bâtiment B, 2e étage", structure.live_version.site_web)

    merged = page_data(refused, complement="Bâtiment B, 2e étage")
    assert b.post(url, merged).status_code == 302
    draft.refresh_from_db()
    assert (draft.complement, draft.site_web) == ("Bâtiment B, 2e étage", "https://www.exemple-formation.fr")


# --- two Carif staff correcting the same submitted request -------------------------------


def test_r1_two_staff_corrections_of_a_submitted_request():
    change = draft_formation()
    services.submit(change, change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    gestionnaire, superviseur = client_for(StaffFactory()), client_for(SuperviseurFactory())
    page_g, page_s = gestionnaire.get(url), superviseur.get(url)
    assert page_g.context["ctx"].staff_correction
    assert (
        gestionnaire.post(url, page_data(page_g, **{"f-objectif": "Corrigé par le gestionnaire."})).status_code == 302
    )
    refused = superviseur.post(url, page_data(page_s, **{"f-contenu": "Corrigé par le superviseur."}))
    assert_conflict(refused, "Objectif")
    assert "Corrigé par le superviseur." in text(refused)
    change.formation_version.refresh_from_db()
    assert change.formation_version.contenu == "Écritures, TVA, bilan."


def test_r1_two_staff_corrections_of_a_submitted_session(session_page):
    change, sv, url, _, _ = session_page
    services.submit(change, change.created_by)
    gestionnaire, superviseur = client_for(StaffFactory()), client_for(SuperviseurFactory())
    page_g, page_s = gestionnaire.get(url), superviseur.get(url)
    assert gestionnaire.post(url, page_data(page_g, **{"s-prerequis": "Corrigé."}, action="save")).status_code == 302
    refused = superviseur.post(url, page_data(page_s, **{"s-commentaire_session": "Vu."}, action="save"))
    assert_conflict(refused, "Pré-requis")


def test_r1_revisions_of_a_decided_request_are_removed():
    change = draft_formation()
    client = client_for(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    assert client.post(url, page_data(client.get(url), **{"f-objectif": "Avant décision."})).status_code == 302
    assert DraftRevision.objects.filter(change_request=change).count() == 1
    services.submit(change, change.created_by)
    services.accept(change, StaffFactory())
    assert not DraftRevision.objects.filter(change_request=change).exists()


# --- R2 in the model layer -----------------------------------------------------------------


def test_r2_a_published_version_is_never_modified_again_in_the_model_layer():
    formation = published_formation()
    version = formation.live_version
    version.objectif = "Écrit après la publication."
    with pytest.raises(guards.PublishedVersionError, match="acceptée et publiée"):
        version.save()
    sv = version.sessions.get()
    sv.prerequis = "Écrit après la publication."
    with pytest.raises(guards.PublishedVersionError):
        sv.save()
    with pytest.raises(guards.PublishedVersionError):
        sv.places.first().save()
    version.refresh_from_db()
    assert version.objectif == "Tenir la comptabilité courante."
    # A new « Demande de modification » is the way to change it.
    change = services.start_formation_change(formation, formation.change_requests.first().created_by)
    change.formation_version.objectif = "Écrit dans un nouveau brouillon."
    change.formation_version.save()


def test_r2_a_published_structure_version_is_never_modified_again():
    structure = StructureFactory()
    staff = StaffFactory()
    change = services.start_structure_change(structure, staff)
    services.submit(change, staff)
    services.accept(change, staff)
    version = change.structure_version
    version.telephone = "0247000001"
    with pytest.raises(guards.PublishedVersionError, match="fiche organisme"):
        version.save()
    with pytest.raises(guards.PublishedVersionError):
        version.labels.clear()

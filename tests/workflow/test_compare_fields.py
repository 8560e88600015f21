"""G2: what changed against the published version, field by field and session by session,
for every kind of field; a new formation shows everything as added."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from ofeli.formations import models as fm
from ofeli.referentials.models import Label
from ofeli.structures.models import StructureVersion
from ofeli.workflow import services
from ofeli.workflow.compare import (
    FieldChange,
    compare_formations,
    compare_structures,
    formation_content,
    session_summary,
)
from tests.factories import (
    BlocFactory,
    CertificationFactory,
    ContactFactory,
    DispositifFactory,
    FinanceurFactory,
    LieuFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def change():
    """A published formation with one session and an open change request on it."""
    formation = published_formation()
    return services.start_formation_change(formation, formation.created_by)


def diff(change):
    published = change.formation.live_version
    return compare_formations(published, change.formation_version)


def by_label(changes):
    return {c.label: c for c in changes}


def draft_session(change):
    return change.formation_version.sessions.get()


def test_g2_an_untouched_copy_shows_no_change(change):
    fields, sessions = diff(change)
    assert fields == []
    assert [(s.status, s.changes) for s in sessions] == [("unchanged", [])]
    assert session_summary(sessions) == "1 session inchangée"


def test_g2_formation_fields_of_every_kind(change):
    version = change.formation_version
    certification = CertificationFactory()
    version.intitule = "Comptabilité des très petites entreprises"  # char
    version.duree_cycle = 2  # integer, was empty
    version.niveau_sortie = "14"  # choice: shown by its label
    version.certification = certification  # foreign key
    version.site_web = "https://www.example.org/compta"  # URL
    version.contenu = ""  # text emptied
    version.save()
    fields = by_label(diff(change)[0])
    assert fields["Intitulé de la formation"].old == "Comptabilité pour les petites entreprises"
    assert fields["Intitulé de la formation"].new == "Comptabilité des très petites entreprises"
    assert fields["Intitulé de la formation"].status == "modified"
    assert (fields["Durée cycle (années)"].old, fields["Durée cycle (années)"].new) == ("", "2")
    assert fields["Durée cycle (années)"].status == "added"
    assert fields["Niveau de sortie"].new.startswith("Niveau 4. Capacité à effectuer")
    assert fields["Certification"].new == str(certification)
    assert fields["Site web de la formation"].new == "https://www.example.org/compta"
    assert fields["Contenu"].status == "removed" and fields["Contenu"].old == "Écritures, TVA, bilan."
    assert "Objectif" not in fields  # unchanged fields are not listed


def test_g2_long_texts_are_shown_as_a_readable_word_diff(change):
    version = change.formation_version
    old = change.formation.live_version.objectif
    version.objectif = old.replace("courante", "quotidienne") + (
        "\nPréparer les déclarations de TVA et le bilan annuel avec l'expert-comptable <b>de l'entreprise</b>, "
        "en respectant les échéances fiscales et sociales de la petite entreprise."
    )
    version.save()
    change_ = by_label(diff(change)[0])["Objectif"]
    assert change_.is_long
    assert '<del class="diff-old"><span class="fr-sr-only">retiré : </span>courante' in change_.old_html
    assert '<ins class="diff-new"><span class="fr-sr-only">ajouté : </span>quotidienne' in change_.new_html
    assert "<br>" in change_.new_html  # line breaks kept
    assert "&lt;b&gt;de l&#x27;entreprise&lt;/b&gt;" in change_.new_html  # text is escaped
    assert "Tenir la comptabilité" in change_.old_html and "<del" not in change_.new_html


def test_g2_session_fields_of_every_kind(change):
    sv = draft_session(change)
    sv.date_debut = datetime.date(2026, 10, 5)  # date
    sv.a_la_demande = True  # boolean
    sv.modalite_enseignement = "1"  # choice
    sv.modalites_pedagogiques = ["1", "5"]  # JSON list of codes
    sv.rythme = "30"  # code without model choices
    sv.duree_centre = 420  # integer, and the computed total
    sv.lieu_inscription = LieuFactory(structure=change.structure, nom="Centre de Blois")  # foreign key
    sv.save()
    changes = by_label(diff(change)[1][0].changes)
    assert (changes["Date de début"].old, changes["Date de début"].new) == ("01/09/2026", "05/10/2026")
    assert (changes["Session à la demande"].old, changes["Session à la demande"].new) == ("Non", "Oui")
    assert changes["Modalité d'enseignement"].new == "Formation mixte"
    assert changes["Modalités pédagogiques"].new == "Cours en groupe, Stage en entreprise"
    assert changes["Rythmes"].new == "30 - Temps plein"
    assert (changes["Durée en centre"].new, changes["Durée totale"].new) == ("420", "620")
    assert changes["Lieu d'inscription"].new.startswith("Centre de Blois")


def test_g2_session_rows_added_and_removed(change):
    sv = draft_session(change)
    structure = change.structure
    other = StructureFactory(nom="Formateur associé")
    fm.SessionTrainer.objects.create(session_version=sv, structure=other)
    fm.SessionPlace.objects.filter(session_version=sv).delete()
    fm.SessionPlace.objects.create(
        session_version=sv, lieu=LieuFactory(structure=structure, nom="Salle B"), is_principal=True
    )
    fm.SessionContact.objects.create(
        session_version=sv, contact=ContactFactory(structure=structure, nom="MARC"), type_contact="3"
    )
    fm.Financement.objects.filter(session_version=sv).update(nb_places=20)
    fm.Financement.objects.create(
        session_version=sv,
        dispositif=DispositifFactory(
            code="AOP02", libelle="Contrat d'apprentissage", financeur=FinanceurFactory(code="98018", libelle="OPCO")
        ),
        financeur=FinanceurFactory(code="98018", libelle="OPCO"),
        nb_places=5,
    )
    fm.Cycle.objects.create(session_version=sv, annee=1, type_cycle="1", type_alternance="1")
    certification = CertificationFactory()
    blocs = fm.SessionBlocs.objects.create(session_version=sv, certification=certification, type_validation="0")
    blocs.blocs.add(BlocFactory(certification=certification, code="RNCP38234BC01"))
    fm.Equipement.objects.create(session_version=sv, type_equipement="1", cout_indicatif=Decimal("45.00"))
    fm.RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="9",
        date=datetime.date(2026, 8, 20),
        heure_debut=datetime.time(10, 0),
        heure_fin=datetime.time(11, 0),
        nb_places=10,
        structure=structure,
    )
    changes = by_label(diff(change)[1][0].changes)
    assert "Formateur associé" in changes["Organismes formateurs"].new
    assert "Salle B" in changes["Lieux de formation"].new and "Centre de formation" in changes["Lieux de formation"].old
    assert "MARC" in changes["Contacts"].new and changes["Contacts"].status == "added"
    assert "12 places" in changes["Financements"].old and "20 places" in changes["Financements"].new
    assert "Contrat d'apprentissage" in changes["Financements"].new
    assert changes["Cycles de l'alternance"].new.startswith("Année 1 : 1 - Contrat d'apprentissage")
    assert "RNCP38234BC01" in changes["Blocs de compétences"].new
    assert "45.00" in changes["Équipements"].new
    assert "20/08/2026 10:00-11:00 10 places" in changes["Modalités de recrutement"].new


def test_g2_sessions_added_removed_modified_unchanged():
    change = draft_formation(sessions=3)
    services.submit(change, change.created_by)
    services.accept(change, StaffFactory())
    formation = change.formation
    formation.refresh_from_db()
    change = services.start_formation_change(formation, change.created_by)
    first, second, third = change.formation_version.sessions.order_by("date_debut")
    services.remove_session(change, first, change.created_by)
    second.duree_entreprise = 250
    second.save()
    added = services.add_session(
        change, change.created_by, date_debut=datetime.date(2027, 1, 4), date_fin=datetime.date(2027, 6, 30)
    )
    fields, sessions = compare_formations(formation.live_version, change.formation_version)
    status = {s.reference: s.status for s in sessions}
    assert status == {
        first.session.reference: "removed",
        second.session.reference: "modified",
        third.session.reference: "unchanged",
        added.session.reference: "added",
    }
    removed = next(s for s in sessions if s.status == "removed")
    assert all(c.new == "" for c in removed.changes) and removed.dates == "du 01/09/2026 au 30/06/2027"
    new = next(s for s in sessions if s.status == "added")
    assert all(c.old == "" for c in new.changes)
    assert by_label(new.changes)["Date de début"].new == "04/01/2027"
    assert session_summary(sessions) == "1 session ajoutée, 1 session retirée, 1 session modifiée, 1 session inchangée"


def test_g2_a_new_formation_shows_everything_as_added(client):
    change = draft_formation(sessions=2)
    services.submit(change, change.created_by)
    fields, sessions = compare_formations(None, change.formation_version)
    assert fields and all(c.status == "added" for c in fields)
    assert by_label(fields)["Intitulé de la formation"].new == "Comptabilité pour les petites entreprises"
    assert [s.status for s in sessions] == ["added", "added"]
    client.force_login(StaffFactory())
    page = client.get(reverse("workflow:review", args=[change.pk])).content.decode()
    assert "Nouvelle formation : tout est présenté comme ajouté." in page
    assert "2 sessions ajoutées" in page
    assert page.count('data-status="added"') == 2


def test_g2_structure_record_coordonnees_and_labels():
    structure = StructureFactory()
    user = StaffFactory()
    label = Label.objects.create(kind="qualite", code="95", libelle="Qualiopi")
    change = services.start_structure_change(structure, user)
    draft = change.structure_version
    draft.telephone = "0247000000"
    draft.ville = "Tours"
    draft.save()
    draft.labels.add(label)
    changes = by_label(compare_structures(structure.live_version, draft))
    assert (changes["Téléphone principal"].old, changes["Téléphone principal"].new) == ("0238778335", "0247000000")
    assert changes["Ville"].new == "Tours"
    assert changes["Conventions / labels / qualités"].new == "95 - Qualiopi"
    assert set(changes) == {"Téléphone principal", "Ville", "Conventions / labels / qualités"}
    # a new record: everything added
    new = StructureVersion.objects.create(structure=structure, ville="Blois")
    assert [(c.label, c.status) for c in compare_structures(None, new)] == [("Ville", "added")]


def test_g2_full_version_content_lists_every_field_and_session(change):
    content = formation_content(change.formation.live_version)
    assert content.fields["Intitulé de la formation"] == "Comptabilité pour les petites entreprises"
    ((reference, session),) = content.sessions
    assert session["Date de début"] == "01/09/2026" and "Organismes formateurs" in session


def test_g2_review_screen_shows_old_and_new_side_by_side(client, change):
    version = change.formation_version
    version.intitule = "Comptabilité des très petites entreprises"
    version.save()
    sv = draft_session(change)
    sv.duree_centre = 500
    sv.save()
    services.submit(change, change.created_by)
    client.force_login(StaffFactory())
    page = client.get(reverse("workflow:review", args=[change.pk])).content.decode()
    assert "Comptabilité pour les petites entreprises" in page and "Comptabilité des très petites entreprises" in page
    assert "1 session modifiée" in page
    assert "Version complète de cette demande" in page
    assert "Hors délai" in page or "Dans les délais" in page or "Bientôt hors délai" in page


def test_g2_field_change_status():
    assert FieldChange("X", "", "a").status == "added"
    assert FieldChange("X", "a", "").status == "removed"
    assert FieldChange("X", "a", "b").status == "modified"

import datetime

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ofeli.core.identifiers import validate_nda, validate_siret, validate_uai
from ofeli.core.models import next_reference
from ofeli.formations.enums import Source
from ofeli.formations.models import Financement, Formation, Session, SessionVersion
from ofeli.messaging.models import Memo, Message
from ofeli.referentials.enums import TrainingKind
from ofeli.structures.models import Contact, Lieu, Structure, StructureVersion
from ofeli.users.enums import AccountRequestStatus, Role
from ofeli.users.models import AccountRequest, Membership, User
from ofeli.workflow.enums import ChangeKind, ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "Demo-ofeli1!"
COUNTED = [
    Structure,
    StructureVersion,
    Contact,
    Lieu,
    User,
    Membership,
    Formation,
    Session,
    SessionVersion,
    Financement,
    ChangeRequest,
    HistoryEntry,
    Message,
    Memo,
    AccountRequest,
]


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture(scope="module")
def _demo_data(django_db_setup, django_db_blocker):
    """The demo is loaded once for the module, inside a transaction rolled back at the end;
    each test runs in its own savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_data, db):
    return Structure.objects.get(reference="00079P")


def live_session(reference):
    session = Session.objects.select_related("formation__live_version").get(reference=reference)
    return session.versions.get(formation_version=session.formation.live_version)


def test_load_demo_is_idempotent(demo):
    first = counts()
    call_command("load_demo", verbosity=0)
    assert counts() == first
    assert first["Formation"] >= 10


def test_c_demo_structures_of_the_guide(demo):
    ofeli = demo
    assert (ofeli.nom, ofeli.siret, ofeli.siren, ofeli.nda) == (
        "OF présentation OFELI",
        "21860076500018",
        "218600765",
        "24370369337",
    )
    assert (ofeli.type.code, ofeli.etat.code) == ("F1610", "DIO")
    record = ofeli.live_version
    assert (record.adresse, record.code_postal, record.ville) == ("10 Rue Saint-Étienne", "45000", "Orléans")
    assert record.latitude and record.longitude
    assert record.site_web.startswith("https://")
    assert [str(label) for label in record.labels.all()] == ["95 - Qualiopi"]
    antenne = Structure.objects.get(reference="23470P")
    assert (antenne.nom, antenne.parent, antenne.nda) == ("OF présentation OFELI - Antenne", ofeli, "24370369337")
    assert antenne.live_version.code_postal == "45140"
    sigma = Structure.objects.get(nom="3 SIGMA")
    assert (sigma.siret, sigma.nda, sigma.live_version.ville) == (
        "43256884800027",
        "24370253537",
        "Chambourg-sur-Indre",
    )
    outside = Structure.objects.get(reference="00315P")
    assert (outside.nom, outside.type.code, outside.nda[:2]) == ("1001 défilentes", "F1620", "75")
    afpa = Structure.objects.get(nom="AFPA de Tours")
    assert sorted(afpa.lieux.values_list("code_postal", "ville")) == [
        ("37100", "Tours"),
        ("37400", "Amboise"),
        ("37600", "Loches"),
    ]


def test_a6_demo_identifiers_are_valid(demo):
    for structure in Structure.objects.all():
        assert structure.live_version is not None, structure
        assert structure.live_version.latitude is not None, structure
        assert structure.live_version.site_web.startswith("https://"), structure
        if structure.siret:
            validate_siret(structure.siret)
        if structure.nda:
            validate_nda(structure.nda)
        if structure.uai:
            validate_uai(structure.uai)
    for lieu in Lieu.objects.all():
        assert lieu.latitude is not None and lieu.code_insee, lieu
    for request in AccountRequest.objects.all():
        validate_siret(request.siret)
        validate_nda(request.nda)


def test_c6_contacts_of_the_guide(demo):
    rows = {
        c.reference: (c.prenom, c.nom, c.types, c.fonction, c.is_principal, c.diffusion_web)
        for c in demo.contacts.all()
    }
    assert rows == {
        "00018C": ("Equipe", "OFFRE", ["5"], "", True, True),
        "43877C": ("Aurélie", "DOUGNAC", ["14"], "", False, False),
        "00196C": ("Carole", "MARC", ["1"], "", False, False),
        "43867C": ("Laure", "THEVENIN", [], "Autre", False, False),
    }
    assert Contact.objects.get(reference="00196C").email == "t.marc@alfacentre.org"
    assert Contact.objects.get(reference="43867C").user.email == "laure.thevenin@example.org"


def test_b2_demo_accounts(demo):
    laure = User.objects.get(email="laure.thevenin@example.org")
    assert laure.role == Role.OF
    assert sorted(laure.memberships.values_list("structure__reference", flat=True)) == ["00079P", "23470P"]
    assert User.objects.get(email="gestion@example.org").role == Role.GESTIONNAIRE
    claire = User.objects.get(email="claire.houix@example.org")
    assert (claire.get_full_name(), claire.role) == ("Claire HOUIX", Role.SUPERVISEUR)
    for email in [
        "laure.thevenin@example.org",
        "gestion@example.org",
        "claire.houix@example.org",
        "aurelie.dougnac@example.org",
    ]:
        assert authenticate(None, username=email, password=DEMO_PASSWORD) is not None, email


def test_h1_session_373847s_is_published(demo):
    formation = Formation.objects.get(reference="2358280F")
    assert formation.structure == demo
    live = formation.live_version
    assert (live.intitule, live.certification.code_certifinfo, live.duree_cycle) == ("BTS assurance", "94419", 2)
    references = set(live.sessions.values_list("session__reference", flat=True))
    assert {"373847S", "308695S"} <= references

    sv = live_session("373847S")
    assert (sv.date_debut, sv.date_fin) == (datetime.date(2024, 9, 1), datetime.date(2026, 12, 31))
    assert sv.kind == TrainingKind.ALTERNANCE
    assert [p.lieu.ville for p in sv.places.all()] == ["Orléans"]
    (financement,) = sv.financements.all()
    assert (
        financement.dispositif.code,
        financement.financeur.code,
        financement.etat,
        financement.etat_recrutement,
        financement.nb_places,
    ) == ("AOP02", "98018", "DI", "1", 15)
    assert [(c.annee, c.type_cycle, c.type_alternance) for c in sv.cycles.all()] == [(1, "1", "1"), (2, "1", "1")]
    (blocs,) = sv.blocs.all()
    assert blocs.type_validation == "1" and blocs.blocs.count() == 10
    assert (sv.duree_centre, sv.duree_entreprise, sv.duree_totale, sv.duree_hebdomadaire) == (500, 800, 1300, 35)
    assert (sv.type_parcours, sv.rythme) == ("1", "30")
    (slot,) = sv.recruitment_slots.all()
    assert (slot.modalite, slot.date, slot.heure_debut, slot.heure_fin, slot.nb_places) == (
        "9",
        datetime.date(2024, 8, 19),
        datetime.time(10),
        datetime.time(11),
        10,
    )
    assert sv.lieu_inscription.nom == "OF pour les tests OFELI"
    assert sv.contact_inscription.reference == "43877C"
    assert (sv.debut_inscription, sv.fin_inscription) == (datetime.date(2024, 8, 5), datetime.date(2024, 8, 31))

    bourges = live_session("308695S")
    assert (bourges.date_debut, bourges.date_fin) == (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    assert bourges.places.get().lieu.code_postal.startswith("18")
    assert bourges.financements.get().dispositif.code == "CPR02"


def test_e6_cap_boucher_sessions_of_the_guide(demo):
    formation = Formation.objects.get(reference="0019057F")
    assert formation.structure.nom == "GIP Alfa Centre"
    rows = {
        sv.session.reference: (
            sv.date_debut,
            sv.date_fin,
            sv.financements.get().dispositif.code,
            sv.places.get().lieu.ville,
        )
        for sv in formation.live_version.sessions.all()
    }
    assert rows["373840S"] == (datetime.date(2024, 9, 15), datetime.date(2026, 9, 30), "AOP02", "Châteauroux")
    assert rows["524168S"] == (datetime.date(2024, 9, 2), datetime.date(2025, 7, 4), "AOP03", "Châteauroux")
    assert rows["524885S"] == (datetime.date(2024, 9, 1), datetime.date(2026, 6, 30), "AOP03", "Orléans")
    for sv in formation.live_version.sessions.all():
        assert sv.trainers.get(is_principal=True).structure == formation.structure


def test_h1_every_published_formation_has_current_offer(demo):
    today = timezone.localdate()
    published = Formation.objects.filter(live_version__isnull=False, archived_at__isnull=True)
    assert published.count() >= 10
    for formation in published:
        ends = formation.live_version.sessions.values_list("date_fin", flat=True)
        assert max(ends) >= today, formation
    departements = {
        sv.places.get(is_principal=True).lieu.departement
        for formation in published
        for sv in formation.live_version.sessions.all()
        if sv.date_fin >= today
    }
    assert {"18", "28", "36", "37", "41", "45"} <= departements
    kinds = set(SessionVersion.objects.filter(formation_version__live_of__in=published).values_list("kind", flat=True))
    assert kinds == {TrainingKind.CONTINUE, TrainingKind.ALTERNANCE, TrainingKind.SCOLAIRE}
    assert published.filter(source=Source.FRANCE_TRAVAIL).exists()
    assert published.filter(source=Source.REGION).exists()


def test_g_workflow_states_for_the_staff(demo):
    formation_changes = ChangeRequest.objects.filter(kind=ChangeKind.FORMATION)
    submitted = {c.formation.reference: c for c in formation_changes.filter(status=ChangeStatus.SUBMITTED)}
    assert len(submitted) == 2
    boucher = submitted.pop("0019057F")  # a modification of a published formation
    assert boucher.formation_version.contenu != boucher.formation.live_version.contenu
    (new,) = submitted.values()  # a new formation of 00079P
    assert new.is_new_object and new.structure == demo
    needs_info = formation_changes.get(status=ChangeStatus.NEEDS_INFO)
    assert needs_info.formation.reference == "2358280F" and needs_info.carif_comment
    drafts = formation_changes.filter(status=ChangeStatus.DRAFT)
    assert {c.is_new_object for c in drafts} == {True, False}  # « en cours de création » and « Brouillon »
    assert all(c.structure == demo for c in drafts)
    archived = Formation.objects.get(archived_at__isnull=False)
    assert archived.live_version.certification.code_certifinfo == "102925"
    assert Formation.objects.filter(structure=demo).exclude(link_error="").exists()
    pending = AccountRequest.objects.filter(status=AccountRequestStatus.PENDING)
    assert pending.count() == 2
    assert all(r.consent_at for r in pending)
    outside = pending.get(nda__startswith="75")
    assert outside.convention_file


def test_g3_history_is_written_by_the_services(demo):
    actions = set(HistoryEntry.objects.filter(formation__reference="2358280F").values_list("action", flat=True))
    assert {
        HistoryAction.CREATED,
        HistoryAction.SUBMITTED,
        HistoryAction.ACCEPTED,
        HistoryAction.CHANGE_STARTED,
        HistoryAction.NEEDS_INFO,
    } <= actions
    accepted = HistoryEntry.objects.get(structure__reference="23470P", action=HistoryAction.ACCEPTED)
    assert accepted.author.get_full_name() == "Claire HOUIX"
    assert HistoryEntry.objects.filter(action=HistoryAction.ARCHIVED).count() == 1


def test_i1_b4_messages_and_memos(demo):
    unread = Message.objects.filter(structure=demo, from_carif=True, read_at__isnull=True)
    assert unread.count() >= 1
    assert Message.objects.filter(structure=demo, from_carif=True, read_at__isnull=False).exists()
    assert Message.objects.filter(structure=demo, from_carif=False).exists()
    laure = User.objects.get(email="laure.thevenin@example.org")
    assert Memo.objects.filter(user=laure, done=False).count() >= 2
    assert Memo.objects.filter(user=laure, done=True).exists()


def test_counters_do_not_collide_after_demo(demo):
    for kind, model in [("P", Structure), ("C", Contact), ("F", Formation), ("S", Session), ("L", Lieu)]:
        reference = next_reference(kind)
        assert not model.objects.filter(reference=reference).exists(), reference
    assert int(next_reference("S")[:-1]) > 524885
    assert int(next_reference("F")[:-1]) > 2358280

"""``manage.py generate_offer``: a deterministic, realistic, published offer, written fast and additively."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from stdnum.fr import siret as stdnum_siret

from ofeli.core.identifiers import validate_nda, validate_uai
from ofeli.core.text import is_all_capitals
from ofeli.formations.models import Financement, Formation, FormationVersion, Session, SessionVersion
from ofeli.formations.rules import formation_problems
from ofeli.referentials.enums import TrainingKind
from ofeli.referentials.models import Dispositif, Financeur, StructureState, StructureType
from ofeli.structures.models import Contact, Lieu, Structure
from ofeli.workflow.enums import OPEN_STATUSES, ChangeKind, ChangeStatus
from ofeli.workflow.models import ChangeRequest
from tests.factories import CertificationFactory, DispositifFactory

pytestmark = pytest.mark.django_db

TODAY = "2026-11-26"


def generate(structures, formations, sessions, seed=7, *extra):
    out = io.StringIO()
    call_command(
        "generate_offer",
        f"--structures={structures}",
        f"--formations={formations}",
        f"--sessions-per-formation={sessions}",
        f"--seed={seed}",
        f"--today={TODAY}",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def live_sessions():
    return SessionVersion.objects.filter(formation_version__live_of__isnull=False)


# --- a canonical dump of what one run generated, references as offsets in the run -----------


def _number(reference):
    return int(reference[:-1])


def _values(obj, bases):
    """Content of a row: every concrete field but keys and timestamps; links to generated
    rows as reference offsets, links to referentials as their codes."""
    values = {}
    for f in obj._meta.concrete_fields:
        if f.primary_key or f.name in {"created_at", "updated_at", "base_version_id"}:
            continue
        value = getattr(obj, f.attname)
        if f.name == "reference":
            value = _number(value) - bases[value[-1]]
        elif f.is_relation:
            if value is None:
                values[f.name] = None
                continue
            target = getattr(obj, f.name)
            if hasattr(target, "reference"):
                value = (target.reference[-1], _number(target.reference) - bases[target.reference[-1]])
            elif hasattr(target, "code"):
                value = target.code
            elif hasattr(target, "code_certifinfo"):
                value = target.code_certifinfo
            else:
                continue  # a version or a parent row: the nesting of the dump says it
        values[f.name] = value
    return values


def _formation_version_dump(version, bases):
    sessions = []
    for sv in version.sessions.order_by("session__reference"):
        sessions.append(
            {
                "values": _values(sv, bases),
                "children": [
                    [_values(row, bases) for row in getattr(sv, name).order_by("-is_principal", "pk")]
                    for name in ("trainers", "places", "contacts")
                ]
                + [
                    [_values(row, bases) for row in getattr(sv, name).order_by("pk")]
                    for name in ("financements", "cycles", "recruitment_slots")
                ],
            }
        )
    return {"values": _values(version, bases), "sessions": sessions}


def offer_dump(structures):
    """Everything generated for ``structures`` (one run), independent of database ids and of
    where the reference counters stood."""
    structures = list(structures.order_by("reference"))
    formations = Formation.objects.filter(structure__in=structures)
    bases = {
        "P": _number(structures[0].reference),
        "L": min(_number(r) for r in Lieu.objects.filter(structure__in=structures).values_list("reference", flat=True)),
        "C": min(
            _number(r) for r in Contact.objects.filter(structure__in=structures).values_list("reference", flat=True)
        ),
        "F": min(_number(r) for r in formations.values_list("reference", flat=True)),
        "S": min(
            _number(r) for r in Session.objects.filter(formation__in=formations).values_list("reference", flat=True)
        ),
    }
    dump = []
    for structure in structures:
        entry = {
            "values": _values(structure, bases),
            "version": _values(structure.live_version, bases),
            "lieux": [_values(lieu, bases) for lieu in structure.lieux.order_by("reference")],
            "contacts": [_values(contact, bases) for contact in structure.contacts.order_by("reference")],
            "formations": [],
        }
        for formation in structure.formations.order_by("reference"):
            draft = ChangeRequest.objects.filter(formation=formation, status__in=OPEN_STATUSES).first()
            entry["formations"].append(
                {
                    "values": _values(formation, bases),
                    "live": _formation_version_dump(formation.live_version, bases),
                    "draft": _formation_version_dump(draft.formation_version, bases) if draft else None,
                }
            )
        dump.append(entry)
    return dump


# --- tests ----------------------------------------------------------------------------------


def test_small_run_gives_exact_counts_and_a_summary():
    output = generate(3, 2, 3)
    assert Structure.objects.count() == 3
    assert Formation.objects.count() == 6  # --formations is per structure
    assert Session.objects.count() == 18
    assert live_sessions().count() == 18
    assert ChangeRequest.objects.filter(kind=ChangeKind.FORMATION, status=ChangeStatus.ACCEPTED).count() == 6
    for structure in Structure.objects.all():
        assert structure.live_version is not None
        assert 1 <= structure.lieux.count() <= 3
        assert 2 <= structure.contacts.count() <= 4
        assert structure.contacts.filter(is_principal=True).count() == 1
        assert structure.formations.count() == 2
    for formation in Formation.objects.all():
        assert formation.live_version.sessions.count() == 3
    assert "structures: 3" in output
    assert "sessions: 18" in output


def test_generate_offer_is_deterministic():
    """Same arguments and seed → same data, whatever the chunk size; a second run adds data
    with new references (additive)."""
    generate(4, 3, 2, 11, "--chunk-sessions=1")
    first_ids = list(Structure.objects.values_list("pk", flat=True))
    first_dump = offer_dump(Structure.objects.filter(pk__in=first_ids))
    generate(4, 3, 2, 11)
    second_ids = list(Structure.objects.exclude(pk__in=first_ids).values_list("pk", flat=True))
    assert len(second_ids) == 4
    assert offer_dump(Structure.objects.filter(pk__in=second_ids)) == first_dump
    assert Formation.objects.count() == 24
    assert Session.objects.count() == 48
    # references come from the counters: no collision between the two runs
    assert len(set(Session.objects.values_list("reference", flat=True))) == 48

    generate(4, 3, 2, 12)
    assert offer_dump(Structure.objects.exclude(pk__in=first_ids + second_ids)) != first_dump


def test_identifiers_are_valid():
    generate(40, 1, 1)
    regions = Counter()
    for structure in Structure.objects.all():
        assert stdnum_siret.is_valid(structure.siret), structure.siret
        assert structure.siren == structure.siret[:9]
        validate_nda(structure.nda)
        regions[structure.nda[:2]] += 1
        if structure.uai:
            validate_uai(structure.uai)
        assert structure.type.code == "F1610"
        assert structure.etat.code == "DIO"
        version = structure.live_version
        assert version.code_insee[:2] in {"18", "28", "36", "37", "41", "45"}
        assert version.code_postal[:2] == version.code_insee[:2]
        assert 46.3 < version.latitude < 48.95 and 0.05 < version.longitude < 3.15
        version.full_clean()
        structure.full_clean()
    assert regions["24"] >= 30  # mostly declared in Centre-Val de Loire, a few elsewhere
    for lieu in Lieu.objects.all():
        assert stdnum_siret.is_valid(lieu.siret)
        assert lieu.siret[:9] == lieu.structure.siren
        lieu.full_clean()
    for contact in Contact.objects.all():
        assert contact.types and contact.email.endswith(".example.org")
        contact.full_clean()


def test_sessions_are_complete_and_coherent():
    generate(12, 4, 3)
    sessions = (
        live_sessions()
        .select_related("formation_version__formation__structure")
        .prefetch_related("trainers", "places", "contacts", "financements__dispositif", "cycles", "recruitment_slots")
    )
    kinds = Counter()
    for sv in sessions:
        trainers = list(sv.trainers.all())
        assert sum(t.is_principal for t in trainers) == 1
        assert next(t for t in trainers if t.is_principal).structure_id == sv.formation_version.formation.structure_id
        places = list(sv.places.all())
        assert 1 <= len(places) <= 2 and sum(p.is_principal for p in places) == 1
        assert len(sv.contacts.all()) == 1
        assert sv.duree_totale == sv.duree_centre + sv.duree_entreprise
        assert sv.duree_totale > 0
        assert sv.date_debut <= sv.date_fin
        assert 2024 <= sv.date_debut.year <= 2028
        if sv.a_la_demande or sv.entree_sortie_permanente:
            assert (sv.date_debut.month, sv.date_debut.day, sv.date_fin.month, sv.date_fin.day) == (1, 1, 12, 31)
        financements = list(sv.financements.all())
        assert 1 <= len(financements) <= 2
        for financement in financements:
            assert financement.dispositif.financeur_id == financement.financeur_id
            assert financement.dispositif.training_kind == sv.kind
        apprenticeship = any(f.dispositif.code == "AOP02" for f in financements)
        assert len(sv.cycles.all()) == (sv.formation_version.duree_cycle if apprenticeship else 0)
        for slot in sv.recruitment_slots.all():
            assert slot.modalite in {"7", "9"} and (slot.date is None or slot.date < sv.date_fin)
        if sv.modalite_enseignement == "2":
            assert sv.formation_version.formation.structure.nda.startswith("24")
        kinds[sv.kind] += 1
    assert kinds[TrainingKind.CONTINUE] and kinds[TrainingKind.ALTERNANCE]
    assert sessions.filter(modalite_enseignement="0").count() > sessions.count() / 2


def test_generated_formations_are_published_and_submittable():
    generate(10, 10, 2, 3)
    formations = Formation.objects.select_related("live_version")
    for formation in formations:
        version = formation.live_version
        assert version is not None and formation.published_at is not None
        assert formation_problems(version) == []
        assert not is_all_capitals(version.intitule)
        assert version.niveau_sortie in {"1", *[str(code) for code in range(11, 19)]}
        assert version.niveau_entree in {"1", *[str(code) for code in range(11, 19)]}
        assert version.objectif and version.contenu
        assert version.certification_id is None  # no certification in the database: none created
        # dates are consistent: created, then submitted, then published (history dated accordingly)
        assert formation.structure.created_at < formation.created_at < formation.published_at
        accepted = formation.change_requests.get(status=ChangeStatus.ACCEPTED)
        assert accepted.formation_version_id == version.pk
        assert accepted.decided_at == formation.published_at == accepted.history.get().created_at
    assert live_sessions().count() == Session.objects.count() == 200
    assert formations.filter(archived_at__isnull=False).count() >= 1
    # a few formations are being modified: an open draft copied from the published version
    drafts = ChangeRequest.objects.filter(status=ChangeStatus.DRAFT, kind=ChangeKind.FORMATION)
    assert drafts.count() >= 1
    for change in drafts:
        formation = change.formation
        assert change.base_version_id == formation.live_version_id != change.formation_version_id
        assert formation.archived_at is None
        assert set(change.formation_version.sessions.values_list("session_id", flat=True)) == set(
            formation.live_version.sessions.values_list("session_id", flat=True)
        )
    assert FormationVersion.objects.count() == 100 + drafts.count()


def test_minimal_referentials_are_created_when_missing():
    generate(2, 1, 1)
    assert set(Dispositif.objects.values_list("code", flat=True)) == {"CPR02", "AOP02", "AOP03", "PRF01", "AFC01"}
    assert Financeur.objects.get(code="98010").is_public
    assert Dispositif.objects.get(code="AOP02").training_kind == TrainingKind.ALTERNANCE
    assert StructureType.objects.get(code="F1610").libelle == "Organismes de formation continue privé RCVL"
    assert StructureState.objects.get(code="DIO").is_diffused
    generate(2, 1, 1)
    assert Dispositif.objects.count() == 5


def test_existing_dispositifs_and_certifications_are_used():
    only = DispositifFactory()  # CPR02 alone: no minimal set is added, every session uses it
    certification = CertificationFactory(intitule="BTS ASSURANCE", niveau_sortie="15")
    generate(6, 5, 2, 5)
    assert list(Dispositif.objects.all()) == [only]
    assert set(Financement.objects.values_list("dispositif_id", flat=True)) == {only.pk}
    assert set(live_sessions().values_list("kind", flat=True)) == {TrainingKind.CONTINUE}
    certified = FormationVersion.objects.filter(certification=certification)
    assert certified.exists()
    for version in certified:
        assert version.intitule == "BTS assurance"  # prefilled from the certification, not in capitals
        assert version.niveau_sortie == "15"
        assert version.objectif == certification.objectif


def test_command_accepts_keyword_arguments():
    call_command(
        "generate_offer", structures=1, formations=1, sessions_per_formation=1, today=TODAY, stdout=io.StringIO()
    )
    assert live_sessions().get().date_debut.year in range(2024, 2029)


def test_invalid_arguments_are_refused():
    with pytest.raises(CommandError):
        generate(1, 1, 0)
    with pytest.raises(CommandError):
        call_command("generate_offer", "--today=26/11/2026", stdout=io.StringIO())

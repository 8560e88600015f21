"""Reference data: ``manage.py import_certifications FILE`` on a France Compétences export
(fixture: several blocs, a single bloc, an inactive fiche replaced by a new one, an RS fiche
without level, dates dd/mm/yyyy, SIRETs with spaces); a malformed file imports nothing."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ofeli.formations.models import SessionBlocs
from ofeli.referentials.enums import CertificationState
from ofeli.referentials.importers import LEVELS, CertificationImportError, import_certifications, parse
from ofeli.referentials.models import BlocCompetences, Certification
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.guards import allow_published_changes
from ofeli.workflow.models import HistoryEntry
from tests.factories import BlocFactory, CertificationFactory, published_formation

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "france_competences.xml"


@pytest.fixture
def known():
    """What the referential holds before the import (codes Certifinfo from Certifinfo)."""
    bts = CertificationFactory(sigle="")  # 94419, RNCP38234
    for n in range(1, 11):
        BlocFactory(certification=bts, code=f"RNCP38234BC{n:02d}", libelle=f"Ancien libellé {n}")
    old_tp = CertificationFactory(
        code_certifinfo="102925",
        intitule="Titre professionnel gestionnaire comptable et fiscal",
        code_rncp="31677",
        niveau_sortie="15",
        objectif="Texte Certifinfo.",
    )
    caces = CertificationFactory(code_certifinfo="110924", intitule="CACES R489", code_rncp="", code_rs="5629")
    return {"bts": bts, "old_tp": old_tp, "caces": caces}


def snapshot():
    return (
        sorted(Certification.objects.values_list("code_certifinfo", "intitule", "etat", "date_fin_enregistrement")),
        sorted(BlocCompetences.objects.values_list("certification__code_certifinfo", "code", "libelle")),
    )


@allow_published_changes()  # sets up published data directly (R2 guard)
def test_ref_import_on_the_fixture_updates_in_place_and_creates_new_fiches(known):
    formation = published_formation(certification=known["bts"])
    session_version = formation.live_version.sessions.get()
    used = BlocCompetences.objects.get(code="RNCP38234BC09")  # gone from the new fiche, used by a session
    blocs = SessionBlocs.objects.create(
        session_version=session_version, certification=known["bts"], type_validation="2"
    )
    blocs.blocs.add(used)

    result = import_certifications(FIXTURE)

    assert (result.fiches, result.created, result.updated) == (6, 3, 3)
    # 1. An existing certification keeps its Certifinfo code and its row (formations keep it).
    bts = Certification.objects.get(code_rncp="38234")
    assert bts.pk == known["bts"].pk and bts.code_certifinfo == "94419"
    assert bts.niveau_sortie == "15"  # NIV5
    assert bts.date_fin_enregistrement == datetime.date(2029, 8, 31)
    assert bts.date_effet == datetime.date(2023, 9, 1)
    assert bts.etat == CertificationState.PUBLISHED
    # SIRETs with spaces: the same certifier written twice counts once.
    assert bts.valideurs.splitlines() == [
        "Ministère de l'enseignement supérieur et de la recherche",
        "Ministère de l'éducation nationale et de la jeunesse",
    ]
    assert bts.codes_rome == "C1102, C1107, C1110" and bts.codes_nsf == "313"
    assert bts.acces_apprentissage is True
    assert bts.sigle == "BTS"  # empty before: filled from ABREGE/CODE
    assert bts.objectif == "Former des techniciens de l'assurance."  # Certifinfo's text is kept
    codes = list(bts.blocs.values_list("code", flat=True))
    assert codes == [f"RNCP38234BC{n:02d}" for n in (1, 2, 3, 4, 5, 6, 9)]  # BC09 kept: a session uses it
    assert bts.blocs.get(code="RNCP38234BC04").libelle == "Gérer les sinistres et prévenir la fraude à l'assurance"
    assert (result.blocs_deleted, result.blocs_kept) == (3, 1)
    formation.live_version.refresh_from_db()
    assert formation.live_version.certification_id == bts.pk
    assert list(blocs.blocs.all()) == [used]

    # 2. The inactive fiche is replaced by the new one (NOUVELLE / ANCIENNE_CERTIFICATION).
    new_tp = Certification.objects.get(code_rncp="37949")
    assert new_tp.code_certifinfo == "RNCP37949"  # no Certifinfo code yet: the fiche number
    assert new_tp.etat == CertificationState.PUBLISHED
    old_tp = Certification.objects.get(pk=known["old_tp"].pk)
    assert old_tp.etat == CertificationState.INACTIVE
    assert old_tp.replaced_by_id == new_tp.pk
    assert old_tp.objectif == "Texte Certifinfo."
    assert new_tp.blocs.count() == 3 and old_tp.blocs.count() == 4

    # 3. A single bloc (and a single certifier, a single ROME code) where lists are expected.
    cqp = Certification.objects.get(code_rncp="36926")
    assert [b.code for b in cqp.blocs.all()] == ["RNCP36926BC01"]
    assert cqp.niveau_sortie == "13" and cqp.codes_rome == "I1304" and cqp.formacodes == "31623"
    assert cqp.valideurs == "Union des industries et métiers de la métallurgie"
    assert cqp.acces_apprentissage is False
    assert cqp.objectif.startswith("L'opérateur de maintenance industrielle assure")
    assert "<p>" not in cqp.objectif

    # 4. An RS fiche without level.
    rs = Certification.objects.get(code_rs="5785")
    assert rs.code_certifinfo == "RS5785" and rs.code_rncp == ""
    assert rs.niveau_sortie == ""
    assert rs.date_fin_enregistrement == datetime.date(2027, 12, 14)
    assert rs.valideurs == "PIX"
    caces = Certification.objects.get(pk=known["caces"].pk)
    assert caces.date_fin_enregistrement == datetime.date(2029, 6, 30) and caces.niveau_sortie == ""

    # 5. New certifications can be searched (search_text is computed).
    assert Certification.objects.filter(search_text__contains="maintenance").get() == cqp
    # 6. The import is logged.
    entry = HistoryEntry.objects.get(action=HistoryAction.IMPORTED)
    assert "3 certification(s) créée(s)" in entry.details


def test_ref_reimporting_the_same_file_changes_nothing(known):
    import_certifications(FIXTURE)
    before = snapshot()
    ids = dict(Certification.objects.values_list("code_certifinfo", "pk"))
    result = import_certifications(FIXTURE)
    assert (result.created, result.updated, result.blocs_created, result.blocs_deleted) == (0, 0, 0, 0)
    assert result.unchanged == 6
    assert snapshot() == before
    assert dict(Certification.objects.values_list("code_certifinfo", "pk")) == ids


def test_ref_a_newer_export_updates_in_place(known, tmp_path):
    import_certifications(FIXTURE)
    created = Certification.objects.get(code_certifinfo="RNCP37949")
    newer = FIXTURE.read_text(encoding="utf-8").replace(
        "<DATE_FIN_ENREGISTREMENT>01/12/2028</DATE_FIN_ENREGISTREMENT>",
        "<DATE_FIN_ENREGISTREMENT>01/12/2030</DATE_FIN_ENREGISTREMENT>",
    )
    path = tmp_path / "export.xml"
    path.write_text(newer, encoding="utf-8")
    result = import_certifications(path)
    assert (result.created, result.updated) == (0, 1)
    created.refresh_from_db()
    assert created.date_fin_enregistrement == datetime.date(2030, 12, 1)


@pytest.mark.parametrize(
    "content, message",
    [
        (FIXTURE.read_text(encoding="utf-8")[:3000], "n'est pas un XML bien formé (ligne"),
        ("<FICHES><FICHE><NUMERO_FICHE>RNCP1</NUMERO_FICHE><INTITULE>A</INTITULE></FICHE>", "bien formé"),
        ("<CERTIFICATIONS><FICHE/></CERTIFICATIONS>", "l'élément racine est « CERTIFICATIONS »"),
        ("<FICHES></FICHES>", "aucune fiche"),
        ("pas du XML", "bien formé"),
    ],
)
def test_ref_malformed_file_gives_a_clear_error_and_imports_nothing(known, tmp_path, content, message):
    path = tmp_path / "export.xml"
    path.write_text(content, encoding="utf-8")
    before = snapshot()
    with pytest.raises(CertificationImportError) as error:
        import_certifications(path)
    assert message in str(error.value)
    assert snapshot() == before
    assert not HistoryEntry.objects.filter(action=HistoryAction.IMPORTED).exists()


def test_ref_wrong_values_are_all_reported_and_nothing_is_imported(known, tmp_path):
    """A wrong date or number in one fiche: the valid fiches before it are not written."""
    content = (
        FIXTURE.read_text(encoding="utf-8")
        .replace("<DATE_EFFET>15/09/2022</DATE_EFFET>", "<DATE_EFFET>31/02/2022</DATE_EFFET>")
        .replace("<NUMERO_FICHE>RS5629</NUMERO_FICHE>", "<NUMERO_FICHE>5629</NUMERO_FICHE>")
    )
    path = tmp_path / "export.xml"
    path.write_text(content, encoding="utf-8")
    before = snapshot()
    with pytest.raises(CertificationImportError) as error:
        import_certifications(path)
    text = str(error.value)
    assert "fiche RNCP36926" in text and "DATE_EFFET « 31/02/2022 »" in text
    assert "NUMERO_FICHE « 5629 »" in text
    assert "aucune certification n'a été importée" in text
    assert snapshot() == before


def test_ref_external_entities_are_refused(known, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET", encoding="utf-8")
    path = tmp_path / "export.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE FICHES [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<FICHES><FICHE><NUMERO_FICHE>RNCP1</NUMERO_FICHE><INTITULE>A &xxe;</INTITULE></FICHE></FICHES>",
        encoding="utf-8",
    )
    with pytest.raises(CertificationImportError) as error:
        import_certifications(path)
    assert "refusé par sécurité" in str(error.value)
    assert not Certification.objects.filter(intitule__contains="SECRET").exists()


@pytest.mark.parametrize("niveau, code", sorted(LEVELS.items()))
def test_ref_levels_map_to_lheo_codes(tmp_path, niveau, code):
    path = tmp_path / "export.xml"
    path.write_text(
        "<FICHES><FICHE><NUMERO_FICHE>RNCP99</NUMERO_FICHE><INTITULE>Titre</INTITULE>"
        f"<NOMENCLATURE_EUROPE><NIVEAU>{niveau}</NIVEAU></NOMENCLATURE_EUROPE></FICHE></FICHES>",
        encoding="utf-8",
    )
    fiches, _ = parse(path)
    assert fiches["RNCP99"].niveau == code


def test_ref_command_prints_the_counts_and_dry_run_writes_nothing(known):
    out = StringIO()
    before = snapshot()
    call_command("import_certifications", str(FIXTURE), "--dry-run", stdout=out)
    assert "6 fiche(s) lue(s) : 3 certification(s) créée(s)" in out.getvalue()
    assert "Simulation" in out.getvalue()
    assert snapshot() == before
    call_command("import_certifications", str(FIXTURE), stdout=out)
    assert "Certifications importées." in out.getvalue()
    assert Certification.objects.filter(code_certifinfo="RS5785").exists()


def test_ref_command_on_a_malformed_file_fails_with_a_clear_message(known, tmp_path):
    path = tmp_path / "export.xml"
    path.write_text("<FICHES><FICHE>", encoding="utf-8")
    with pytest.raises(CommandError, match="n'est pas un XML bien formé"):
        call_command("import_certifications", str(path))
    with pytest.raises(CommandError, match="Impossible de lire le fichier"):
        call_command("import_certifications", str(tmp_path / "absent.xml"))

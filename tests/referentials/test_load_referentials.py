import datetime

import pytest
from django.core.management import call_command

from ofeli.core.text import normalize_search
from ofeli.referentials import lheo
from ofeli.referentials.enums import CertificationState, EnteredBy, LabelKind, TrainingKind
from ofeli.referentials.loading import load_referentials
from ofeli.referentials.models import (
    BlocCompetences,
    Certification,
    Dispositif,
    Financeur,
    Label,
    StructureState,
    StructureType,
)

pytestmark = pytest.mark.django_db

MODELS = [StructureType, StructureState, Financeur, Dispositif, Label, Certification, BlocCompetences]

# The guide's F8 table: code -> (financeur, saisie, type de formation, fonds publics).
F8_TABLE = {
    "CRS01": ("98010", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "PRF01": ("98010", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "PRF02": ("98010", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "PRF03": ("98010", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "AFC01": ("98014", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "AFC02": ("98014", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "AFC03": ("98014", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "POE01": ("98018", EnteredBy.CARIF, TrainingKind.CONTINUE, True),
    "AOP02": ("98018", EnteredBy.OF, TrainingKind.ALTERNANCE, False),
    "AOP03": ("98018", EnteredBy.OF, TrainingKind.ALTERNANCE, False),
    "SCO01": ("98012", EnteredBy.OF, TrainingKind.SCOLAIRE, True),
    "SCO02": ("98020", EnteredBy.OF, TrainingKind.SCOLAIRE, False),
    "CPR02": ("98020", EnteredBy.OF, TrainingKind.CONTINUE, False),
    # Not in the guide's table: the CPF, so that a « CPF » badge (P1) says only what was entered.
    "CPF01": ("98020", EnteredBy.OF, TrainingKind.CONTINUE, False),
}


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_load_referentials_is_idempotent():
    call_command("load_referentials", verbosity=0)
    first = counts()
    second = load_referentials()
    assert counts() == first
    assert all(created == updated == 0 for created, updated, _ in second.counts.values())
    assert first["Certification"] >= 30
    assert first["Dispositif"] == len(F8_TABLE)


def test_reload_restores_the_reference_values():
    load_referentials()
    Dispositif.objects.filter(code="AOP02").update(libelle="Modifié", entered_by=EnteredBy.CARIF)
    Certification.objects.filter(code_certifinfo="115066").update(intitule="Autre")
    Certification.objects.filter(code_certifinfo="102925").update(replaced_by=None)
    result = load_referentials()
    assert result.counts["Dispositifs"] == (0, 1, len(F8_TABLE) - 1)
    assert result.counts["Certifications"][1] == 1
    aop02 = Dispositif.objects.get(code="AOP02")
    assert (aop02.libelle, aop02.entered_by) == ("Contrat d'apprentissage", EnteredBy.OF)
    new_title = Certification.objects.get(code_certifinfo="115066")
    assert new_title.intitule == "Titre professionnel gestionnaire comptable et fiscal"
    assert new_title.search_text == "titre professionnel gestionnaire comptable et fiscal  37949  115066"
    assert Certification.objects.get(code_certifinfo="102925").replaced_by == new_title


def test_structure_types_and_states_of_the_guide():
    load_referentials()
    assert str(StructureType.objects.get(code="F1610")) == "F1610 - Organismes de formation continue privé RCVL"
    assert str(StructureType.objects.get(code="F1620")) == "F1620 - Organismes de formation continue hors RCVL"
    states = {s.code: (s.libelle, s.is_diffused) for s in StructureState.objects.all()}
    assert states == {"BRO": ("Brouillon", False), "DIO": ("Diffusion OF", True), "ARC": ("Archive", False)}


def test_financeurs_carry_lheo_codes():
    load_referentials()
    expected = {
        "98010": ("Conseil régional", "2", True),
        "98014": ("France Travail", "4", True),
        "98018": ("OPCO", "16", False),
        "98012": ("Ministère de l'Education nationale", "12", True),
        "98020": ("Privé (Entreprise / Particulier)", "5", False),
    }
    actual = {f.code: (f.libelle, f.lheo_code, f.is_public) for f in Financeur.objects.all()}
    assert actual == expected
    assert {f.lheo_code for f in Financeur.objects.all()} <= lheo.codes(lheo.FINANCEURS)


def test_f8_dispositifs_follow_guide_table():
    load_referentials()
    actual = {
        d.code: (d.financeur.code, d.entered_by, d.training_kind, d.is_public_funds)
        for d in Dispositif.objects.select_related("financeur")
    }
    assert actual == F8_TABLE
    assert Dispositif.objects.get(code="AOP02").libelle == "Contrat d'apprentissage"
    assert Dispositif.objects.get(code="CPR02").libelle == (
        "Formation individuelle financée par l'entreprise ou le particulier"
    )
    assert Dispositif.objects.get(code="AFC03").libelle == "France Travail Formation conventionnée : Préqualifiante"


def test_c7_qualiopi_label():
    load_referentials()
    qualiopi = Label.objects.get(kind=LabelKind.QUALITE, code="95")
    assert str(qualiopi) == "95 - Qualiopi"
    assert Label.objects.filter(kind=LabelKind.CONVENTION).exists()


def test_e2_gestionnaire_comptable_et_fiscal_titles_and_replacement():
    load_referentials()
    old = Certification.objects.get(code_certifinfo="102925")
    new = Certification.objects.get(code_certifinfo="115066")
    assert old.intitule == new.intitule == "Titre professionnel gestionnaire comptable et fiscal"
    assert (old.code_rncp, old.date_fin_enregistrement) == ("31677", datetime.date(2023, 12, 1))
    assert (new.code_rncp, new.date_fin_enregistrement) == ("37949", datetime.date(2028, 12, 1))
    assert old.etat == CertificationState.INACTIVE
    assert new.etat == CertificationState.PUBLISHED
    assert old.replaced_by == new
    assert list(new.replaces.all()) == [old]
    assert old.code_scolarite == new.code_scolarite == "36731401"
    assert old.niveau_sortie == new.niveau_sortie == "15"


def test_e2_guide_certification_tables():
    load_referentials()

    def row(code):
        c = Certification.objects.get(code_certifinfo=code)
        return (
            c.intitule,
            c.sigle,
            c.code_rncp,
            c.code_scolarite,
            c.acces_apprentissage,
            c.niveau_sortie,
            c.premiere_session,
            c.date_fin_enregistrement,
            c.etat,
        )

    assert row("67967") == (
        "BTS conception des processus de réalisation de produits option B : production sérielle",
        "",
        "37464",
        "3202317",
        True,
        "15",
        2018,
        datetime.date(2027, 8, 31),
        "0",
    )
    assert row("94417") == (
        "BTS conception et industrialisation en construction navale",
        "",
        "38366",
        "32025413",
        True,
        "15",
        2019,
        datetime.date(2028, 12, 31),
        "0",
    )
    assert row("18669") == (
        "BTS conception et industrialisation en microtechniques",
        "CIM",
        "38743",
        "32025005",
        True,
        "15",
        2005,
        datetime.date(2028, 12, 31),
        "0",
    )
    assert row("114045") == (
        "Titre professionnel comptable assistant",
        "",
        "37121",
        "46731401",
        True,
        "14",
        2029,
        datetime.date(2028, 3, 1),
        "0",
    )
    cim = Certification.objects.get(code_certifinfo="18669")
    assert "Ministère de l'éducation nationale et de la jeunesse" in cim.valideurs
    assert cim.france_competences_url == "https://www.francecompetences.fr/recherche/rncp/38743/"


def test_f10_bts_assurance_blocs():
    load_referentials()
    bts = Certification.objects.get(code_certifinfo="94419")
    assert bts.intitule == "BTS assurance"
    codes = list(bts.blocs.values_list("code", flat=True))
    assert codes == [f"RNCP38234BC{i:02d}" for i in range(1, 11)]


def test_certifications_are_realistic_and_searchable():
    load_referentials()
    certifications = list(Certification.objects.all())
    assert len(certifications) >= 30
    for cert in certifications:
        assert cert.code_rncp or cert.code_rs, cert
        assert cert.search_text == normalize_search(
            " ".join([cert.intitule, cert.sigle, cert.code_rncp, cert.code_rs, cert.code_certifinfo])
        )
        if cert.code_rs:
            assert cert.niveau_sortie == "", cert  # Répertoire spécifique: no level
        else:
            assert cert.niveau_sortie in lheo.CURRENT_LEVEL_CODES, cert
        if cert.etat == CertificationState.PUBLISHED:
            assert cert.objectif and cert.contenu, cert
    assert Certification.objects.filter(search_text__contains="cap boucher").exists()
    assert Certification.objects.filter(code_rs="5080", sigle="CléA").exists()
    with_blocs = Certification.objects.filter(blocs__isnull=False).distinct().count()
    assert with_blocs > len(certifications) / 2
    inactive = Certification.objects.filter(etat=CertificationState.INACTIVE)
    assert inactive.count() >= 2
    assert all(c.replaced_by_id for c in inactive)

"""Published offer with every optional part filled, for the LHEO export tests."""

import datetime
from decimal import Decimal

from ofeli.formations import models as fm
from ofeli.formations.enums import FinancementEtat, ModaliteEnseignement
from ofeli.referentials.enums import TrainingKind
from ofeli.workflow import services
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
    luhn_siret,
)

LONG_WORDS = "Les stagiaires doivent maîtriser les bases de la bureautique et du calcul commercial. "


def long_text(length):
    """A text of more than ``length`` characters made of whole words."""
    return (LONG_WORDS * (length // len(LONG_WORDS) + 2)).strip()


def publish(change):
    services.submit(change, change.created_by)
    services.accept(change, StaffFactory())
    change.formation.refresh_from_db()
    return change.formation


def full_published_formation():
    """A certifying apprenticeship formation with two sessions; the first one has every
    optional part: several trainers, places, contacts and financements, cycles, blocs,
    équipements, recruitment slots, long texts, « à la demande » and entrée-sortie permanente."""
    structure = StructureFactory(uai="0451442J", raison_sociale="Centre de formation du Loiret", nom="CFL Orléans")
    other = StructureFactory(uai="0370035M", raison_sociale="Organisme partenaire de Tours")
    cert = CertificationFactory(
        code_certifinfo="94419",
        code_rncp="38234",
        code_rs="RS5411",
        codes_nsf="313 313m",
        codes_rome="C1103",
        formacodes="42854",
    )
    blocs = [BlocFactory(certification=cert) for _ in range(3)]
    change = draft_formation(
        structure,
        intitule="BTS assurance en apprentissage",
        sessions=2,
        certification=cert,
        duree_cycle=2,
        niveau_sortie="15",
        resultats_attendus="Diplôme de niveau 5 (BTS).",
        objectif_general="6",
        formacodes="42854, 42866",
        codes_rome="C1103 C1105",
        site_web="https://www.example.org/bts-assurance",
    )
    sv, second = change.formation_version.sessions.order_by("date_debut")
    main_place = structure.lieux.get()
    place = LieuFactory(structure=structure, nom="Antenne de Tours", siret=luhn_siret(2000000))
    principal = ContactFactory(
        structure=structure, civilite="Mme", types=["3"], telephone="06 12 34 56 78", is_principal=True
    )
    trainer_contact = ContactFactory(structure=other, types=["14"])
    hidden = ContactFactory(structure=structure, nom="Confidentiel", diffusion_web=False)

    for name, value in {
        "kind": TrainingKind.ALTERNANCE,
        "a_la_demande": True,
        "entree_sortie_permanente": True,
        "date_debut": datetime.date(2026, 1, 1),
        "date_fin": datetime.date(2026, 12, 31),
        "autres_of_formateurs": "Interventions ponctuelles de professionnels de l'assurance.",
        "modalite_enseignement": ModaliteEnseignement.MIXTE,
        "commentaire_financement": long_text(300),
        "conditions_prise_en_charge": long_text(700),
        "duree_centre": 1350,
        "duree_entreprise": 2000,
        "duree_hebdomadaire": 35,
        "commentaire_duree": "Deux jours en centre, trois jours en entreprise.",
        "prerequis": long_text(3500),
        "type_parcours": "2",
        "rythme": "30",
        "commentaire_rythme": "Alternance hebdomadaire.",
        "modalites_pedagogiques": ["1", "3"],
        "commentaire_modalites_pedagogiques": "Plateforme de formation à distance.",
        "commentaire_session": "Session ouverte aux contrats signés avant le 1er novembre.",
        "lieu_inscription": place,
        "contact_inscription": principal,
        "debut_inscription": datetime.date(2026, 3, 1),
        "fin_inscription": datetime.date(2026, 8, 31),
        "commentaire_inscription": "Dossier de candidature à déposer en ligne.",
        "hebergement": "Foyer de jeunes travailleurs à proximité.",
        "restauration": long_text(300),
        "transport": "Tram A, arrêt Gare.",
        "acces_handicapes": "Locaux accessibles ; référent handicap joignable.",
    }.items():
        setattr(sv, name, value)
    sv.save()

    fm.SessionTrainer.objects.create(session_version=sv, structure=other, is_principal=False)
    fm.SessionPlace.objects.create(session_version=sv, lieu=place, is_principal=False)
    fm.SessionContact.objects.create(session_version=sv, contact=principal, type_contact="3", is_principal=True)
    fm.SessionContact.objects.create(session_version=sv, contact=trainer_contact, type_contact="14")
    fm.SessionContact.objects.create(session_version=sv, contact=hidden, type_contact="5")
    region = FinanceurFactory(code="CR24", libelle="Conseil régional", lheo_code="2", is_public=True)
    interieur = FinanceurFactory(code="MIN19", libelle="Ministère de l'intérieur", lheo_code="19", is_public=True)
    opco = FinanceurFactory(code="OPCO", libelle="OPCO Atlas", lheo_code="16")
    fm.Financement.objects.create(
        session_version=sv,
        financeur=region,
        numero_marche="2025-PRF-12",
        nb_places=8,
        etat_recrutement="3",
        dispositif=DispositifFactory(code="PRF", financeur=region, entered_by="CARIF", is_public_funds=True),
    )
    fm.Financement.objects.create(
        session_version=sv,
        financeur=interieur,
        nb_places=2,
        dispositif=DispositifFactory(code="OFII", financeur=interieur, entered_by="CARIF"),
    )
    fm.Financement.objects.create(
        session_version=sv,
        financeur=opco,
        etat=FinancementEtat.ARCHIVE,
        dispositif=DispositifFactory(code="OPCOA", financeur=opco, entered_by="OF"),
    )
    fm.Cycle.objects.create(session_version=sv, annee=1, type_cycle="1", type_alternance="1")
    fm.Cycle.objects.create(session_version=sv, annee=2, type_cycle="1", type_alternance="0")
    session_blocs = fm.SessionBlocs.objects.create(session_version=sv, certification=cert, type_validation="1")
    session_blocs.blocs.set(blocs)
    fm.Equipement.objects.create(
        session_version=sv, type_equipement="11", cout_indicatif=Decimal("149.50"), commentaire="Ordinateur portable."
    )
    fm.Equipement.objects.create(session_version=sv, type_equipement="10")
    sv.recruitment_slots.all().delete()  # replace the factory's default slot
    fm.RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="9",
        date=datetime.date(2026, 5, 12),
        heure_debut=datetime.time(9, 30),
        heure_fin=datetime.time(12),
        nb_places=20,
        perimetre="3",
        commentaire_perimetre="Centre-Val de Loire",
        lieu=place,
        structure=structure,
        commentaire="Présentation du BTS et des entreprises partenaires.",
    )
    fm.RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="8",
        date=datetime.date(2026, 6, 2),
        heure_debut=datetime.time(14),
        heure_fin=datetime.time(17),
        nb_places=6,
        structure=structure,
    )
    fm.RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="7",
        a_distance=True,
        lien_web="https://www.example.org/candidater",
        structure=other,
    )
    assert main_place != place
    return publish(change)

"""Schemas of the partner API: they generate the OpenAPI document (J2)."""

from datetime import date, datetime

from ninja import Schema
from pydantic import Field


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[dict] | None = None


class Place(Schema):
    reference: str
    nom: str
    adresse: str
    complement: str
    code_postal: str
    ville: str
    code_insee: str = Field(description="Code INSEE de la commune")
    departement: str
    latitude: float | None
    longitude: float | None


class Certification(Schema):
    code_certifinfo: str
    intitule: str
    code_rncp: str = Field(description="« RNCP » suivi des chiffres, vide si aucun")
    code_rs: str = Field(description="« RS » suivi des chiffres, vide si aucun")
    niveau_sortie: str = Field(description="Code LHEO dict-niveaux")
    etat: str
    date_fin_enregistrement: date | None


class Financing(Schema):
    financeur: str = Field(description="Code LHEO dict-financeurs")
    financeur_libelle: str
    dispositif: str
    dispositif_libelle: str
    nb_places: int | None


class Contact(Schema):
    reference: str
    civilite: str
    nom: str
    prenom: str
    fonction: str
    email: str
    telephone: str
    type_contact: str = Field(description="Code LHEO dict-type-contact")


class Trainer(Schema):
    reference: str
    nom: str
    principal: bool


class RecruitmentSlot(Schema):
    modalite: str = Field(description="Code LHEO dict-modalite-recrutement")
    modalite_libelle: str
    date: date | None
    a_distance: bool
    nb_places: int | None


class Links(Schema):
    self: str
    formation: str | None = None
    organisme: str | None = None


class Session(Schema):
    numero_carif: str = Field(description="Numéro CARIF de la session (identifiant stable)")
    formation: str
    organisme: str
    intitule: str
    statut: str = Field(
        description="Calculé à la date du jour : a_venir, inscriptions_ouvertes, inscriptions_closes, "
        "en_cours, terminee, entree_permanente"
    )
    date_debut: date | None
    date_fin: date | None
    a_la_demande: bool
    entree_sortie_permanente: bool
    debut_inscription: date | None
    fin_inscription: date | None
    modalite_enseignement: str = Field(description="Code LHEO dict-modalites-enseignement")
    modalite_enseignement_libelle: str
    duree_totale: int | None
    duree_centre: int | None
    duree_entreprise: int | None
    lieux: list[Place]
    lieu_inscription: Place | None
    financements: list[Financing]
    certification: Certification | None
    niveau_entree: str
    niveau_sortie: str
    organismes_formateurs: list[Trainer]
    contacts: list[Contact] = Field(description="Contacts marqués « Diffusion web »")
    contact_inscription: Contact | None
    recrutement: list[RecruitmentSlot]
    modifie_le: datetime
    liens: Links


class Formation(Schema):
    numero: str = Field(description="Numéro de la formation (identifiant stable)")
    intitule: str
    organisme: str
    organisme_nom: str
    objectif: str
    contenu: str
    resultats_attendus: str
    certification: Certification | None
    niveau_entree: str
    niveau_sortie: str
    formacodes: list[str]
    codes_rome: list[str]
    site_web: str
    sessions: list[str] = Field(description="Numéros CARIF des sessions publiées")
    modifie_le: datetime
    liens: Links


class Organisme(Schema):
    reference: str
    nom: str
    raison_sociale: str
    siret: str
    nda: str
    uai: str
    adresse: str
    code_postal: str
    ville: str
    code_insee: str
    telephone: str
    email: str
    site_web: str
    formations: list[str]
    liens: Links


class Deletion(Schema):
    type: str = Field(description="formation ou session")
    numero: str
    formation: str
    supprime_le: datetime


class Table(Schema):
    nom: str
    entrees: list[dict]


class Page(Schema):
    horodatage: datetime = Field(
        description="Instant de la photographie servie : passez-le en modified_since à la synchronisation suivante"
    )
    suivant: str | None = Field(description="URL de la page suivante (curseur), absente en fin de liste")


class SessionPage(Page):
    resultats: list[Session]


class FormationPage(Page):
    resultats: list[Formation]


class OrganismePage(Page):
    resultats: list[Organisme]


class CertificationPage(Page):
    resultats: list[Certification]


class DeletionPage(Page):
    resultats: list[Deletion]

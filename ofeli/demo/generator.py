"""Deterministic generator of a realistic, published training offer (demo and load data).

``generate_offer()`` creates structures (organismes de formation of Centre-Val de Loire)
with their published record, places and contacts, and for each structure a number of
formations, each published (``Formation.live_version``) with its sessions and every row a
session needs to be submittable (trainer, places, contact, financing, cycles, recruitment).

Properties:

- deterministic: every structure draws from its own ``random.Random`` seeded with
  ``(seed, index of the structure)``, and dates are offsets from an anchor date
  (``today``). The same arguments and seed on the same referentials (dispositifs,
  certifications) give the same content; only references (taken from the counters) and
  a few ``created_at``/``updated_at`` stamps (places, contacts, open drafts) depend on the
  state of the database and the clock. Structure index ``i`` always gets the same
  content for a given seed, so a second run with the same seed adds look-alike
  organismes (same names and SIRETs) under new references: use another seed for others.
- fast: rows are written with ``bulk_create`` chunk by chunk (a chunk is a group of
  structures of about ``chunk_sessions`` sessions), one transaction per chunk, references
  reserved by blocks with ``allocate_references``. Memory is bounded by the chunk size.
- additive: running it again adds new data; references never collide.

E-mail addresses and web sites use subdomains of the reserved ``example.org`` domain and
phone numbers the range ARCEP keeps for fiction (02 61 91 xx xx), so generated data never
reaches a real person or site.
"""

import datetime
import enum
import itertools
import math
import operator
import random
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify
from stdnum import luhn

from ofeli.core.identifiers import nda_is_in_region, uai_check_letter
from ofeli.core.models import allocate_references
from ofeli.core.regions import REGION_OF_DEPARTEMENT
from ofeli.core.text import is_all_capitals
from ofeli.formations.enums import FinancementEtat, ModaliteEnseignement, ModalitePedagogique, RythmeCode, Source
from ofeli.formations.models import (
    Cycle,
    Financement,
    Formation,
    FormationVersion,
    RecruitmentSlot,
    Session,
    SessionContact,
    SessionPlace,
    SessionTrainer,
    SessionVersion,
)
from ofeli.formations.rules import TEXT_LIMIT
from ofeli.referentials import lheo
from ofeli.referentials.enums import CertificationState, EnteredBy, TrainingKind
from ofeli.referentials.models import Certification, Dispositif, Financeur, StructureState, StructureType
from ofeli.structures.models import Contact, Lieu, Structure, StructureVersion
from ofeli.workflow.enums import ChangeKind, ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry

BULK_BATCH_SIZE = 2000
DEFAULT_CHUNK_SESSIONS = 5000
ARCHIVED_RATIO = 0.02
DRAFT_RATIO = 0.03
CERTIFIED_RATIO = 0.35
CERTIFICATION_POOL_SIZE = 400
GENERATOR_NOTE = "Offre générée par la commande generate_offer."

# --- reference data embedded in the generator --------------------------------------------

# Towns of Centre-Val de Loire: name, postcode, INSEE code, latitude, longitude, weight
# (a rough share of the training offer: the big towns host most organismes).
# fmt: off
TOWNS = [
    ("Bourges", "18000", "18033", 47.081, 2.3988, 8),
    ("Vierzon", "18100", "18279", 47.222, 2.068, 3),
    ("Saint-Amand-Montrond", "18200", "18197", 46.7228, 2.505, 2),
    ("Saint-Doulchard", "18230", "18205", 47.1022, 2.3619, 1),
    ("Mehun-sur-Yèvre", "18500", "18141", 47.1444, 2.2156, 1),
    ("Aubigny-sur-Nère", "18700", "18015", 47.4883, 2.44, 1),
    ("Chartres", "28000", "28085", 48.4469, 1.4892, 7),
    ("Dreux", "28100", "28134", 48.7366, 1.3664, 4),
    ("Châteaudun", "28200", "28088", 48.0708, 1.3378, 2),
    ("Nogent-le-Rotrou", "28400", "28280", 48.3217, 0.8217, 1),
    ("Lucé", "28110", "28218", 48.4378, 1.465, 2),
    ("Mainvilliers", "28300", "28229", 48.4536, 1.4561, 1),
    ("Vernouillet", "28500", "28404", 48.7208, 1.3625, 1),
    ("Châteauroux", "36000", "36044", 46.8103, 1.6913, 6),
    ("Issoudun", "36100", "36088", 46.9481, 1.9933, 2),
    ("Le Blanc", "36300", "36018", 46.6336, 1.0628, 1),
    ("Argenton-sur-Creuse", "36200", "36006", 46.5886, 1.5197, 1),
    ("Déols", "36130", "36063", 46.8297, 1.7036, 1),
    ("La Châtre", "36400", "36046", 46.5819, 1.9878, 1),
    ("Tours", "37000", "37261", 47.3941, 0.6848, 12),
    ("Joué-lès-Tours", "37300", "37122", 47.3522, 0.6661, 4),
    ("Saint-Cyr-sur-Loire", "37540", "37214", 47.4, 0.6667, 2),
    ("Saint-Pierre-des-Corps", "37700", "37233", 47.3864, 0.7236, 2),
    ("Chambray-lès-Tours", "37170", "37050", 47.3347, 0.7147, 2),
    ("Saint-Avertin", "37550", "37208", 47.3631, 0.7394, 1),
    ("Amboise", "37400", "37003", 47.4125, 0.9825, 2),
    ("Chinon", "37500", "37072", 47.1667, 0.2425, 1),
    ("Loches", "37600", "37132", 47.1286, 0.9953, 1),
    ("Blois", "41000", "41018", 47.5861, 1.3359, 7),
    ("Vendôme", "41100", "41269", 47.7928, 1.0656, 2),
    ("Romorantin-Lanthenay", "41200", "41194", 47.3583, 1.7417, 2),
    ("Vineuil", "41350", "41295", 47.5828, 1.3761, 1),
    ("Mer", "41500", "41136", 47.7047, 1.5072, 1),
    ("Salbris", "41300", "41232", 47.4247, 2.0508, 1),
    ("Orléans", "45000", "45234", 47.903, 1.9093, 12),
    ("Olivet", "45160", "45232", 47.8633, 1.9008, 3),
    ("Fleury-les-Aubrais", "45400", "45147", 47.9333, 1.9167, 3),
    ("Saint-Jean-de-Braye", "45800", "45284", 47.9128, 1.9736, 2),
    ("Saint-Jean-de-la-Ruelle", "45140", "45285", 47.9111, 1.8653, 2),
    ("Saran", "45770", "45302", 47.95, 1.875, 2),
    ("Ingré", "45140", "45169", 47.9194, 1.8239, 1),
    ("Montargis", "45200", "45208", 47.9978, 2.7331, 3),
    ("Amilly", "45200", "45004", 47.9742, 2.7708, 1),
    ("Gien", "45500", "45155", 47.6897, 2.6308, 2),
    ("Pithiviers", "45300", "45252", 48.1719, 2.2519, 1),
]
# fmt: on
DEPARTEMENTS = {
    "18": ("Cher", "du Cher"),
    "28": ("Eure-et-Loir", "d'Eure-et-Loir"),
    "36": ("Indre", "de l'Indre"),
    "37": ("Indre-et-Loire", "d'Indre-et-Loire"),
    "41": ("Loir-et-Cher", "du Loir-et-Cher"),
    "45": ("Loiret", "du Loiret"),
}
TOWNS_PER_DEPARTEMENT = 6  # outside Centre-Val de Loire: the most populated communes of each département
PEOPLE_PER_WEIGHT = 25_000


def departement_of_insee(code_insee):
    """« 36044 » → « 36 », « 97411 » → « 974 », « 2A004 » → « 2A »."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]


def region_towns(region=None):
    """Towns where the generated organismes are (same shape as ``TOWNS``) and the phrase
    « du Cher » of each département. Centre-Val de Loire (the demo) keeps the embedded list;
    any other region, or the national instance (S2, ``OFELI_REGION=FR``), takes the
    ``TOWNS_PER_DEPARTEMENT`` most populated communes of each of its départements from the
    bundled communes file, weighted by their population."""
    region = region or settings.REGION
    if region.code == "24":
        return TOWNS, {code: phrase for code, (_, phrase) in DEPARTEMENTS.items()}
    from ofeli.public.communes import read_rows

    by_departement = {}
    for row in read_rows(region.departements):
        if row["codes_postaux"] and row["latitude"]:
            by_departement.setdefault(row["departement"], []).append(row)
    towns, phrases = [], {}
    for departement in sorted(by_departement):
        rows = sorted(by_departement[departement], key=lambda r: (-int(r["population"] or 0), r["code_insee"]))
        rows = rows[:TOWNS_PER_DEPARTEMENT]
        phrases[departement] = f"du pays de {rows[0]['nom']}"
        for row in rows:
            towns.append(
                (
                    row["nom"],
                    row["codes_postaux"].split()[0],
                    row["code_insee"],
                    float(row["latitude"]),
                    float(row["longitude"]),
                    max(1, round(int(row["population"] or 0) / PEOPLE_PER_WEIGHT)),
                )
            )
    return towns, phrases


# NDA of organismes declared in another region (région code, département codes).
# fmt: off
OTHER_REGIONS_NDA = [
    ("11", ["75", "92", "93", "94"]),
    ("52", ["44", "49", "72"]),
    ("75", ["86", "87", "33"]),
    ("27", ["21", "89", "58"]),
    ("28", ["14", "76", "61"]),
]
# fmt: on
OUT_OF_REGION_NDA_RATIO = 0.04

# fmt: off
STREETS = [
    "Rue de la République", "Avenue du Général de Gaulle", "Rue Nationale", "Boulevard Jean Jaurès", "Rue Victor Hugo",
    "Rue Pasteur", "Avenue de Verdun", "Rue des Écoles", "Rue du Commerce", "Rue de la Gare", "Avenue de la Libération",
    "Rue du Moulin", "Rue Émile Zola", "Rue de Paris", "Rue Saint-Martin", "Rue Gambetta", "Rue Jules Ferry",
    "Allée des Tilleuls", "Rue des Acacias", "Avenue Jean Moulin", "Rue Denis Papin", "Rue Ampère",
    "Rue de l'Industrie", "Rue des Artisans", "Boulevard de Lattre de Tassigny", "Rue du Faubourg Bannier",
    "Avenue des Droits de l'Homme", "Rue Louis Pasteur", "Rue Marcel Paul", "Rue Nicolas Copernic",
]
# fmt: on
COMPLEMENTS = ["Bâtiment B", "2e étage", "Zone d'activités des Portes", "Parc d'activités du Val", "Entrée C"]
# fmt: off
LIEU_NAMES = [
    "Centre de formation de {town}", "Plateau technique de {town}", "Antenne de {town}", "Site de {town}",
    "Espace formation de {town}",
]
# fmt: on

# fmt: off
FIRST_NAMES_F = [
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sophie", "Christine", "Valérie", "Sandrine", "Céline",
    "Julie", "Camille", "Émilie", "Aurélie", "Laure", "Claire", "Anne", "Hélène", "Élodie", "Pauline", "Manon", "Léa",
    "Chloé", "Inès",
]
# fmt: on
# fmt: off
FIRST_NAMES_M = [
    "Jean", "Philippe", "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Pierre", "Laurent", "Frédéric",
    "Stéphane", "David", "Julien", "Sébastien", "Thomas", "Olivier", "Guillaume", "Antoine", "Mathieu", "Romain",
    "Hugo", "Lucas", "Karim", "Mehdi",
]
# fmt: on
# fmt: off
LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon",
    "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont",
    "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin",
    "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin",
    "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie",
    "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas",
    "Brunet", "Gaillard", "Barbier", "Arnaud", "Benoît", "Charpentier", "Chauvin", "Pichon", "Renard", "Texier",
    "Proust", "Besnard",
]
# fmt: on
# fmt: off
BRAND_PREFIXES = [
    "Forma", "Cap", "Avenir", "Savoir", "Compétences", "Talents", "Horizon", "Tremplin", "Atout", "Parcours",
    "Trajectoire", "Déclic",
]
# fmt: on
BRAND_SUFFIXES = ["Formation", "Conseil", "Centre", "Loire", "Val de Loire", "Pro", "Plus", "Développement"]
COMPANY_LEGAL_FORMS = ["SAS", "SARL", "SASU", "EURL", "SCOP"]

# (types, fonction feminine, fonction masculine)
# fmt: off
CONTACT_ROLES = [
    (["3"], "Responsable pédagogique", "Responsable pédagogique"),
    (["4"], "Chargée d'accueil", "Chargé d'accueil"),
    (["1"], "Référente handicap", "Référent handicap"),
    (["8", "7"], "Chargée de relations entreprises", "Chargé de relations entreprises"),
    (["6"], "Responsable qualité", "Responsable qualité"),
    (["9"], "Assistante de gestion", "Assistant de gestion"),
    (["3", "13"], "Conseillère en formation", "Conseiller en formation"),
]
# fmt: on
APPRENTICESHIP_ROLE = (["14", "3"], "Coordinatrice apprentissage", "Coordinateur apprentissage")


@dataclass(frozen=True)
class Domain:
    """A field of training: what titles, texts and codes are built from."""

    label: str  # « des métiers du bâtiment »: used in structure names
    topics: tuple  # short courses (lower-case noun phrases)
    jobs: tuple  # (job title, LHEO level code): titres professionnels
    diplomas: tuple  # (diploma title, LHEO level code, years in apprenticeship)
    skills: tuple  # infinitive phrases for objectives
    modules: tuple  # programme modules
    rome: str
    alternance: bool = True  # jobs and diplomas of the domain are open to work-study
    objectif_general: str = "2"  # LHEO dict-AIS of its short courses (2 = perfectionnement)


# fmt: off
DOMAINS = [
    Domain(
        label="de la gestion et de la comptabilité",
        topics=(
            "comptabilité générale", "gestion de la paie", "fiscalité des petites entreprises", "contrôle de gestion",
            "gestion de trésorerie",
        ),
        jobs=(
            ("Assistant comptable", "14"), ("Gestionnaire comptable et fiscal", "15"), ("Gestionnaire de paie", "15"),
            ("Secrétaire comptable", "14"),
        ),
        diplomas=(
            ("BTS Comptabilité et gestion", "15", 2),
            ("Licence professionnelle Métiers de la gestion et de la comptabilité", "16", 1),
        ),
        skills=(
            "enregistrer les opérations comptables courantes", "établir les déclarations de TVA",
            "préparer les éléments variables de la paie", "participer à la clôture des comptes annuels",
            "analyser les indicateurs de gestion", "suivre la trésorerie de l'entreprise",
        ),
        modules=(
            "Les fondamentaux de la comptabilité", "Opérations courantes et rapprochement bancaire",
            "TVA et déclarations fiscales", "Paie et déclarations sociales", "Travaux de fin d'exercice",
            "Outils numériques de gestion",
        ),
        rome="M1203 M1607",
    ),
    Domain(
        label="du numérique",
        topics=(
            "bureautique (Word, Excel, PowerPoint)", "tableur Excel", "développement web", "cybersécurité",
            "administration des réseaux", "outils collaboratifs en ligne", "intelligence artificielle générative",
        ),
        jobs=(
            ("Développeur web et web mobile", "15"), ("Technicien d'assistance en informatique", "14"),
            ("Administrateur d'infrastructures sécurisées", "16"), ("Concepteur développeur d'applications", "16"),
        ),
        diplomas=(
            ("BTS Services informatiques aux organisations", "15", 2), ("BUT Informatique", "16", 3),
        ),
        skills=(
            "concevoir et mettre en forme des documents professionnels", "automatiser des calculs avec un tableur",
            "développer une application web sécurisée", "administrer un parc informatique",
            "mettre en œuvre les bonnes pratiques de cybersécurité", "travailler en équipe avec des outils partagés",
        ),
        modules=(
            "Environnement numérique et système d'exploitation", "Traitement de texte et tableur",
            "Développement front-end", "Bases de données", "Réseaux et sécurité", "Projet tutoré",
        ),
        rome="M1805 I1401 M1810",
    ),
    Domain(
        label="des langues",
        topics=(
            "anglais professionnel", "anglais des affaires", "français langue étrangère", "espagnol", "allemand",
            "italien",
        ),
        jobs=(),
        diplomas=(),
        skills=(
            "communiquer à l'oral dans des situations professionnelles courantes", "rédiger des courriels simples",
            "comprendre des documents professionnels", "présenter son activité et son entreprise",
            "conduire un échange téléphonique",
        ),
        modules=(
            "Évaluation initiale du niveau", "Compréhension orale", "Expression orale et jeux de rôle",
            "Écrits professionnels", "Vocabulaire du secteur d'activité", "Préparation à la certification",
        ),
        rome="",
        alternance=False,
    ),
    Domain(
        label="de la santé et du social",
        topics=(
            "gestes et soins d'urgence", "bientraitance en établissement", "accompagnement de la fin de vie",
            "prévention des troubles musculo-squelettiques",
            "accompagnement des personnes atteintes de la maladie d'Alzheimer",
        ),
        jobs=(
            ("Assistant de vie aux familles", "13"), ("Agent de service médico-social", "13"),
            ("Secrétaire assistant médico-social", "14"),
        ),
        diplomas=(
            ("Diplôme d'État d'aide-soignant", "14", 1), ("Diplôme d'État d'accompagnant éducatif et social", "13", 1),
            ("Diplôme d'État d'auxiliaire de puériculture", "14", 1),
        ),
        skills=(
            "accompagner une personne dans les actes de la vie quotidienne",
            "réaliser des soins d'hygiène et de confort", "repérer les situations de fragilité",
            "travailler en équipe pluriprofessionnelle", "appliquer les règles d'hygiène et de sécurité",
        ),
        modules=(
            "Accompagnement de la personne dans les activités de la vie quotidienne", "Soins d'hygiène et de confort",
            "Communication et relation d'aide", "Hygiène et prévention des risques", "Stage en structure",
            "Gestes et soins d'urgence",
        ),
        rome="J1501 K1302 K1304",
    ),
    Domain(
        label="des métiers du bâtiment",
        topics=(
            "habilitation électrique", "lecture de plans", "travail en hauteur",
            "performance énergétique des bâtiments", "rénovation énergétique",
        ),
        jobs=(
            ("Maçon", "13"), ("Électricien d'équipement du bâtiment", "13"), ("Peintre en bâtiment", "13"),
            ("Technicien d'études du bâtiment", "15"), ("Installateur en thermique et sanitaire", "13"),
        ),
        diplomas=(
            ("CAP Maçon", "13", 2), ("CAP Électricien", "13", 2), ("BTS Bâtiment", "15", 2),
            ("Bac pro Métiers de l'électricité et de ses environnements connectés", "14", 3),
        ),
        skills=(
            "lire un plan et organiser son poste de travail", "réaliser des ouvrages conformes aux normes",
            "appliquer les règles de sécurité sur chantier", "réaliser une installation électrique",
            "contrôler la qualité de ses travaux",
        ),
        modules=(
            "Lecture de plans et métrés", "Technologie des matériaux", "Mise en œuvre sur plateau technique",
            "Prévention des risques sur chantier", "Stage en entreprise", "Habilitation électrique",
        ),
        rome="F1703 F1602 F1606 F1603",
    ),
    Domain(
        label="du transport et de la logistique",
        topics=(
            "conduite de chariots élévateurs", "gestes et postures", "gestion des stocks", "éco-conduite",
            "sécurité des opérations de chargement",
        ),
        jobs=(
            ("Préparateur de commandes en entrepôt", "13"), ("Agent magasinier", "13"),
            ("Conducteur du transport routier de marchandises sur porteur", "13"),
            ("Technicien en logistique d'entreposage", "14"),
        ),
        diplomas=(
            ("CAP Opérateur/opératrice logistique", "13", 2),
            ("BTS Gestion des transports et logistique associée", "15", 2),
        ),
        skills=(
            "réceptionner et contrôler des marchandises", "préparer des commandes avec un terminal",
            "conduire un chariot élévateur en sécurité", "gérer les stocks d'un entrepôt", "organiser les expéditions",
        ),
        modules=(
            "Réception et stockage des marchandises", "Préparation de commandes", "Conduite de chariots (CACES R489)",
            "Gestion informatisée des stocks", "Sécurité en entrepôt", "Période en entreprise",
        ),
        rome="N1103 N1101 N4101",
    ),
    Domain(
        label="de l'hôtellerie et de la restauration",
        topics=(
            "hygiène alimentaire en restauration commerciale", "cuisine traditionnelle", "pâtisserie",
            "accueil et service en salle", "œnologie et accords mets-vins",
        ),
        jobs=(
            ("Cuisinier", "13"), ("Serveur en restauration", "13"), ("Agent de restauration", "12"),
            ("Réceptionniste en hôtellerie", "14"),
        ),
        diplomas=(
            ("CAP Cuisine", "13", 2), ("CAP Commercialisation et services en hôtel-café-restaurant", "13", 2),
            ("BTS Management en hôtellerie restauration", "15", 2),
        ),
        skills=(
            "réaliser des préparations culinaires de base", "appliquer la méthode HACCP",
            "accueillir et servir la clientèle", "organiser la production en cuisine", "gérer les stocks de denrées",
        ),
        modules=(
            "Hygiène et sécurité alimentaire", "Techniques culinaires", "Service en salle",
            "Gestion des approvisionnements", "Stage en restaurant", "Accueil et relation client",
        ),
        rome="G1602 G1803 G1703",
    ),
    Domain(
        label="du commerce et de la vente",
        topics=(
            "techniques de vente", "négociation commerciale", "relation client", "marketing digital",
            "prospection téléphonique",
        ),
        jobs=(
            ("Vendeur conseil en magasin", "14"), ("Employé commercial en magasin", "13"),
            ("Manager d'unité marchande", "15"), ("Négociateur technico-commercial", "15"),
        ),
        diplomas=(
            ("BTS Management commercial opérationnel", "15", 2),
            ("BTS Négociation et digitalisation de la relation client", "15", 2),
            ("Bac pro Métiers du commerce et de la vente", "14", 3),
        ),
        skills=(
            "conduire un entretien de vente", "fidéliser une clientèle", "animer un rayon",
            "construire une offre commerciale", "utiliser les réseaux sociaux pour prospecter",
        ),
        modules=(
            "Connaissance des produits et des clients", "Techniques de vente", "Merchandising et animation commerciale",
            "Gestion de la relation client", "Stage en entreprise", "Outils numériques du commerce",
        ),
        rome="D1106 D1214 D1402 D1502",
    ),
    Domain(
        label="de l'industrie",
        topics=(
            "lecture de plans industriels", "métrologie", "automatismes industriels", "soudage à l'arc",
            "amélioration continue",
        ),
        jobs=(
            ("Technicien d'usinage en commande numérique", "14"), ("Soudeur", "13"),
            ("Technicien de maintenance industrielle", "14"),
            ("Conducteur d'installations et de machines automatisées", "13"),
        ),
        diplomas=(
            ("BTS Maintenance des systèmes", "15", 2), ("CAP Conducteur d'installations de production", "13", 2),
            ("Bac pro Technicien en réalisation de produits mécaniques", "14", 3),
        ),
        skills=(
            "régler et conduire une machine de production", "réaliser une maintenance préventive",
            "contrôler la conformité des pièces", "diagnostiquer une panne", "appliquer les règles de sécurité",
        ),
        modules=(
            "Lecture de plans et métrologie", "Technologie des machines", "Maintenance préventive et corrective",
            "Automatismes et électrotechnique", "Qualité, sécurité, environnement", "Période en entreprise",
        ),
        rome="H2903 H2913 I1304 H2102",
    ),
    Domain(
        label="du management",
        topics=(
            "management d'équipe", "gestion des conflits", "conduite de réunion", "gestion de projet",
            "prise de parole en public", "recrutement et intégration des salariés",
        ),
        jobs=(
            ("Assistant ressources humaines", "15"), ("Manager d'équipe", "16"),
            ("Responsable de petite et moyenne structure", "16"),
        ),
        diplomas=(
            ("Licence professionnelle Gestion des ressources humaines", "16", 1),
            ("Master Management et administration des entreprises", "17", 2),
        ),
        skills=(
            "animer et motiver une équipe", "conduire un entretien professionnel", "piloter un projet",
            "prévenir et gérer les conflits", "organiser le recrutement",
        ),
        modules=(
            "Posture et styles de management", "Communication interpersonnelle", "Conduite de projet",
            "Droit du travail appliqué", "Gestion des compétences", "Étude de cas",
        ),
        rome="M1501 M1503 M1302",
    ),
    Domain(
        label="du paysage et de l'agriculture",
        topics=(
            "taille et entretien des végétaux", "conduite d'engins agricoles", "certiphyto", "agroécologie",
            "viticulture",
        ),
        jobs=(
            ("Ouvrier du paysage", "13"), ("Agent de maintenance des espaces verts", "13"),
        ),
        diplomas=(
            ("CAP agricole Jardinier paysagiste", "13", 2), ("BPREA Responsable d'entreprise agricole", "14", 1),
            ("BTSA Viticulture-œnologie", "15", 2),
        ),
        skills=(
            "entretenir des espaces verts", "réaliser des plantations", "utiliser le matériel en sécurité",
            "raisonner l'utilisation des produits phytosanitaires", "conduire un atelier de production",
        ),
        modules=(
            "Reconnaissance des végétaux", "Techniques d'entretien et de plantation", "Matériel et sécurité",
            "Agronomie", "Stage en entreprise", "Gestion d'une exploitation",
        ),
        rome="A1203 A1414 A1416",
    ),
    Domain(
        label="de la sécurité",
        topics=(
            "sauveteur secouriste du travail", "prévention des risques professionnels", "sécurité incendie",
            "manipulation des extincteurs",
        ),
        jobs=(
            ("Agent de sûreté et de sécurité privée", "13"),
        ),
        diplomas=(
            ("CAP Agent de sécurité", "13", 2), ("Bac pro Métiers de la sécurité", "14", 3),
        ),
        skills=(
            "porter secours à une victime", "repérer les situations dangereuses",
            "appliquer les consignes d'évacuation", "surveiller un site", "rédiger un rapport d'intervention",
        ),
        modules=(
            "Cadre juridique", "Prévention des risques", "Secourisme", "Sécurité incendie", "Mises en situation",
            "Stage en entreprise",
        ),
        rome="K2503 K1705",
    ),
    Domain(
        label="du secrétariat et de l'assistanat",
        topics=(
            "orthographe et expression écrite", "rédaction d'écrits professionnels", "accueil téléphonique",
            "classement et archivage numérique",
        ),
        jobs=(
            ("Secrétaire assistant", "14"), ("Assistant de direction", "15"),
            ("Employé administratif et d'accueil", "13"),
        ),
        diplomas=(
            ("BTS Support à l'action managériale", "15", 2),
        ),
        skills=(
            "rédiger des écrits professionnels", "organiser l'agenda et les déplacements", "accueillir les visiteurs",
            "traiter le courrier", "assurer le suivi administratif des dossiers",
        ),
        modules=(
            "Accueil physique et téléphonique", "Production de documents", "Gestion administrative",
            "Organisation de réunions", "Stage en entreprise", "Outils bureautiques",
        ),
        rome="M1607 M1604",
    ),
    Domain(
        label="des savoirs de base",
        topics=(
            "remise à niveau en français", "remise à niveau en mathématiques", "compétences clés",
            "préparation au certificat CléA", "savoirs numériques de base",
        ),
        jobs=(),
        diplomas=(),
        skills=(
            "lire et comprendre un document simple", "réaliser des calculs de la vie courante",
            "utiliser un ordinateur et internet", "se repérer dans l'espace et le temps", "travailler en équipe",
        ),
        modules=(
            "Positionnement", "Communication en français", "Calcul et raisonnement", "Environnement numérique",
            "Construction du projet professionnel", "Évaluation finale",
        ),
        rome="",
        alternance=False,
        objectif_general="5",
    ),
]
# fmt: on
ALTERNANCE_DOMAINS = [d for d in DOMAINS if d.alternance]

TOPIC_TITLES = [
    "{Topic} : les fondamentaux", "{Topic} : perfectionnement", "Se perfectionner en {topic}", "Initiation : {topic}",
    "{Topic} pour débutants", "{Topic} en pratique", "{Topic} – niveau intermédiaire",
]  # fmt: skip
CERTIFICATION_MODULES = [
    "Positionnement et individualisation du parcours", "Apports théoriques et méthodologiques",
    "Mises en situation professionnelles", "Période en entreprise", "Préparation aux épreuves de certification",
]  # fmt: skip
JOB_TITLES = ["Titre professionnel {Job}", "{Job}", "Devenir {job}", "Préparation au titre professionnel {Job}"]

TRAINING_PROFILES = ("private", "alternance", "public", "scolaire")
PROFILE_WEIGHTS = {
    # vocation of the structure -> weights of the profiles above
    "continue": (70, 10, 20, 0),
    "cfa": (15, 75, 5, 5),
}

ACCESS_TEXTS = [
    "Locaux accessibles aux personnes à mobilité réduite. Notre référent handicap étudie avec vous les "
    "adaptations nécessaires.",
    "Formation accessible aux personnes en situation de handicap : contactez le référent handicap pour "
    "organiser votre accueil.",
]
RESTAURATION_TEXTS = [
    "Restauration possible à proximité.",
    "Salle de pause équipée (micro-ondes, réfrigérateur).",
    "Restaurant d'entreprise accessible aux stagiaires.",
]
TRANSPORT_TEXTS = [
    "Accessible en bus, arrêt à 200 mètres.",
    "Parking gratuit sur place.",
    "À dix minutes à pied de la gare.",
]


# --- small helpers -----------------------------------------------------------------------


def _luhn_complete(prefix):
    """``prefix`` followed by the digit that makes the whole number Luhn-valid."""
    return prefix + luhn.calc_check_digit(prefix)


def random_siren(rng):
    while True:
        siren = _luhn_complete(rng.choice("346789") + f"{rng.randrange(10**7):07d}")
        if siren != "356000000":  # La Poste, whose SIRETs do not follow the Luhn key
            return siren


def random_siret(rng, siren):
    return _luhn_complete(siren + f"{rng.randint(1, 60):04d}")


STOPWORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "pour", "en", "aux", "au", "à"}


def _web_name(nom, dept):
    """A short domain name for a structure: its slug, or its initials when the name is long."""
    slug = slugify(nom)
    if len(slug) <= 30:
        return slug
    words = [w for w in re.split(r"[\s'’-]+", nom) if w and w.lower() not in STOPWORDS]
    return f"{slugify(''.join(w if w.isupper() else w[0] for w in words))}-{dept}"


def _ascii_upper(value):
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()


def _capitalize(value):
    return value[:1].upper() + value[1:]


ACRONYMS = {
    "BTS", "BTSA", "CAP", "CAPA", "BEP", "BP", "BPJEPS", "BPREA", "DUT", "BUT", "CQP", "TP", "DE",
    "SST", "CACES", "HACCP", "SSIAP", "RH", "PME", "TPE", "MC", "DEAES", "DEAS", "DEAP", "TOEIC", "FLE", "DELF",
}  # fmt: skip
FRENCH_SMALL_WORDS = {"DE", "DU", "DES", "LA", "LE", "LES", "ET", "EN", "AU", "AUX", "A", "D", "L", "OU", "POUR"}


def _sentence_case(value):
    """A title written in capitals, in lower case but for its acronyms (« BTS assurance »)."""

    def word(match):
        text = match.group(0)
        if text in ACRONYMS and not (text in FRENCH_SMALL_WORDS and match.start() > 0):
            return text
        return text.lower()

    return _capitalize(re.sub(r"[^\W\d_]+", word, value))


def _truncate(value, limit):
    if len(value) <= limit:
        return value
    return value[: limit - 1].rsplit(" ", 1)[0] + "…"


def _phone(rng):
    # ARCEP's range for fiction: 02 61 91 00 00 to 02 61 91 99 99.
    return f"026191{rng.randrange(10000):04d}"


def _decimal(value):
    return Decimal(f"{value:.6f}")


def _aware(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _de(phrase):
    """« de » before a phrase, elided before a vowel: « d'entretenir », « de réaliser »."""
    return f"d'{phrase}" if phrase[:1].lower() in "aàâeéèêiîoôuy" else f"de {phrase}"


def _add_working_days(day, count):
    """The working day ``count`` working days after ``day`` (itself a working day)."""
    weeks, rest = divmod(count, 5)
    day += datetime.timedelta(days=7 * weeks)
    while rest:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            rest -= 1
    return day


HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}  # fixed-date ones


def _weekday(day):
    """The day itself, or the next working day when it falls on a weekend or a (fixed) holiday."""
    while day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        day += datetime.timedelta(days=1)
    return day


def _ordered_sample(rng, items, count):
    """``count`` of ``items``, in their order (modules of a programme)."""
    return [items[i] for i in sorted(rng.sample(range(len(items)), count))]


def _round_hours(hours, step=7):
    return max(step, int(round(hours / step)) * step)


# --- referentials the generator needs --------------------------------------------------


MINIMAL_DISPOSITIFS = [
    # financeur (code, libellé, code LHEO, public), dispositifs (code, libellé, saisie, type, fonds publics)
    (
        ("98020", "Privé (Entreprise / Particulier)", "5", False),
        [
            (
                "CPR02",
                "Formation individuelle financée par l'entreprise ou le particulier",
                EnteredBy.OF,
                TrainingKind.CONTINUE,
                False,
            )
        ],
    ),
    (
        ("98018", "OPCO", "16", False),
        [
            ("AOP02", "Contrat d'apprentissage", EnteredBy.OF, TrainingKind.ALTERNANCE, False),
            ("AOP03", "Contrat de professionnalisation", EnteredBy.OF, TrainingKind.ALTERNANCE, False),
        ],
    ),
    (
        ("98010", "Conseil régional", "2", True),
        [("PRF01", "Programme régional : Parcours métiers", EnteredBy.CARIF, TrainingKind.CONTINUE, True)],
    ),
    (
        ("98014", "France Travail", "4", True),
        [
            (
                "AFC01",
                "France Travail Formation conventionnée : Certifiante",
                EnteredBy.CARIF,
                TrainingKind.CONTINUE,
                True,
            )
        ],
    ),
]


def ensure_referentials():
    """Structure type F1610, state DIO, and a minimal set of dispositifs when there is none."""
    structure_type, _ = StructureType.objects.get_or_create(
        code="F1610", defaults={"libelle": "Organismes de formation continue privé RCVL"}
    )
    structure_state, _ = StructureState.objects.get_or_create(
        code="DIO", defaults={"libelle": "Diffusion OF", "is_diffused": True}
    )
    if not Dispositif.objects.exists():
        for (code, libelle, lheo_code, is_public), dispositifs in MINIMAL_DISPOSITIFS:
            financeur, _ = Financeur.objects.get_or_create(
                code=code, defaults={"libelle": libelle, "lheo_code": lheo_code, "is_public": is_public}
            )
            for d_code, d_libelle, entered_by, kind, public_funds in dispositifs:
                Dispositif.objects.get_or_create(
                    code=d_code,
                    defaults={
                        "libelle": d_libelle,
                        "financeur": financeur,
                        "entered_by": entered_by,
                        "training_kind": kind,
                        "is_public_funds": public_funds,
                        "is_apprenticeship": d_code == "AOP02",
                    },
                )
    return structure_type, structure_state


@dataclass(frozen=True)
class DispositifRow:
    pk: int
    code: str
    financeur_id: int
    financeur_lheo: str
    training_kind: str
    entered_by: str
    apprenticeship: bool


@dataclass(frozen=True)
class CertificationRow:
    pk: int
    intitule: str
    niveau_sortie: str
    acces_apprentissage: bool
    objectif: str
    contenu: str
    codes_rome: str
    formacodes: str


def _profile_of(d):
    if d.training_kind == TrainingKind.ALTERNANCE:
        return "alternance"
    if d.training_kind == TrainingKind.SCOLAIRE:
        return "scolaire"
    return "public" if d.entered_by == EnteredBy.CARIF else "private"


def load_dispositifs():
    rows = Dispositif.objects.filter(is_active=True).select_related("financeur").order_by("code")
    groups = {profile: [] for profile in TRAINING_PROFILES}
    for d in rows:
        row = DispositifRow(
            d.pk,
            d.code,
            d.financeur_id,
            d.financeur.lheo_code,
            d.training_kind,
            d.entered_by,
            d.is_apprenticeship,
        )
        groups[_profile_of(row)].append(row)
    return groups


def load_certifications(seed):
    """A deterministic pool of published certifications (at most CERTIFICATION_POOL_SIZE)."""
    ids = list(
        Certification.objects.filter(etat=CertificationState.PUBLISHED)
        .order_by("code_certifinfo")
        .values_list("pk", flat=True)
    )
    if len(ids) > CERTIFICATION_POOL_SIZE:
        ids = random.Random(f"{seed}:certifications").sample(ids, CERTIFICATION_POOL_SIZE)
    rows = (
        Certification.objects.filter(pk__in=ids)
        .order_by("code_certifinfo")
        .values_list(
            "pk", "intitule", "niveau_sortie", "acces_apprentissage", "objectif", "contenu", "codes_rome", "formacodes"
        )
    )
    return [CertificationRow(*row) for row in rows]


# --- in-memory plans of one chunk --------------------------------------------------------


@dataclass
class SessionPlan:
    session: Session
    fields: dict
    trainers: list  # (structure, is_principal)
    places: list  # (lieu, is_principal)
    contacts: list  # (contact, type_contact, is_principal)
    financements: list  # dict of fields (dispositif_id, financeur_id, ...)
    cycles: list  # dict of fields
    slots: list  # dict of fields (structure, lieu are objects)


@dataclass
class FormationPlan:
    formation: Formation
    fields: dict
    profile: str  # one of TRAINING_PROFILES
    shape: str  # "short" course or "qualifying" training
    dispositif: DispositifRow | None  # main financing scheme of its sessions
    draft: bool = False
    sessions: list = field(default_factory=list)


@dataclass
class StructurePlan:
    structure: Structure
    version: StructureVersion
    lieux: list
    contacts: list
    vocation: str  # "continue" or "cfa"
    domains: list
    previous: Structure | None  # the structure generated just before (co-trainer of a few sessions)
    created_at: datetime.datetime  # before any of its formations was published
    formations: list = field(default_factory=list)
    titles: set = field(default_factory=set)


class OfferGenerator:
    """Generates structures ``[0, structures)`` chunk by chunk; see ``generate_offer``."""

    def __init__(
        self,
        *,
        structures,
        formations_per_structure,
        sessions_per_formation,
        seed,
        today,
        chunk_sessions=DEFAULT_CHUNK_SESSIONS,
        progress=None,
    ):
        if structures < 0 or formations_per_structure < 0 or sessions_per_formation < 1:
            raise ValueError("structures ≥ 0, formations ≥ 0 and sessions per formation ≥ 1 are required.")
        if not connection.features.can_return_rows_from_bulk_insert:
            raise RuntimeError(
                "generate_offer needs a database that returns primary keys from bulk inserts "
                "(PostgreSQL, SQLite ≥ 3.35)."
            )
        # PostgreSQL: keys reserved from the sequences and one COPY per table and chunk.
        self.use_copy = connection.vendor == "postgresql"
        self.pending = []
        self.n_structures = structures
        self.n_formations = formations_per_structure
        self.n_sessions = sessions_per_formation
        self.seed = seed
        self.today = today
        self.progress = progress
        per_structure = max(1, formations_per_structure * sessions_per_formation)
        self.chunk_structures = max(1, chunk_sessions // per_structure)
        self.counts = Counter()
        self.previous_structure = None
        # Sessions start between January two years before the anchor and September two years after.
        self.window_start = datetime.date(today.year - 2, 1, 1)
        self.window_end = datetime.date(today.year + 2, 9, 30)
        self.towns, self.departement_phrases = region_towns()
        self.town_weights = list(itertools.accumulate(t[5] for t in self.towns))
        self.towns_by_departement = {}
        for town in self.towns:
            self.towns_by_departement.setdefault(departement_of_insee(town[2]), []).append(town)

    # -- orchestration --

    def run(self):
        started = time.monotonic()
        with transaction.atomic():
            self.structure_type, self.structure_state = ensure_referentials()
        self.dispositifs = load_dispositifs()
        self.certifications = load_certifications(self.seed)
        self.apprenticeship_certifications = [c for c in self.certifications if c.acces_apprentissage]
        for first in range(0, self.n_structures, self.chunk_structures):
            last = min(self.n_structures, first + self.chunk_structures)
            plans = []
            for index in range(first, last):
                plans.append(self.plan_structure(index, plans[-1].structure if plans else self.previous_structure))
            with transaction.atomic():
                self.write_chunk(plans)
            reset_queries()  # with DEBUG on, Django keeps every (large) INSERT: keep memory bounded
            self.previous_structure = plans[-1].structure
            if self.progress:
                self.progress(last, self.n_structures, self.counts, time.monotonic() - started)
        self.counts["elapsed_seconds"] = round(time.monotonic() - started, 2)
        return self.counts

    # -- planning (pure Python, no query) --

    def plan_structure(self, index, previous):
        rng = random.Random(f"ofeli-generate-offer:{self.seed}:{index}")
        town = rng.choices(self.towns, cum_weights=self.town_weights)[0]
        dept = departement_of_insee(town[2])
        vocation = "cfa" if rng.random() < 0.25 else "continue"
        if vocation == "cfa":
            domains = rng.sample(ALTERNANCE_DOMAINS, rng.choice((2, 3, 3)))
        else:
            domains = rng.sample(DOMAINS, rng.choice((1, 2, 2, 3)))
        main = domains[0]
        nom, is_association = self._structure_name(rng, town, dept, main, vocation)
        legal = "" if is_association else " " + rng.choice(COMPANY_LEGAL_FORMS)
        siren = random_siren(rng)
        if rng.random() < OUT_OF_REGION_NDA_RATIO:
            region, depts = rng.choice(OTHER_REGIONS_NDA)
            nda = f"{region}{rng.choice(depts)}{rng.randrange(10**7):07d}"
        else:
            # Digits 3-4: the département (« 20 » in Corsica, « 97 » overseas).
            nda = f"{REGION_OF_DEPARTEMENT[dept]}{'20' if dept in ('2A', '2B') else dept[:2]}{rng.randrange(10**7):07d}"
        uai = ""
        if vocation == "cfa" or rng.random() < 0.05:
            seven = f"{dept.rjust(3, '0')}{rng.randrange(10000):04d}"
            uai = seven + uai_check_letter(seven)
        structure = Structure(
            siret=random_siret(rng, siren),
            siren=siren,
            nda=nda,
            uai=uai,
            raison_sociale=_ascii_upper(nom) + legal,
            nom=nom,
            type_id=self.structure_type.pk,
            etat_id=self.structure_state.pk,
        )
        domain = _web_name(nom, dept) + ".example.org"
        version = StructureVersion(
            structure=structure,
            telephone=_phone(rng),
            email=f"contact@{domain}",
            site_web=f"https://www.{domain}",
            **self._address(rng, town),
        )
        lieux = self._lieux(rng, structure, town)
        contacts = self._contacts(rng, structure, domain, vocation)
        created_at = _aware(self.today - datetime.timedelta(days=rng.randint(720, 3650)), rng.randint(8, 18))
        plan = StructurePlan(
            structure, version, lieux, contacts, vocation, domains, previous if index else None, created_at
        )
        for _ in range(self.n_formations):
            plan.formations.append(self._plan_formation(rng, plan))
        return plan

    def _structure_name(self, rng, town, dept, domain, vocation):
        surname = rng.choice(LAST_NAMES)
        town_name = town[0]
        de_dept = self.departement_phrases[dept]
        if vocation == "cfa":
            choice = rng.randrange(3)
            if choice == 0:
                return f"CFA {domain.label} {de_dept}", True
            if choice == 1:
                return f"Campus {domain.label} de {town_name}", True
            return f"Institut de formation {domain.label} {de_dept}", True
        choice = rng.randrange(7)
        if choice == 0:
            return f"{rng.choice(BRAND_PREFIXES)} {rng.choice(BRAND_SUFFIXES)}", False
        if choice == 1:
            return f"{rng.choice(BRAND_PREFIXES)} {rng.choice(BRAND_SUFFIXES)} {town_name}", False
        if choice == 2:
            return f"Institut {surname}", False
        if choice == 3:
            return f"Centre de formation {surname}", False
        if choice == 4:
            return f"{surname} Formation Conseil", False
        if choice == 5:
            return f"Centre de formation {domain.label} de {town_name}", True
        return f"Association pour la formation professionnelle {de_dept}", True

    def _address(self, rng, town, *, jitter=0.012):
        name, postcode, insee, lat, lon, _ = town
        number = rng.randint(1, 180)
        suffix = " bis" if rng.random() < 0.05 else ""
        return {
            "adresse": f"{number}{suffix} {rng.choice(STREETS)}",
            "complement": rng.choice(COMPLEMENTS) if rng.random() < 0.15 else "",
            "code_postal": postcode,
            "ville": name,
            "code_insee": insee,
            "latitude": _decimal(lat + rng.uniform(-jitter, jitter)),
            "longitude": _decimal(lon + rng.uniform(-jitter, jitter)),
        }

    def _lieux(self, rng, structure, town):
        count = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
        same_dept = [t for t in self.towns_by_departement[departement_of_insee(town[2])] if t is not town]
        towns = [town] + rng.sample(same_dept, min(count - 1, len(same_dept)))
        lieux = []
        for i, lieu_town in enumerate(towns):
            lieux.append(
                Lieu(
                    structure=structure,
                    nom=rng.choice(LIEU_NAMES).format(town=lieu_town[0]),
                    siret=structure.siret if i == 0 else self._other_siret(rng, structure),
                    **self._address(rng, lieu_town),
                )
            )
        return lieux

    def _other_siret(self, rng, structure):
        """The SIRET of another establishment of the same company."""
        while True:
            siret = random_siret(rng, structure.siren)
            if siret != structure.siret:
                return siret

    def _person(self, rng):
        if rng.random() < 0.55:
            return "Mme", rng.choice(FIRST_NAMES_F), rng.choice(LAST_NAMES), True
        return "M.", rng.choice(FIRST_NAMES_M), rng.choice(LAST_NAMES), False

    def _contacts(self, rng, structure, domain, vocation):
        count = rng.randint(2, 4)
        civilite, prenom, nom, female = self._person(rng)
        contacts = [
            Contact(
                structure=structure,
                civilite=civilite,
                prenom=prenom,
                nom=nom,
                types=["5"],
                fonction="Directrice" if female else "Directeur",
                email=f"{slugify(prenom)}.{slugify(nom)}@{domain}",
                telephone=_phone(rng),
                is_principal=True,
                diffusion_web=False,
            )
        ]
        roles = rng.sample(CONTACT_ROLES, count - 1)
        if vocation == "cfa":
            roles[0] = APPRENTICESHIP_ROLE
        for types, fonction_f, fonction_m in roles:
            civilite, prenom, nom, female = self._person(rng)
            contacts.append(
                Contact(
                    structure=structure,
                    civilite=civilite,
                    prenom=prenom,
                    nom=nom,
                    types=list(types),
                    fonction=fonction_f if female else fonction_m,
                    service="Pôle formation" if rng.random() < 0.3 else "",
                    email=f"{slugify(prenom)}.{slugify(nom)}@{domain}",
                    telephone=_phone(rng),
                    is_principal=False,
                    diffusion_web=rng.random() < 0.8,
                )
            )
        return contacts

    # formations

    def _choose_profile(self, rng, vocation):
        weights = [
            w if self.dispositifs[p] else 0 for p, w in zip(TRAINING_PROFILES, PROFILE_WEIGHTS[vocation], strict=True)
        ]
        if not any(weights):
            weights = [1 if self.dispositifs[p] else 0 for p in TRAINING_PROFILES]
        if not any(weights):
            return "private"  # no active dispositif at all: sessions without financing
        return rng.choices(TRAINING_PROFILES, weights=weights)[0]

    def _plan_formation(self, rng, splan):
        profile = self._choose_profile(rng, splan.vocation)
        work_study = profile in ("alternance", "scolaire")
        domains = [d for d in splan.domains if d.alternance] if work_study else splan.domains
        domains = domains or ALTERNANCE_DOMAINS
        for _ in range(8):  # a structure rarely offers the same title twice
            domain = rng.choice(domains)
            certification = self._certification(rng, profile)
            intitule, subject, niveau_sortie, shape, cycle_years = self._title(rng, profile, domain, certification)
            if intitule not in splan.titles:
                break
        if intitule in splan.titles:
            intitule = f"{intitule} – {rng.choice(splan.lieux).ville}"
        base, number = intitule, 2
        while intitule in splan.titles:
            intitule, number = f"{base} (parcours {number})", number + 1
        intitule = _truncate(intitule, 255)
        splan.titles.add(intitule)
        niveau_entree = self._entry_level(rng, niveau_sortie)
        objectif, contenu = self._texts(rng, domain, subject, shape, certification)
        published_on = self.today - datetime.timedelta(days=rng.randint(1, 700))
        published_at = _aware(published_on, rng.randint(8, 18), rng.choice((0, 15, 30, 45)))
        archived = rng.random() < ARCHIVED_RATIO
        group = self.dispositifs[profile]
        dispositif = rng.choice(group) if group else None
        source = Source.OF
        if profile == "public":
            # Offer bought by the Région or France Travail arrives through their flows (E5).
            source = {"2": Source.REGION, "4": Source.FRANCE_TRAVAIL}.get(dispositif.financeur_lheo, Source.PARTNER)
        formation = Formation(
            structure=splan.structure,
            source=source,
            published_at=published_at,
            archived_at=_aware(min(self.today, published_on + datetime.timedelta(days=rng.randint(30, 400))), 17)
            if archived
            else None,
        )
        fields = {
            "intitule": intitule,
            "certification_id": certification.pk if certification else None,
            "duree_cycle": cycle_years,
            "niveau_entree": niveau_entree,
            "niveau_sortie": niveau_sortie,
            "objectif": objectif,
            "contenu": contenu,
            "resultats_attendus": "Certification visée."
            if certification or shape == "qualifying"
            else "Attestation de fin de formation.",
            "objectif_general": "6" if certification else "7" if shape == "qualifying" else domain.objectif_general,
            "codes_rome": (certification.codes_rome if certification and certification.codes_rome else domain.rome)[
                :100
            ],
            "formacodes": (certification.formacodes if certification else "")[:100],
            "site_web": "",
        }
        draft = rng.random() < DRAFT_RATIO and not archived
        fplan = FormationPlan(formation, fields, profile, shape, dispositif, draft)
        session_specs = sorted(
            (self._session_dates(rng, fplan) for _ in range(self.n_sessions)), key=lambda spec: spec["date_debut"]
        )
        for spec in session_specs:
            fplan.sessions.append(self._plan_session(rng, splan, fplan, spec))
        return fplan

    def _certification(self, rng, profile):
        pool = (self.apprenticeship_certifications if profile == "alternance" else None) or self.certifications
        if pool and rng.random() < (0.6 if profile == "alternance" else CERTIFIED_RATIO):
            return rng.choice(pool)
        return None

    def _title(self, rng, profile, domain, certification):
        """Intitulé, subject (for the texts), niveau de sortie, shape and durée cycle of a formation."""
        work_study = profile in ("alternance", "scolaire")
        if certification is not None:
            # E3: a formation made from a certification is prefilled from it.
            intitule = certification.intitule.strip()
            if is_all_capitals(intitule):
                intitule = _sentence_case(intitule)
            intitule = _capitalize(intitule)
            # A certification without a level (Répertoire spécifique: TOEIC, habilitations...) is
            # prepared in a short course; a diploma or a titre in a qualifying training.
            niveau_sortie = certification.niveau_sortie if certification.niveau_sortie in LEVELS else "1"
            shape = "qualifying" if niveau_sortie != "1" or work_study else "short"
            cycle_years = (2 if niveau_sortie in ("13", "15") else rng.choice((1, 2))) if work_study else None
            return intitule, intitule, niveau_sortie, shape, cycle_years
        qualifying_chance = 0.7 if profile == "public" else 0.35
        if work_study or ((domain.jobs or domain.diplomas) and rng.random() < qualifying_chance):
            use_diploma = domain.diplomas and (not domain.jobs or rng.random() < (0.6 if work_study else 0.3))
            if use_diploma:
                intitule, niveau_sortie, cycle_years = rng.choice(domain.diplomas)
                subject = intitule
            else:
                job, niveau_sortie = rng.choice(domain.jobs)
                pattern = rng.choice(JOB_TITLES)
                intitule = pattern.format(job=job[0].lower() + job[1:], Job=job)
                subject = job
                cycle_years = 1 if niveau_sortie <= "14" else 2  # a titre professionnel takes a year or two
            if work_study and rng.random() < 0.4:
                intitule += " en apprentissage" if profile == "alternance" else " (voie scolaire)"
            return intitule, subject, niveau_sortie, "qualifying", cycle_years if work_study else None
        topic = rng.choice(domain.topics)
        pattern, niveau_sortie = rng.choice(TOPIC_TITLES), "1"
        shape = "short" if profile == "private" or rng.random() < 0.5 else "qualifying"
        return pattern.format(topic=topic, Topic=_capitalize(topic)), topic, niveau_sortie, shape, None

    def _entry_level(self, rng, niveau_sortie):
        if niveau_sortie in ("", "1"):
            return "1"
        exit_level = int(niveau_sortie)
        if exit_level <= 13 and rng.random() < 0.5:
            return "1"
        return str(max(11, exit_level - rng.choice((1, 1, 2))))

    def _texts(self, rng, domain, subject, shape, certification):
        skills = rng.sample(domain.skills, 3)
        if certification is not None:
            # E3: texts prefilled from the certification; a generic programme when it has none.
            objectif = certification.objectif or (
                f"Préparer et obtenir la certification « {subject} » : acquérir les compétences décrites dans "
                f"son référentiel et se présenter aux épreuves dans les meilleures conditions."
            )
            candidates = [m for m in CERTIFICATION_MODULES if shape != "short" or m != "Période en entreprise"]
            modules = _ordered_sample(rng, candidates, rng.randint(3, len(candidates)))
        elif shape == "short":
            objectif = (
                f"Acquérir ou renforcer ses compétences en {subject[0].lower() + subject[1:]}. "
                f"À l'issue de la formation, l'apprenant sera capable {_de(skills[0])} et {_de(skills[1])}."
            )
        else:
            objectif = (
                f"Se qualifier et préparer la certification « {subject} ». À l'issue du parcours, "
                f"l'apprenant sera capable {_de(skills[0])}, {_de(skills[1])} et {_de(skills[2])}."
            )
        if certification is None:
            modules = _ordered_sample(rng, domain.modules, rng.randint(3, min(5, len(domain.modules))))
        if certification is not None and certification.contenu:
            contenu = certification.contenu
        else:
            lines = [f"Module {i} : {module}" for i, module in enumerate(modules, start=1)]
            lines.append("Évaluation des acquis et bilan de fin de formation.")
            contenu = "\n".join(lines)
        return _truncate(objectif, TEXT_LIMIT), _truncate(contenu, TEXT_LIMIT)

    # sessions

    def _random_day(self, rng, start, end):
        return start + datetime.timedelta(days=rng.randint(0, (end - start).days))

    def _session_dates(self, rng, fplan):
        """Dates, durations and rhythm of one session, coherent with the formation."""
        profile, shape = fplan.profile, fplan.shape
        years = fplan.fields["duree_cycle"] or 1
        spec = {"a_la_demande": False, "entree_sortie_permanente": False}
        if profile in ("alternance", "scolaire"):
            year = rng.randint(self.window_start.year, self.window_end.year)
            debut = _weekday(datetime.date(year, 9, 1) + datetime.timedelta(days=rng.randint(0, 44)))
            fin = datetime.date(year + years, 6, 30) + datetime.timedelta(days=rng.randint(0, 60))
            per_year_centre = rng.randint(400, 675) if profile == "alternance" else rng.randint(800, 1000)
            centre = _round_hours(per_year_centre * years)
            if profile == "alternance":
                entreprise = _round_hours(rng.randint(1000, 1150) * years)
            else:
                entreprise = _round_hours(rng.randint(70, 280) * years)
            spec.update(rythme=RythmeCode.TEMPS_PLEIN, duree_hebdomadaire=35, type_parcours="1")
        else:
            if shape == "short":
                centre = _round_hours(rng.choice((7, 14, 14, 21, 21, 28, 35, 35, 70)))
                entreprise = 0
            else:
                centre = _round_hours(rng.randint(150, 900))
                entreprise = _round_hours(rng.randint(70, 420)) if rng.random() < 0.8 else 0
            rythme = rng.choices(
                (RythmeCode.TEMPS_PLEIN, RythmeCode.TEMPS_PARTIEL, RythmeCode.SOIR, RythmeCode.MODULAIRE),
                weights=(70, 15, 5, 10),
            )[0]
            weekly = {
                RythmeCode.TEMPS_PLEIN: 35,
                RythmeCode.TEMPS_PARTIEL: 21,
                RythmeCode.SOIR: 6,
                RythmeCode.MODULAIRE: 14,
            }[rythme]
            spec.update(
                rythme=rythme,
                duree_hebdomadaire=weekly,
                type_parcours=rng.choices(("1", "2", "3", "4"), weights=(70, 10, 10, 10))[0],
            )
            if rng.random() < 0.08:
                # « Session à la demande » / « Entrée-Sortie permanente »: the dates cover a calendar year.
                year = rng.randint(self.window_start.year, self.window_end.year)
                debut, fin = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
                key = "a_la_demande" if rng.random() < 0.5 else "entree_sortie_permanente"
                spec[key] = True
                spec["type_parcours"] = "2"
            else:
                debut = _weekday(self._random_day(rng, self.window_start, self.window_end))
                working_days = math.ceil((centre + entreprise) / (weekly / 5))
                fin = _add_working_days(debut, working_days - 1)
        spec.update(date_debut=debut, date_fin=fin, duree_centre=centre, duree_entreprise=entreprise)
        return spec

    def _plan_session(self, rng, splan, fplan, spec):
        structure = splan.structure
        profile = fplan.profile
        debut, fin = spec["date_debut"], spec["date_fin"]
        modalite = rng.choices(
            (ModaliteEnseignement.PRESENTIEL, ModaliteEnseignement.MIXTE, ModaliteEnseignement.DISTANCE),
            weights=(85, 10, 5),
        )[0]
        if modalite == ModaliteEnseignement.DISTANCE and (profile != "private" or not nda_is_in_region(structure.nda)):
            modalite = ModaliteEnseignement.PRESENTIEL  # F5: distance only for an OF declared in the region
        pedagogie = {ModalitePedagogique.PRESENTIEL_GROUPE}
        if modalite != ModaliteEnseignement.PRESENTIEL:
            pedagogie.add(ModalitePedagogique.FOAD)
        if modalite == ModaliteEnseignement.DISTANCE:
            pedagogie.discard(ModalitePedagogique.PRESENTIEL_GROUPE)
        if spec["duree_entreprise"]:
            pedagogie.add(ModalitePedagogique.STAGE)
        if rng.random() < 0.4:
            pedagogie.add(
                rng.choice((ModalitePedagogique.ATELIER, ModalitePedagogique.PROJET, ModalitePedagogique.INDIVIDUALISE))
            )
        # places, trainer, contact
        principal_lieu = splan.lieux[0] if rng.random() < 0.7 else rng.choice(splan.lieux)
        places = [(principal_lieu, True)]
        others = [lieu for lieu in splan.lieux if lieu is not principal_lieu]
        if others and rng.random() < 0.2:
            places.append((rng.choice(others), False))
        trainers = [(structure, True)]
        if splan.previous is not None and rng.random() < 0.05:
            trainers.append((splan.previous, False))
        candidates = [c for c in splan.contacts if not c.is_principal] or splan.contacts
        if profile == "alternance":
            contact = next((c for c in candidates if "14" in c.types), candidates[0])
            type_contact = "14" if "14" in contact.types else "3"
        else:
            contact = rng.choice(candidates)
            type_contact = contact.types[0]
        # financing
        financements, cycles = self._financing(rng, fplan, debut)
        past = fin < self.today
        if spec["a_la_demande"] or spec["entree_sortie_permanente"]:
            debut_inscription, fin_inscription = debut, fin
        else:
            debut_inscription = debut - datetime.timedelta(days=rng.randint(30, 120))
            fin_inscription = debut - datetime.timedelta(days=rng.randint(0, 7))
        slots = []
        if rng.random() < 0.4:
            if spec["a_la_demande"] or spec["entree_sortie_permanente"]:
                day = _weekday(debut + datetime.timedelta(days=rng.randint(7, 330)))
            else:
                day = _weekday(debut - datetime.timedelta(days=rng.randint(10, 45)))
            start_hour = rng.choice((9, 14))
            slots.append(
                {
                    "modalite": "9",
                    "date": day,
                    "heure_debut": datetime.time(start_hour, 30 if start_hour == 9 else 0),
                    "heure_fin": datetime.time(start_hour + 2, 0 if start_hour == 9 else 30),
                    "nb_places": rng.choice((10, 12, 15, 20)),
                    "commentaire": "Présentation de la formation, du métier et des possibilités de financement.",
                    "perimetre": rng.choice(("2", "3")),
                    "a_distance": False,
                    "lieu": principal_lieu,
                    "structure": structure,
                }
            )
        else:
            # F13: at least one of the three France Travail modalities on every session.
            slots.append({"modalite": "7", "commentaire": "Candidature par dossier.", "structure": structure})
        fields = {
            "kind": {"alternance": TrainingKind.ALTERNANCE, "scolaire": TrainingKind.SCOLAIRE}.get(
                profile, TrainingKind.CONTINUE
            ),
            "date_debut": debut,
            "date_fin": fin,
            "a_la_demande": spec["a_la_demande"],
            "entree_sortie_permanente": spec["entree_sortie_permanente"],
            "modalite_enseignement": modalite,
            "conditions_prise_en_charge": {
                "private": "Prise en charge possible par votre employeur, votre OPCO ou votre compte personnel "
                "de formation.",
                "alternance": "Formation gratuite et rémunérée pour l'alternant : le coût est pris en charge par "
                "l'OPCO de l'entreprise.",
                "public": "Formation gratuite pour les demandeurs d'emploi ; rémunération possible selon votre "
                "situation.",
                "scolaire": "Formation gratuite sous statut scolaire.",
            }[profile],
            "duree_centre": spec["duree_centre"],
            "duree_entreprise": spec["duree_entreprise"],
            "duree_totale": spec["duree_centre"] + spec["duree_entreprise"],
            "duree_hebdomadaire": spec["duree_hebdomadaire"],
            "prerequis": PREREQUIS.get(fplan.fields["niveau_entree"], PREREQUIS["default"]),
            "type_parcours": spec["type_parcours"],
            "rythme": spec["rythme"],
            "commentaire_rythme": "Alternance : deux semaines en entreprise, une semaine en centre."
            if profile == "alternance"
            else "",
            "modalites_pedagogiques": sorted(pedagogie),
            "lieu_inscription": principal_lieu,
            "contact_inscription": contact,
            "debut_inscription": debut_inscription,
            "fin_inscription": fin_inscription,
            "restauration": rng.choice(RESTAURATION_TEXTS) if rng.random() < 0.5 else "",
            "transport": rng.choice(TRANSPORT_TEXTS) if rng.random() < 0.5 else "",
            "acces_handicapes": rng.choice(ACCESS_TEXTS) if rng.random() < 0.85 else "",
        }
        for row in financements:
            row["etat_recrutement"] = "2" if past else "1"
        return SessionPlan(
            Session(formation=fplan.formation),
            fields,
            trainers,
            places,
            [(contact, type_contact, True)],
            financements,
            cycles,
            slots,
        )

    def _financing(self, rng, fplan, debut):
        if fplan.dispositif is None:
            return [], []
        profile = fplan.profile
        cycle_years = fplan.fields["duree_cycle"]
        chosen = [fplan.dispositif]
        others = [d for d in self.dispositifs[profile] if d is not fplan.dispositif]
        if others and rng.random() < 0.3:
            chosen.append(rng.choice(others))
        rows = []
        for dispositif in chosen:
            row = {
                "dispositif_id": dispositif.pk,
                "financeur_id": dispositif.financeur_id,
                "etat": FinancementEtat.DIFFUSION,
                "nb_places": rng.choice((8, 10, 12, 14, 15, 16, 20, 24)),
            }
            if profile == "public":
                row["numero_marche"] = f"{debut.year}-{dispositif.code}-{rng.randint(1, 350):03d}"
            rows.append(row)
        cycles = []
        apprenticeship = [d for d in chosen if d.apprenticeship]
        if apprenticeship:
            type_alternance = "1" if len(chosen) == 1 else "0"
            for year in range(1, (cycle_years or 1) + 1):
                cycles.append({"annee": year, "type_cycle": "1", "type_alternance": type_alternance})
        return rows, cycles

    # -- writing one chunk --
    #
    # Two ways of writing, the same rows: on PostgreSQL the primary keys are reserved from the
    # sequences first, every row gets its final values (keys, links, creation dates) in
    # Python, and each table is written with one COPY per chunk (``_copy``): no UPDATE after
    # the inserts. On other databases (SQLite) ``bulk_create`` returns the keys, then two
    # bulk updates set the live versions and ``_backdate`` the creation dates.

    def write_chunk(self, plans):
        counts = self.counts
        for kind, objects in (
            ("P", [p.structure for p in plans]),
            ("L", [lieu for p in plans for lieu in p.lieux]),
            ("C", [c for p in plans for c in p.contacts]),
            ("F", [f.formation for p in plans for f in p.formations]),
            ("S", [s.session for p in plans for f in p.formations for s in f.sessions]),
        ):
            if objects:
                for obj, reference in zip(objects, allocate_references(kind, len(objects)), strict=True):
                    obj.reference = reference
        copy = self.use_copy
        self.pending = []

        for plan in plans:
            plan.structure.created_at = plan.created_at
            plan.version.created_at = plan.created_at
        structures = self._save(Structure, [p.structure for p in plans])
        versions = self._save(StructureVersion, [p.version for p in plans])
        for plan in plans:
            plan.structure.live_version = plan.version
        if not copy:
            for plan in plans:
                plan.structure.created_at = plan.created_at  # bulk_create stamped it with now()
            Structure.objects.bulk_update(structures, ["live_version", "created_at"], batch_size=BULK_BATCH_SIZE)
        structure_ids = [s.pk for s in structures]
        if not copy:
            StructureVersion.objects.filter(structure_id__in=structure_ids).update(
                created_at=Subquery(Structure.objects.filter(pk=OuterRef("structure_id")).values("created_at")[:1])
            )
        self._save(Lieu, [lieu for p in plans for lieu in p.lieux])
        self._save(Contact, [c for p in plans for c in p.contacts])
        counts["structures"] += len(structures)
        counts["structure_versions"] += len(versions)
        counts["lieux"] += sum(len(p.lieux) for p in plans)
        counts["contacts"] += sum(len(p.contacts) for p in plans)

        fplans = [f for p in plans for f in p.formations]
        if not fplans:
            self._flush()
            return
        for fplan in fplans:
            # A formation is created a few days before it is submitted, then accepted.
            fplan.formation.created_at = fplan.formation.published_at - datetime.timedelta(days=5)
            for splan in fplan.sessions:
                splan.session.created_at = fplan.formation.created_at
        formations = self._save(Formation, [f.formation for f in fplans])
        self._save(Session, [s.session for f in fplans for s in f.sessions])
        live = self._write_versions(fplans)
        for fplan, version in zip(fplans, live, strict=True):
            fplan.formation.live_version = version
        if not copy:
            Formation.objects.bulk_update(formations, ["live_version"], batch_size=BULK_BATCH_SIZE)
        drafts = [f for f in fplans if f.draft]
        draft_versions = self._write_versions(drafts, draft=True)

        changes = []
        for fplan, version in zip(fplans, live, strict=True):
            published_at = fplan.formation.published_at
            submitted_at = published_at - datetime.timedelta(days=2)
            changes.append(
                ChangeRequest(
                    kind=ChangeKind.FORMATION,
                    status=ChangeStatus.ACCEPTED,
                    structure=fplan.formation.structure,
                    formation=fplan.formation,
                    formation_version=version,
                    submitted_at=submitted_at,
                    decided_at=published_at,
                    created_at=submitted_at - datetime.timedelta(days=3),
                    updated_at=published_at,
                )
            )
        for fplan, version in zip(drafts, draft_versions, strict=True):
            changes.append(
                ChangeRequest(
                    kind=ChangeKind.FORMATION,
                    status=ChangeStatus.DRAFT,
                    structure=fplan.formation.structure,
                    formation=fplan.formation,
                    formation_version=version,
                    base_version_id=fplan.formation.live_version_id,
                )
            )
        self._save(ChangeRequest, changes)
        history = [
            HistoryEntry(
                action=HistoryAction.ACCEPTED
                if change.status == ChangeStatus.ACCEPTED
                else HistoryAction.CHANGE_STARTED,
                structure=change.structure,
                formation=change.formation,
                change_request=change,
                details=GENERATOR_NOTE,
                created_at=change.decided_at,
            )
            for change in changes
        ]
        self._save(HistoryEntry, history, need_keys=False)
        if copy:
            self._flush()
        else:
            self._backdate(structure_ids)
        counts["formations"] += len(formations)
        counts["sessions"] += sum(len(f.sessions) for f in fplans)
        counts["formations_archived"] += sum(1 for f in fplans if f.formation.archived_at)
        counts["formations_certifiantes"] += sum(1 for f in fplans if f.fields["certification_id"])
        counts["formations_with_open_draft"] += len(drafts)
        counts["change_requests"] += len(changes)
        counts["history_entries"] += len(history)

    def _backdate(self, structure_ids):
        """Creation dates consistent with the publication dates (bulk_create stamps now()):
        a formation is created a few days before it is submitted, then accepted."""
        formation_created = Formation.objects.filter(pk=OuterRef("formation_id")).values("created_at")[:1]
        Formation.objects.filter(structure_id__in=structure_ids).update(
            created_at=F("published_at") - datetime.timedelta(days=5)
        )
        FormationVersion.objects.filter(formation__structure_id__in=structure_ids, live_of__isnull=False).update(
            created_at=Subquery(formation_created)
        )
        Session.objects.filter(formation__structure_id__in=structure_ids).update(created_at=Subquery(formation_created))
        accepted = ChangeRequest.objects.filter(structure_id__in=structure_ids, status=ChangeStatus.ACCEPTED)
        accepted.update(created_at=F("submitted_at") - datetime.timedelta(days=3), updated_at=F("decided_at"))
        HistoryEntry.objects.filter(structure_id__in=structure_ids, action=HistoryAction.ACCEPTED).update(
            created_at=Subquery(ChangeRequest.objects.filter(pk=OuterRef("change_request_id")).values("decided_at")[:1])
        )

    def _write_versions(self, fplans, *, draft=False):
        """One FormationVersion per plan, with its sessions and their children."""
        if not fplans:
            return []
        versions = []
        for fplan in fplans:
            fields = dict(fplan.fields)
            if draft:
                fields["contenu"] = _truncate(
                    fields["contenu"] + "\n\nMise à jour en cours : actualisation du programme et des modalités "
                    "d'évaluation.",
                    TEXT_LIMIT,
                )
            version = FormationVersion(formation=fplan.formation, **fields)
            if not draft:
                version.created_at = fplan.formation.created_at
            versions.append(version)
        self._save(FormationVersion, versions)
        session_versions = []
        splans = []
        for fplan, version in zip(fplans, versions, strict=True):
            for splan in fplan.sessions:
                session_versions.append(
                    SessionVersion(formation_version=version, session=splan.session, **splan.fields)
                )
                splans.append(splan)
        self._save(SessionVersion, session_versions)
        if self.use_copy:
            self._copy_children(splans, session_versions)
        else:
            self._bulk_children(splans, session_versions)
        self.counts["formation_versions"] += len(versions)
        self.counts["session_versions"] += len(session_versions)
        return versions

    def _copy_children(self, splans, session_versions):
        """The rows of the sessions (trainers, places…) as plain rows, without model
        instances (most of the rows of an offer)."""
        children = {model: [] for model in COUNT_NAMES}
        for splan, sv in zip(splans, session_versions, strict=True):
            key = sv.pk
            children[SessionTrainer].extend(
                {"session_version_id": key, "structure_id": s.pk, "is_principal": p} for s, p in splan.trainers
            )
            children[SessionPlace].extend(
                {"session_version_id": key, "lieu_id": lieu.pk, "is_principal": p} for lieu, p in splan.places
            )
            children[SessionContact].extend(
                {"session_version_id": key, "contact_id": c.pk, "type_contact": t, "is_principal": p}
                for c, t, p in splan.contacts
            )
            children[Financement].extend({"session_version_id": key, **row} for row in splan.financements)
            children[Cycle].extend({"session_version_id": key, **row} for row in splan.cycles)
            children[RecruitmentSlot].extend({"session_version_id": key, **row} for row in splan.slots)
        for model, rows in children.items():
            if rows:
                self.pending.append((model, rows))
            self.counts[COUNT_NAMES[model]] += len(rows)

    def _bulk_children(self, splans, session_versions):
        trainers, places, contacts, financements, cycles, slots = [], [], [], [], [], []
        for splan, sv in zip(splans, session_versions, strict=True):
            trainers.extend(SessionTrainer(session_version=sv, structure=s, is_principal=p) for s, p in splan.trainers)
            places.extend(SessionPlace(session_version=sv, lieu=lieu, is_principal=p) for lieu, p in splan.places)
            contacts.extend(
                SessionContact(session_version=sv, contact=c, type_contact=t, is_principal=p)
                for c, t, p in splan.contacts
            )
            financements.extend(Financement(session_version=sv, **row) for row in splan.financements)
            cycles.extend(Cycle(session_version=sv, **row) for row in splan.cycles)
            slots.extend(RecruitmentSlot(session_version=sv, **row) for row in splan.slots)
        for model, rows in (
            (SessionTrainer, trainers),
            (SessionPlace, places),
            (SessionContact, contacts),
            (Financement, financements),
            (Cycle, cycles),
            (RecruitmentSlot, slots),
        ):
            self._bulk(model, rows)
            self.counts[COUNT_NAMES[model]] += len(rows)

    def _save(self, model, objects, *, need_keys=True):
        """Write ``objects`` (``bulk_create``), or on PostgreSQL give them their keys now and
        keep them for the chunk's COPY (``_flush``)."""
        if not self.use_copy:
            return self._bulk(model, objects)
        if objects:
            if need_keys:
                _reserve_keys(model, objects)
            self.pending.append((model, objects))
        return objects

    def _flush(self):
        for model, objects in self.pending:
            if isinstance(objects[0], dict):
                _copy_dicts(model, objects)
            else:
                _copy(model, objects)
        self.pending = []

    def _bulk(self, model, objects):
        if not objects:
            return objects
        created = model.objects.bulk_create(objects, batch_size=BULK_BATCH_SIZE)
        if created[0].pk is None:  # pragma: no cover - guarded in __init__
            raise RuntimeError(f"bulk_create did not return primary keys for {model.__name__}.")
        return created


def _reserve_keys(model, objects):
    """Primary keys for ``objects`` taken from the table's sequence (PostgreSQL)."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        keys = sorted(row[0] for row in cursor.fetchall())
    for obj, key in zip(objects, keys, strict=True):
        obj.pk = key


def _copy_dicts(model, rows):
    """``COPY`` of rows given as dictionaries of column values (``*_id`` keys, or a related
    object under the field's name); a missing field takes its default."""
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    plan = []  # (attname, name of a related object or None, default, JSON?)
    for f in fields:
        default = f.get_default()
        if isinstance(default, enum.Enum):
            default = default.value
        plan.append((f.attname, f.name if f.is_relation else None, default, f.get_internal_type() == "JSONField"))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = []
            for attname, name, default, is_json in plan:
                if attname in row:
                    value = row[attname]
                elif name is not None and name in row:
                    value = row[name].pk if row[name] is not None else None
                else:
                    value = default
                if isinstance(value, enum.Enum):
                    value = value.value
                elif is_json and value is not None:
                    value = Jsonb(value)
                values.append(value)
            copy.write_row(values)


def _copy(model, objects):
    """``COPY`` of model instances built in Python (PostgreSQL): the values of their
    concrete fields as they are, a link to an object given its key at once, a JSON field
    as JSON, an empty creation or modification stamp at the current time (what ``save``
    would do). Without keys, the table's identity gives them."""
    from psycopg.types.json import Jsonb

    meta = model._meta
    with_keys = objects[0].pk is not None
    fields = [f for f in meta.concrete_fields if with_keys or not f.primary_key]
    now = timezone.now()
    relations = [f for f in fields if f.is_relation]
    fixes = []  # (position, function of the raw value)
    for position, f in enumerate(fields):
        if f.get_internal_type() == "JSONField":
            fixes.append((position, lambda v: None if v is None else Jsonb(v)))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixes.append((position, lambda v: now if v is None else v))
        elif f.choices:
            fixes.append((position, lambda v: v.value if isinstance(v, enum.Enum) else v))
    values = operator.attrgetter(*[f.attname for f in fields])
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in objects:
            for f in relations:
                if getattr(obj, f.attname) is None:
                    target = f.get_cached_value(obj, None)
                    if target is not None:
                        setattr(obj, f.attname, target.pk)
            row = values(obj)
            if fixes:
                row = list(row)
                for position, fix in fixes:
                    row[position] = fix(row[position])
            copy.write_row(row)


COUNT_NAMES = {
    SessionTrainer: "session_trainers",
    SessionPlace: "session_places",
    SessionContact: "session_contacts",
    Financement: "financements",
    Cycle: "cycles",
    RecruitmentSlot: "recruitment_slots",
}
LEVELS = {"1", *lheo.CURRENT_LEVEL_CODES}
PREREQUIS = {
    "1": "Aucun prérequis. Maîtrise des savoirs de base (lire, écrire, compter) recommandée.",
    "11": "Maîtrise des savoirs de base.",
    "12": "Niveau 2 ou expérience professionnelle dans le domaine.",
    "13": "Niveau 3 (CAP, BEP) ou expérience professionnelle équivalente.",
    "14": "Niveau 4 (baccalauréat) ou expérience professionnelle équivalente.",
    "15": "Niveau 5 (BTS, DUT) dans le domaine ou expérience significative.",
    "16": "Niveau 6 (licence) dans le domaine.",
    "default": "Entretien de positionnement préalable.",
}


def generate_offer(
    *,
    structures,
    formations_per_structure,
    sessions_per_formation,
    seed,
    today=None,
    chunk_sessions=DEFAULT_CHUNK_SESSIONS,
    progress=None,
):
    """Generate ``structures`` structures, each with ``formations_per_structure`` published
    formations of ``sessions_per_formation`` sessions. Returns a Counter of created rows
    (and ``elapsed_seconds``)."""
    generator = OfferGenerator(
        structures=structures,
        formations_per_structure=formations_per_structure,
        sessions_per_formation=sessions_per_formation,
        seed=seed,
        today=today or timezone.localdate(),
        chunk_sessions=chunk_sessions,
        progress=progress,
    )
    return generator.run()

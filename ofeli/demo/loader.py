"""Demo data (``python manage.py load_demo``), modelled on the user guide's own examples.

The command first loads the referentials, then, unless the demo structure 00079P already
exists (the command is idempotent), builds in one transaction:

Structures (each with a published « fiche organisme », geolocated):
- 00079P « OF présentation OFELI » (Orléans, F1610, DIO, Qualiopi) with its four contacts of
  the guide (00018C Equipe OFFRE, 43877C Aurélie DOUGNAC, 00196C Carole MARC, 43867C Laure
  THEVENIN) and two places (Orléans, Bourges). Its record is published through the workflow
  (Laure asks, the gestionnaire accepts), so its history is real.
- 23470P « OF présentation OFELI - Antenne » (Saint-Jean-de-la-Ruelle), child of 00079P. It
  stays in state BRO « Brouillon » as in the guide, so it carries **no offer** (a structure in
  BRO is not diffused); its record was accepted by Claire HOUIX, as in the guide's history.
- GIP Alfa Centre (Châteauroux, places Châteauroux and Orléans), responsible for CAP Boucher.
- AFPA de Tours and its three places (Tours, Amboise, Loches).
- The guide's trainer search list: 3 SIGMA, 11B L'ATELIER, 1Formation, 2CBI, 2F CONSULTING,
  2J CONSULTING, 1001 défilentes (Bordeaux, outside the region, F1620, with a place in
  Vierzon); plus an OF in Chartres (28), a vocational lycée in Blois (41, with a UAI) and a
  second OF outside the region (Le Mans, BRO, no offer).

Accounts (password ``Demo-ofeli1!``): Laure THEVENIN (OF, rights on 00079P and 23470P),
Aurélie DOUGNAC (OF, GIP Alfa Centre), « Gestion OFFRE » (gestionnaire), Claire HOUIX
(superviseur).

Formations, all created through ``ofeli.workflow.services`` (create, add sessions, submit,
accept), then renamed to the guide's references where it gives them:
- 2358280F BTS assurance (00079P): sessions 373847S (Orléans, apprentissage) and 308695S
  (Bourges, entreprise ou particulier), plus a current session duplicated from 373847S;
  an open change « En attente complément d'information » (Carif comment).
- 0019057F CAP Boucher (GIP Alfa Centre): 373840S, 524168S, 524885S and a current session;
  a change of its contenu « En attente de validation ».
- Titre professionnel comptable assistant (00079P): published with an open draft change
  (« Brouillons ») and a broken web link (« Erreur liens site internet »).
- Titre professionnel gestionnaire comptable et fiscal (102925, 00079P): archived.
- Titre professionnel gestionnaire comptable et fiscal (115066, 00079P): new, never
  submitted (« en cours de création »).
- Anglais professionnel (00079P): new, submitted (« en attente de validation »).
- Published offer in every département of the region (18, 28, 36, 37, 41, 45) with mixed
  financings: AIF / entreprise (CPR02), contrats d'apprentissage and de professionnalisation,
  France Travail AFC and Région PRF (partner-fed, read-only), POE collectives, scolaire.

Sessions other than the guide's are dated relative to the day the command runs (current
school year, next months), so the public site always shows current offer.

Also: two pending account requests (one from an OF declared outside the region, with its
training agreement), messages from and to the Carif (some unread), memos for Laure.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from ofeli.core.models import bump_counter_past, next_reference
from ofeli.formations.enums import Source
from ofeli.formations.models import (
    Cycle,
    Equipement,
    Financement,
    Formation,
    RecruitmentSlot,
    Session,
    SessionBlocs,
    SessionContact,
    SessionPlace,
    SessionVersion,
)
from ofeli.messaging.models import Memo, Message
from ofeli.referentials.enums import TrainingKind
from ofeli.referentials.loading import load_referentials
from ofeli.referentials.models import Certification, Dispositif, Label, StructureState, StructureType
from ofeli.structures.models import Contact, Lieu, Structure, StructureVersion
from ofeli.users.enums import AccountRequestStatus, Role
from ofeli.users.models import AccountRequest, Membership, User
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.notifications import SUBJECTS

DEMO_PASSWORD = "Demo-ofeli1!"
DEMO_STRUCTURE = "00079P"

# The guide's references; counters are moved past them before anything is allocated.
GUIDE_REFERENCES = {
    "P": ["00079P", "23470P", "18971P", "00315P", "23457P", "21342P", "03150P", "23344P", "23330P"],
    "C": ["00018C", "43877C", "00196C", "43867C"],
    "F": ["2358280F", "0019057F"],
    "S": ["373847S", "308695S", "373840S", "524168S", "524885S"],
}

HORAIRE_PLEIN = "Du lundi au vendredi, de 9 h à 12 h 30 et de 13 h 30 à 17 h."
ACCES_HANDICAP = (
    "Locaux accessibles aux personnes à mobilité réduite. Notre référent handicap étudie avec vous les "
    "adaptations nécessaires."
)


def address(adresse, code_postal, ville, code_insee, latitude, longitude):
    return {
        "adresse": adresse,
        "code_postal": code_postal,
        "ville": ville,
        "code_insee": code_insee,
        "latitude": Decimal(latitude),
        "longitude": Decimal(longitude),
    }


ORLEANS_SAINT_ETIENNE = address("10 Rue Saint-Étienne", "45000", "Orléans", "45234", "47.901050", "1.911000")

# key: reference (None = allocated), identity, coordonnées, labels, principal contact, places.
STRUCTURES = [
    {
        "key": "ofeli",
        "reference": "00079P",
        "nom": "OF présentation OFELI",
        "siret": "21860076500018",
        "nda": "24370369337",
        "type": "F1610",
        "etat": "DIO",
        "reseau": "Alfa Centre-Val de Loire",
        "address": ORLEANS_SAINT_ETIENNE,
        "telephone": "02 38 77 83 35",
        "email": "offre@alfacentre.org",
        "site_web": "https://www.alfacentre.org/",
        "labels": ["95"],
        "via_workflow": True,
        "lieux": [
            ("ofeli-orleans", "OF pour les tests OFELI", ORLEANS_SAINT_ETIENNE),
            (
                "ofeli-bourges",
                "OF présentation OFELI - Bourges",
                address("2 Rue Jacques Cœur", "18000", "Bourges", "18033", "47.082900", "2.395400"),
            ),
        ],
    },
    {
        "key": "antenne",
        "reference": "23470P",
        "nom": "OF présentation OFELI - Antenne",
        "siret": "",
        "nda": "24370369337",
        "type": "F1610",
        "etat": "BRO",
        "parent": "ofeli",
        "reseau": "Alfa Centre-Val de Loire",
        "address": address(
            "55 Rue Charles Beauhaire", "45140", "Saint-Jean-de-la-Ruelle", "45285", "47.911300", "1.865000"
        ),
        "telephone": "02 38 77 04 90",
        "email": "antenne.ofeli@example.org",
        "site_web": "https://www.alfacentre.org/",
        "labels": ["95"],
        "via_workflow": True,
        "contact": ("Mme", "Sandrine", "LECLERC", "Responsable d'antenne", "sandrine.leclerc@example.org"),
    },
    {
        "key": "gip",
        "reference": None,
        "nom": "GIP Alfa Centre",
        "raison_sociale": "GIP Alfa Centre-Val de Loire",
        "siret": "13000918600011",
        "nda": "24360123436",
        "type": "F1100",
        "etat": "DIO",
        "reseau": "Alfa Centre-Val de Loire",
        "address": address("10 Rue Grande", "36000", "Châteauroux", "36044", "46.811000", "1.690500"),
        "telephone": "02 54 60 21 40",
        "email": "chateauroux@example.org",
        "site_web": "https://www.alfacentre.org/",
        "labels": ["95", "96", "C06"],
        "contact": ("M.", "Olivier", "RENARD", "Directeur", "olivier.renard@example.org"),
        "lieux": [
            (
                "gip-chateauroux",
                "GIP Alfa Centre - Châteauroux",
                address("10 Rue Grande", "36000", "Châteauroux", "36044", "46.811000", "1.690500"),
            ),
            ("gip-orleans", "GIP Alfa Centre - Orléans", ORLEANS_SAINT_ETIENNE),
        ],
    },
    {
        "key": "afpa",
        "reference": None,
        "nom": "AFPA de Tours",
        "raison_sociale": "Agence nationale pour la formation professionnelle des adultes",
        "siret": "82421218700374",
        "nda": "24370412337",
        "type": "F1100",
        "etat": "DIO",
        "reseau": "AFPA",
        "address": address("56 Avenue du Danemark", "37100", "Tours", "37261", "47.421600", "0.694500"),
        "telephone": "02 47 88 35 00",
        "email": "tours@example.org",
        "site_web": "https://www.afpa.fr/",
        "labels": ["95", "C03", "C01"],
        "contact": ("Mme", "Nathalie", "GUÉRIN", "Directrice du centre", "nathalie.guerin@example.org"),
        "lieux": [
            (
                "afpa-tours",
                "AFPA de Tours",
                address("56 Avenue du Danemark", "37100", "Tours", "37261", "47.421600", "0.694500"),
            ),
            (
                "afpa-amboise",
                "AFPA de Tours",
                address("14 Allée de Malétrenne", "37400", "Amboise", "37003", "47.403000", "0.966000"),
            ),
            (
                "afpa-loches",
                "AFPA de Tours",
                address("1 Rue Viollet le Duc", "37600", "Loches", "37132", "47.126000", "0.993000"),
            ),
        ],
    },
    {
        "key": "sigma",
        "reference": "18971P",
        "nom": "3 SIGMA",
        "siret": "43256884800027",
        "nda": "24370253537",
        "type": "F1610",
        "etat": "DIO",
        "address": address("2 Rue de la Gare", "37310", "Chambourg-sur-Indre", "37049", "47.183000", "0.970000"),
        "telephone": "02 47 92 51 18",
        "email": "contact.3sigma@example.org",
        "site_web": "https://www.example.org/3-sigma",
        "labels": ["95"],
        "contact": ("M.", "Philippe", "AUBRY", "Gérant", "philippe.aubry@example.org"),
        "lieux": [
            (
                "sigma",
                "3 SIGMA - salle de formation",
                address("2 Rue de la Gare", "37310", "Chambourg-sur-Indre", "37049", "47.183000", "0.970000"),
            )
        ],
    },
    {
        "key": "defilentes",
        "reference": "00315P",
        "nom": "1001 défilentes",
        "siret": "52927342700037",
        "nda": "75331044933",
        "type": "F1620",
        "etat": "DIO",
        "address": address("24 Cours de l'Intendance", "33000", "Bordeaux", "33063", "44.842000", "-0.577000"),
        "telephone": "05 56 44 18 20",
        "email": "bonjour.1001defilentes@example.org",
        "site_web": "https://www.example.org/1001-defilentes",
        "labels": ["95"],
        "contact": ("Mme", "Camille", "FERRAND", "Fondatrice", "camille.ferrand@example.org"),
        "lieux": [
            (
                "defilentes-vierzon",
                "1001 défilentes - atelier de Vierzon",
                address("12 Rue Voltaire", "18100", "Vierzon", "18279", "47.222000", "2.069000"),
            )
        ],
    },
    {
        "key": "atelier",
        "reference": "23457P",
        "nom": "11B L'ATELIER",
        "siret": "91044669900019",
        "nda": "24450403445",
        "type": "F1610",
        "etat": "DIO",
        "address": address("11 Rue Bannier", "45000", "Orléans", "45234", "47.906900", "1.904000"),
        "telephone": "02 38 53 27 11",
        "email": "contact.11b@example.org",
        "site_web": "https://www.example.org/11b-atelier",
        "labels": ["95", "C02"],
        "contact": ("M.", "Yanis", "BENALI", "Directeur pédagogique", "yanis.benali@example.org"),
        "lieux": [
            (
                "atelier",
                "11B L'ATELIER",
                address("11 Rue Bannier", "45000", "Orléans", "45234", "47.906900", "1.904000"),
            )
        ],
    },
    {
        "key": "1formation",
        "reference": "21342P",
        "nom": "1Formation",
        "siret": "79090903000013",
        "nda": "24360090236",
        "type": "F1610",
        "etat": "DIO",
        "address": address("18 Rue Nationale", "36400", "La Châtre", "36046", "46.582000", "1.989000"),
        "telephone": "02 54 48 07 36",
        "email": "contact.1formation@example.org",
        "site_web": "https://www.example.org/1formation",
        "labels": ["95", "C04"],
        "contact": ("M.", "Thierry", "PASQUET", "Gérant", "thierry.pasquet@example.org"),
        "lieux": [
            (
                "1formation",
                "1Formation - plateau technique",
                address("18 Rue Nationale", "36400", "La Châtre", "36046", "46.582000", "1.989000"),
            )
        ],
    },
    {
        "key": "2cbi",
        "reference": "03150P",
        "nom": "2CBI",
        "siret": "35168646400030",
        "nda": "24370065437",
        "type": "F1610",
        "etat": "DIO",
        "address": address("15 Rue de la Rabière", "37300", "Joué-lès-Tours", "37122", "47.352000", "0.663000"),
        "telephone": "02 47 67 41 90",
        "email": "contact.2cbi@example.org",
        "site_web": "https://www.example.org/2cbi",
        "labels": ["95"],
        "contact": ("M.", "Laurent", "CHEVALIER", "Responsable formation", "laurent.chevalier@example.org"),
        "lieux": [
            (
                "2cbi",
                "2CBI - centre de Joué-lès-Tours",
                address("15 Rue de la Rabière", "37300", "Joué-lès-Tours", "37122", "47.352000", "0.663000"),
            )
        ],
    },
    {
        "key": "2f",
        "reference": "23344P",
        "nom": "2F CONSULTING",
        "siret": "91431196400011",
        "nda": "24450405545",
        "type": "F1610",
        "etat": "DIO",
        "address": address("8 Rue du Change", "45190", "Beaugency", "45028", "47.777000", "1.633000"),
        "telephone": "02 38 44 60 12",
        "email": "contact.2f@example.org",
        "site_web": "https://www.example.org/2f-consulting",
        "labels": ["95", "C01"],
        "contact": ("Mme", "Florence", "FAUCHER", "Gérante", "florence.faucher@example.org"),
        "lieux": [
            ("2f", "2F CONSULTING", address("8 Rue du Change", "45190", "Beaugency", "45028", "47.777000", "1.633000"))
        ],
    },
    {
        "key": "2j",
        "reference": "23330P",
        "nom": "2J CONSULTING",
        "siret": "49997974800039",
        "nda": "24370254037",
        "type": "F1610",
        "etat": "DIO",
        "address": address("3 Rue de la Mairie", "37420", "Avoine", "37011", "47.207000", "0.183000"),
        "telephone": "02 47 58 16 73",
        "email": "contact.2j@example.org",
        "site_web": "https://www.example.org/2j-consulting",
        "labels": ["95"],
        "contact": ("M.", "Jérôme", "JOLIVET", "Consultant formateur", "jerome.jolivet@example.org"),
        "lieux": [
            ("2j", "2J CONSULTING", address("3 Rue de la Mairie", "37420", "Avoine", "37011", "47.207000", "0.183000"))
        ],
    },
    {
        "key": "chartres",
        "reference": None,
        "nom": "Compétences Eure-et-Loir Formation",
        "siret": "84213577400011",
        "nda": "24280187628",
        "type": "F1200",
        "etat": "DIO",
        "address": address("5 Rue du Grand Faubourg", "28000", "Chartres", "28085", "48.445000", "1.492000"),
        "telephone": "02 37 21 48 90",
        "email": "contact.cel-formation@example.org",
        "site_web": "https://www.example.org/competences-eure-et-loir",
        "labels": ["95", "96"],
        "contact": ("Mme", "Isabelle", "MARCHAND", "Directrice", "isabelle.marchand@example.org"),
        "lieux": [
            (
                "chartres",
                "Compétences Eure-et-Loir Formation",
                address("5 Rue du Grand Faubourg", "28000", "Chartres", "28085", "48.445000", "1.492000"),
            )
        ],
    },
    {
        "key": "lycee",
        "reference": None,
        "nom": "Lycée professionnel des métiers du Blésois",
        "siret": "19410899900021",
        "nda": "",
        "uai": "0410899E",
        "type": "F1300",
        "etat": "DIO",
        "address": address("2 Rue Dupré", "41000", "Blois", "41018", "47.589000", "1.330000"),
        "telephone": "02 54 55 31 00",
        "email": "ce.0410899e@example.org",
        "site_web": "https://www.example.org/lycee-metiers-blesois",
        "labels": [],
        "contact": ("M.", "Didier", "POIRIER", "Proviseur", "didier.poirier@example.org"),
        "lieux": [
            (
                "lycee",
                "Lycée professionnel des métiers du Blésois",
                address("2 Rue Dupré", "41000", "Blois", "41018", "47.589000", "1.330000"),
            )
        ],
    },
    {
        "key": "inouest",
        "reference": None,
        "nom": "Institut Numérique de l'Ouest",
        "siret": "88042317300017",
        "nda": "52720245672",
        "type": "F1620",
        "etat": "BRO",
        "address": address("15 Avenue François Mitterrand", "72000", "Le Mans", "72181", "48.006000", "0.199000"),
        "telephone": "02 43 28 50 60",
        "email": "contact.ino@example.org",
        "site_web": "https://www.example.org/institut-numerique-ouest",
        "labels": ["95"],
        "contact": ("M.", "Hugo", "LEMAIRE", "Directeur", "hugo.lemaire@example.org"),
    },
]

# The guide's contacts of 00079P (C6): reference, civilité, prénom, nom, types, fonction,
# e-mail, principal, diffusion web.
OFELI_CONTACTS = [
    ("00018C", "", "Equipe", "OFFRE", ["5"], "", "offre@alfacentre.org", True, True),
    ("43877C", "Mme", "Aurélie", "DOUGNAC", ["14"], "", "aurelie.dougnac@example.org", False, False),
    ("00196C", "Mme", "Carole", "MARC", ["1"], "", "t.marc@alfacentre.org", False, False),
    ("43867C", "Mme", "Laure", "THEVENIN", [], "Autre", "laure.thevenin@example.org", False, False),
]

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def next_monday(day):
    return day + datetime.timedelta(days=(7 - day.weekday()) % 7)


def first_of_next_month(day, months=1):
    month = day.month - 1 + months
    return datetime.date(day.year + month // 12, month % 12 + 1, 1)


@dataclass
class DemoSummary:
    created: bool
    lines: list = field(default_factory=list)


class DemoBuilder:
    def __init__(self, today=None):
        self.today = today or timezone.localdate()
        # Start of the current school year: sessions « de la rentrée » run now.
        year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.rentree = datetime.date(year, 9, 1)
        self.structures = {}
        self.lieux = {}
        self.contacts = {}
        self.users = {}
        self.formations = {}
        self.dispositifs = {d.code: d for d in Dispositif.objects.select_related("financeur")}
        self.certifications = {c.code_certifinfo: c for c in Certification.objects.all()}
        self.types = {t.code: t for t in StructureType.objects.all()}
        self.states = {s.code: s for s in StructureState.objects.all()}
        self.labels = {label.code: label for label in Label.objects.all()}

    # --- orchestration -------------------------------------------------------------

    def build(self):
        for kind, references in GUIDE_REFERENCES.items():
            for reference in references:
                bump_counter_past(kind, reference)
        self.create_users()
        self.create_structures()
        self.create_formations()
        self.create_account_requests()
        self.create_messages_and_memos()

    # --- people ----------------------------------------------------------------------

    def create_users(self):
        def user(key, email, first_name, last_name, role, phone=""):
            self.users[key] = User.objects.create_user(
                email, DEMO_PASSWORD, first_name=first_name, last_name=last_name, role=role, phone=phone
            )

        user("laure", "laure.thevenin@example.org", "Laure", "THEVENIN", Role.OF, "02 38 77 83 35")
        user("aurelie", "aurelie.dougnac@example.org", "Aurélie", "DOUGNAC", Role.OF, "02 54 60 21 40")
        user("gestion", "gestion@example.org", "Gestion", "OFFRE", Role.GESTIONNAIRE, "02 38 77 83 35")
        user("claire", "claire.houix@example.org", "Claire", "HOUIX", Role.SUPERVISEUR, "02 38 77 04 90")

    # --- structures ------------------------------------------------------------------

    def create_structures(self):
        for spec in STRUCTURES:
            self.create_structure(spec)
        Membership.objects.create(user=self.users["laure"], structure=self.structures["ofeli"])
        Membership.objects.create(user=self.users["laure"], structure=self.structures["antenne"])
        Membership.objects.create(user=self.users["aurelie"], structure=self.structures["gip"])
        self.create_ofeli_contacts()
        self.contacts["gip-aurelie"] = Contact.objects.create(
            reference=next_reference("C"),
            structure=self.structures["gip"],
            civilite="Mme",
            nom="DOUGNAC",
            prenom="Aurélie",
            types=["14", "3"],
            fonction="Référente apprentissage",
            email="aurelie.dougnac@example.org",
            telephone="02 54 60 21 40",
            diffusion_web=True,
            user=self.users["aurelie"],
        )
        # The two records the guide shows with a history go through the workflow.
        self.publish_structure_record("ofeli", self.users["laure"], self.users["gestion"])
        self.publish_structure_record("antenne", self.users["laure"], self.users["claire"])

    def create_structure(self, spec):
        reference = spec["reference"] or next_reference("P")
        structure = Structure.objects.create(
            reference=reference,
            siret=spec["siret"],
            nda=spec["nda"],
            uai=spec.get("uai", ""),
            raison_sociale=spec.get("raison_sociale", spec["nom"]),
            nom=spec["nom"],
            type=self.types[spec["type"]],
            etat=self.states[spec["etat"]],
            parent=self.structures.get(spec.get("parent")),
            reseau=spec.get("reseau", ""),
        )
        self.structures[spec["key"]] = structure
        if not spec.get("via_workflow"):
            version = StructureVersion.objects.create(structure=structure, **self.record_fields(spec))
            version.labels.set([self.labels[code] for code in spec["labels"]])
            structure.live_version = version
            structure.save(update_fields=["live_version"])
        if spec.get("contact"):
            civilite, prenom, nom, fonction, email = spec["contact"]
            self.contacts[spec["key"]] = Contact.objects.create(
                reference=next_reference("C"),
                structure=structure,
                civilite=civilite,
                prenom=prenom,
                nom=nom,
                types=["5"],
                fonction=fonction,
                email=email,
                telephone=spec["telephone"],
                is_principal=True,
                diffusion_web=True,
            )
        for key, nom, place in spec.get("lieux", []):
            self.lieux[key] = Lieu.objects.create(reference=next_reference("L"), structure=structure, nom=nom, **place)
        return structure

    @staticmethod
    def record_fields(spec):
        return {
            **spec["address"],
            "telephone": spec["telephone"],
            "email": spec["email"],
            "site_web": spec["site_web"],
        }

    def create_ofeli_contacts(self):
        structure = self.structures["ofeli"]
        for reference, civilite, prenom, nom, types, fonction, email, principal, diffusion in OFELI_CONTACTS:
            self.contacts[reference] = Contact.objects.create(
                reference=reference,
                structure=structure,
                civilite=civilite,
                prenom=prenom,
                nom=nom,
                types=types,
                fonction=fonction,
                email=email,
                telephone="02 38 77 83 35",
                is_principal=principal,
                diffusion_web=diffusion,
            )
            bump_counter_past("C", reference)
        self.contacts["43867C"].user = self.users["laure"]
        self.contacts["43867C"].save(update_fields=["user"])

    def publish_structure_record(self, key, user, staff):
        spec = next(s for s in STRUCTURES if s["key"] == key)
        structure = self.structures[key]
        change = services.start_structure_change(structure, user)
        draft = change.structure_version
        for name, value in self.record_fields(spec).items():
            setattr(draft, name, value)
        draft.save()
        draft.labels.set([self.labels[code] for code in spec["labels"]])
        services.submit(change, user)
        services.accept(change, staff)

    # --- formations: helpers ------------------------------------------------------------

    def new_formation(self, structure_key, user_key, *, certification=None, reference=None, intitule=None, **fields):
        """create_formation, prefilled from the certification like the form does (E3)."""
        cert = self.certifications[certification] if certification else None
        values = {**services.certification_fields(cert), "objectif_general": "6"} if cert else {}
        values.update(fields)
        change = services.create_formation(
            self.structures[structure_key],
            self.users[user_key],
            intitule=intitule or cert.intitule,
            certification=cert,
            **values,
        )
        if reference:
            Formation.objects.filter(pk=change.formation_id).update(reference=reference)
            change.formation.refresh_from_db()
        return change

    def new_session(
        self,
        change,
        user_key,
        *,
        reference=None,
        lieux,
        kind=TrainingKind.CONTINUE,
        financements=(),
        cycles=(),
        blocs=False,
        slots=None,
        contacts=(),
        equipements=(),
        contact_inscription=None,
        **fields,
    ):
        """add_session, then every part of a complete session (F2-F14)."""
        defaults = {
            "kind": kind,
            "modalite_enseignement": "0",
            "type_parcours": "1",
            "rythme": "30",
            "commentaire_rythme": HORAIRE_PLEIN,
            "modalites_pedagogiques": ["1", "4"],
            "restauration": "Restauration possible à proximité du centre.",
            "transport": "Accès en transports en commun.",
            "acces_handicapes": ACCES_HANDICAP,
        }
        defaults.update(fields)
        sv = services.add_session(change, self.users[user_key], **defaults)
        if reference:
            Session.objects.filter(pk=sv.session_id).update(reference=reference)
        # Places: the given ones replace the default (first place of the organisme).
        SessionPlace.objects.filter(session_version=sv).delete()
        places = [self.lieux[key] for key in lieux]
        for index, lieu in enumerate(places):
            SessionPlace.objects.create(session_version=sv, lieu=lieu, is_principal=index == 0)
        sv.lieu_inscription = places[0]
        sv.contact_inscription = contact_inscription
        sv.save(update_fields=["lieu_inscription", "contact_inscription"])
        for code, nb_places, numero_marche in financements:
            dispositif = self.dispositifs[code]
            Financement.objects.create(
                session_version=sv,
                dispositif=dispositif,
                financeur=dispositif.financeur,
                nb_places=nb_places,
                numero_marche=numero_marche,
            )
        for annee, type_alternance in cycles:
            Cycle.objects.create(session_version=sv, annee=annee, type_cycle="1", type_alternance=type_alternance)
        if blocs:
            cert = change.formation_version.certification
            session_blocs = SessionBlocs.objects.create(session_version=sv, certification=cert, type_validation="1")
            session_blocs.blocs.set(cert.blocs.all())
        for contact, type_contact, principal in contacts:
            SessionContact.objects.create(
                session_version=sv, contact=contact, type_contact=type_contact, is_principal=principal
            )
        for type_equipement, cout, commentaire in equipements:
            Equipement.objects.create(
                session_version=sv,
                type_equipement=type_equipement,
                cout_indicatif=Decimal(cout),
                commentaire=commentaire,
            )
        if slots is None:
            slots = [{"modalite": "7", "commentaire": "Envoyez votre candidature (CV et lettre de motivation)."}]
        for slot in slots:
            RecruitmentSlot.objects.create(
                session_version=sv,
                structure=change.formation.structure,
                lieu=slot.pop("lieu", places[0]),
                perimetre=slot.pop("perimetre", "3"),
                **slot,
            )
        return sv

    def publish(self, change, user_key, staff_key="gestion"):
        services.submit(change, self.users[user_key])
        services.accept(change, self.users[staff_key], "Formation indexée et publiée.")
        change.formation.refresh_from_db()
        return change.formation

    def info_slot(self, day, lieu, places=10, start=(10, 0), end=(11, 0)):
        return {
            "modalite": "9",
            "date": day,
            "heure_debut": datetime.time(*start),
            "heure_fin": datetime.time(*end),
            "nb_places": places,
            "lieu": lieu,
            "commentaire": "Présentation de la formation et des métiers visés.",
        }

    # --- formations -----------------------------------------------------------------

    def create_formations(self):
        self.bts_assurance()
        self.comptable_assistant()
        self.gestionnaire_comptable()
        self.anglais_accueil()
        self.cap_boucher()
        self.regional_offer()

    def bts_assurance(self):
        """2358280F BTS assurance: the guide's sessions 373847S and 308695S, a current one,
        and an open change waiting for information (« En attente complément d'information »)."""
        change = self.new_formation(
            "ofeli",
            "laure",
            certification="94419",
            reference="2358280F",
            duree_cycle=2,
            niveau_entree="14",
            site_web="https://www.alfacentre.org/",
        )
        orleans, bourges = self.lieux["ofeli-orleans"], self.lieux["ofeli-bourges"]
        aurelie = self.contacts["43877C"]
        apprentissage = {
            "kind": TrainingKind.ALTERNANCE,
            "financements": [("AOP02", 15, "")],
            "cycles": [(1, "1"), (2, "1")],
            "blocs": True,
            "contacts": [(aurelie, "3", True)],
            "contact_inscription": aurelie,
            "duree_centre": 500,
            "duree_entreprise": 800,
            "duree_hebdomadaire": 35,
            "prerequis": "Avoir obtenu le bac",
            "commentaire_rythme": "Alternance de deux jours en centre et trois jours en entreprise.",
            "modalites_pedagogiques": ["1", "5", "6"],
            "hebergement": "Liste de logements pour apprentis disponible sur demande.",
        }
        sv_373847 = self.new_session(
            change,
            "laure",
            reference="373847S",
            lieux=["ofeli-orleans"],
            date_debut=datetime.date(2024, 9, 1),
            date_fin=datetime.date(2026, 12, 31),
            debut_inscription=datetime.date(2024, 8, 5),
            fin_inscription=datetime.date(2024, 8, 31),
            slots=[self.info_slot(datetime.date(2024, 8, 19), orleans)],
            **apprentissage,
        )
        self.new_session(
            change,
            "laure",
            reference="308695S",
            lieux=["ofeli-bourges"],
            date_debut=datetime.date(2024, 1, 1),
            date_fin=datetime.date(2024, 12, 31),
            financements=[("CPR02", 12, "")],
            contacts=[(self.contacts["43867C"], "3", True)],
            duree_centre=900,
            duree_entreprise=280,
            duree_hebdomadaire=35,
            prerequis="Avoir obtenu le bac",
            conditions_prise_en_charge="Financement par l'employeur, le CPF ou l'aide individuelle à la formation.",
            slots=[{"modalite": "8", "commentaire": "Entretien individuel sur rendez-vous.", "lieu": bourges}],
        )
        # « Dupliquer » 373847S for the current school year (F2: a new year, a new session).
        copy = services.duplicate_session(change, sv_373847, self.users["laure"])
        start = self.rentree
        SessionVersion.objects.filter(pk=copy.pk).update(
            date_debut=start,
            date_fin=datetime.date(start.year + 2, 6, 30),
            debut_inscription=start - datetime.timedelta(days=120),
            fin_inscription=start + datetime.timedelta(days=30),
        )
        copy.recruitment_slots.update(date=start - datetime.timedelta(days=60))
        formation = self.publish(change, "laure")
        self.formations["bts-assurance"] = formation

        # Then a change: a continuing session in Bourges next year, sent back by the Carif.
        change = services.start_formation_change(formation, self.users["laure"])
        next_year = self.today.year + 1
        self.new_session(
            change,
            "laure",
            lieux=["ofeli-bourges"],
            date_debut=next_monday(datetime.date(next_year, 1, 4)),
            date_fin=datetime.date(next_year, 12, 17),
            financements=[("CPR02", 12, "")],
            duree_centre=900,
            duree_entreprise=280,
            duree_hebdomadaire=35,
            prerequis="Avoir obtenu le bac",
        )
        services.submit(change, self.users["laure"])
        services.request_info(
            change,
            self.users["gestion"],
            "Merci de préciser le rythme de l'alternance (jours en centre et en entreprise) et d'ajouter un contact "
            "pour la nouvelle session de Bourges avant publication.",
        )

    def comptable_assistant(self):
        """Published, with fonds publics (POE collectives), a broken web link and an open
        draft change (« Brouillons »)."""
        change = self.new_formation(
            "ofeli",
            "laure",
            certification="114045",
            niveau_entree="13",
            site_web="https://www.example.org/of-presentation-ofeli/comptable-assistant",
        )
        start = next_monday(first_of_next_month(self.today))
        self.new_session(
            change,
            "laure",
            lieux=["ofeli-orleans"],
            date_debut=start,
            date_fin=start + datetime.timedelta(days=7 * 30 + 4),
            financements=[("CPR02", 6, ""), ("POE01", 8, "POEC-2026-045-018")],
            contacts=[(self.contacts["43867C"], "3", True)],
            duree_centre=770,
            duree_entreprise=280,
            duree_hebdomadaire=35,
            prerequis="Niveau 3 (CAP, BEP) ou expérience en gestion administrative.",
            commentaire_financement="Places financées dans le cadre d'une POE collective pour les demandeurs d'emploi.",
            slots=[
                self.info_slot(
                    start - datetime.timedelta(days=21),
                    self.lieux["ofeli-orleans"],
                    places=15,
                    start=(14, 0),
                    end=(16, 0),
                )
            ],
        )
        pro_start = self.rentree + datetime.timedelta(days=30)
        self.new_session(
            change,
            "laure",
            lieux=["ofeli-orleans"],
            kind=TrainingKind.ALTERNANCE,
            date_debut=pro_start,
            date_fin=pro_start + datetime.timedelta(days=364),
            financements=[("AOP03", 10, "")],
            contacts=[(self.contacts["43877C"], "14", True)],
            duree_centre=500,
            duree_entreprise=1100,
            duree_hebdomadaire=35,
            commentaire_rythme="Une semaine en centre, trois semaines en entreprise.",
        )
        formation = self.publish(change, "laure")
        Formation.objects.filter(pk=formation.pk).update(
            link_error="Erreur 404 : la page n'existe pas.", link_checked_at=timezone.now()
        )
        self.formations["comptable-assistant"] = formation
        # « Demande de modification » saved as a draft, not submitted.
        change = services.start_formation_change(formation, self.users["laure"])
        draft_session = change.formation_version.sessions.order_by("date_debut").first()
        draft_session.duree_centre = 805
        draft_session.commentaire_duree = "Dont 35 heures de préparation à l'examen du titre professionnel."
        draft_session.save()
        services.save_draft(change, self.users["laure"])

    def gestionnaire_comptable(self):
        """The two titles of the guide (E2): the old one archived, the new one being created."""
        change = self.new_formation("ofeli", "laure", certification="102925", niveau_entree="14")
        self.new_session(
            change,
            "laure",
            lieux=["ofeli-orleans"],
            date_debut=datetime.date(2023, 1, 9),
            date_fin=datetime.date(2023, 10, 27),
            financements=[("CPR02", 12, "")],
            duree_centre=840,
            duree_entreprise=210,
            duree_hebdomadaire=35,
        )
        formation = self.publish(change, "laure")
        services.set_formation_archived(formation, self.users["gestion"], True)
        self.formations["gcf-archive"] = formation

        change = self.new_formation("ofeli", "laure", certification="115066", niveau_entree="14")
        next_year = self.today.year + 1
        self.new_session(
            change,
            "laure",
            lieux=["ofeli-orleans"],
            date_debut=next_monday(datetime.date(next_year, 1, 11)),
            date_fin=datetime.date(next_year, 11, 26),
        )
        self.formations["gcf-draft"] = change.formation

    def anglais_accueil(self):
        """A new formation of 00079P submitted and waiting for validation (G1, B3)."""
        change = self.new_formation(
            "ofeli",
            "laure",
            intitule="Anglais professionnel : accueillir une clientèle internationale",
            niveau_entree="1",
            objectif_general="2",
            objectif=(
                "Accueillir, renseigner et orienter en anglais une clientèle étrangère, à l'oral et par écrit, dans "
                "les situations courantes de l'accueil et de la vente."
            ),
            contenu=(
                "Se présenter et accueillir ; comprendre une demande ; renseigner sur les produits, les horaires et "
                "les itinéraires ; gérer une réclamation simple ; rédiger un courriel ; jeux de rôle et mises en "
                "situation enregistrées."
            ),
        )
        start = next_monday(first_of_next_month(self.today, 2))
        for weeks in (0, 12):
            day = start + datetime.timedelta(weeks=weeks)
            self.new_session(
                change,
                "laure",
                lieux=["ofeli-orleans"],
                date_debut=day,
                date_fin=day + datetime.timedelta(days=4),
                financements=[("CPR02", 10, "")],
                contacts=[(self.contacts["43867C"], "3", True)],
                duree_centre=35,
                prerequis="Niveau A2 en anglais (test de positionnement à l'entrée).",
            )
        services.submit(change, self.users["laure"])
        self.formations["anglais-attente"] = change.formation

    def cap_boucher(self):
        """0019057F CAP Boucher (GIP Alfa Centre): the guide's three sessions, a current one,
        and a change of its contenu waiting for validation."""
        change = self.new_formation(
            "gip",
            "aurelie",
            certification="31999",
            reference="0019057F",
            intitule="CAP Boucher",
            duree_cycle=2,
            niveau_entree="1",
        )
        contact = self.contacts["gip-aurelie"]
        equipements = [
            ("10", "180.00", "Tenue de boucher : veste, tablier, chaussures de sécurité."),
            ("9", "350.00", "Mallette de couteaux et fusil."),
        ]
        apprentissage = {
            "kind": TrainingKind.ALTERNANCE,
            "cycles": [(1, "1"), (2, "1")],
            "blocs": True,
            "contacts": [(contact, "14", True)],
            "contact_inscription": contact,
            "duree_centre": 840,
            "duree_entreprise": 2200,
            "duree_hebdomadaire": 35,
            "equipements": equipements,
            "commentaire_rythme": "Une semaine en centre de formation, deux semaines en entreprise.",
        }
        professionnalisation = {
            "kind": TrainingKind.ALTERNANCE,
            "contacts": [(contact, "14", True)],
            "contact_inscription": contact,
            "duree_centre": 450,
            "duree_entreprise": 1150,
            "duree_hebdomadaire": 35,
            "equipements": equipements,
        }
        self.new_session(
            change,
            "aurelie",
            reference="373840S",
            lieux=["gip-chateauroux"],
            date_debut=datetime.date(2024, 9, 15),
            date_fin=datetime.date(2026, 9, 30),
            financements=[("AOP02", 12, "")],
            **apprentissage,
        )
        self.new_session(
            change,
            "aurelie",
            reference="524168S",
            lieux=["gip-chateauroux"],
            date_debut=datetime.date(2024, 9, 2),
            date_fin=datetime.date(2025, 7, 4),
            financements=[("AOP03", 8, "")],
            **professionnalisation,
        )
        self.new_session(
            change,
            "aurelie",
            reference="524885S",
            lieux=["gip-orleans"],
            date_debut=datetime.date(2024, 9, 1),
            date_fin=datetime.date(2026, 6, 30),
            financements=[("AOP03", 8, "")],
            **professionnalisation,
        )
        self.new_session(
            change,
            "aurelie",
            lieux=["gip-chateauroux"],
            date_debut=self.rentree,
            date_fin=datetime.date(self.rentree.year + 2, 6, 30),
            financements=[("AOP02", 12, "")],
            debut_inscription=self.rentree - datetime.timedelta(days=150),
            fin_inscription=self.rentree,
            slots=[self.info_slot(self.rentree - datetime.timedelta(days=75), self.lieux["gip-chateauroux"])],
            **apprentissage,
        )
        formation = self.publish(change, "aurelie")
        self.formations["cap-boucher"] = formation
        change = services.start_formation_change(formation, self.users["aurelie"])
        draft = change.formation_version
        draft.contenu = (
            f"{draft.contenu}\nNouveau : un module de découpe de la volaille et du gibier et une préparation au "
            "concours « Un des meilleurs apprentis de France »."
        )
        draft.save(update_fields=["contenu"])
        services.submit(change, self.users["aurelie"])

    def regional_offer(self):
        """Published offer of the other organismes, across the region's départements. The
        Carif enters it on behalf of organismes without an account in the demo; the Région
        and France Travail offer is marked as partner-fed (read-only for OF users)."""
        today = self.today
        month1 = next_monday(first_of_next_month(today))
        month3 = next_monday(first_of_next_month(today, 3))

        # 3 SIGMA (37): the guide's non-certifying course, AIF / entreprise.
        change = self.new_formation(
            "sigma",
            "gestion",
            intitule="Initiation à la comptabilité des petites entreprises",
            niveau_entree="1",
            objectif_general="2",
            objectif=(
                "Comprendre la logique comptable, enregistrer les opérations courantes d'une petite entreprise et "
                "lire un bilan et un compte de résultat simplifiés."
            ),
            contenu=(
                "Principes de la comptabilité en partie double ; plan comptable ; enregistrement des achats, des "
                "ventes et de la trésorerie ; TVA ; rapprochement bancaire ; lecture des documents de synthèse ; "
                "exercices sur tableur et logiciel comptable."
            ),
            formacodes="32663",
        )
        for start in (month1, month3):
            self.new_session(
                change,
                "gestion",
                lieux=["sigma"],
                date_debut=start,
                date_fin=start + datetime.timedelta(days=4),
                financements=[("CPR02", 10, "")],
                contacts=[(self.contacts["sigma"], "3", True)],
                duree_centre=35,
                commentaire_financement="Formation éligible à l'aide individuelle à la formation (AIF) de France Travail.",
            )
        self.formations["sigma"] = self.publish(change, "gestion")

        # AFPA de Tours (37): France Travail collective purchase (AFC), partner-fed.
        change = self.new_formation("afpa", "gestion", certification="105418", niveau_entree="1")
        for lieu, start in (("afpa-amboise", month1), ("afpa-loches", month3)):
            self.new_session(
                change,
                "gestion",
                lieux=[lieu],
                date_debut=start,
                date_fin=start + datetime.timedelta(days=150),
                financements=[("AFC01", 12, "FT-CVL-2026-AFC-037")],
                contacts=[(self.contacts["afpa"], "4", True)],
                duree_centre=490,
                duree_entreprise=140,
                duree_hebdomadaire=35,
                hebergement="Hébergement possible au centre AFPA de Tours.",
                slots=[self.info_slot(start - datetime.timedelta(days=14), self.lieux[lieu], places=20)],
            )
        formation = self.publish(change, "gestion")
        Formation.objects.filter(pk=formation.pk).update(source=Source.FRANCE_TRAVAIL, source_id="FT-AFC-2026-0142")
        self.formations["afpa-restauration"] = formation

        # AFPA de Tours (37): secrétaire assistant, AIF and contrat de professionnalisation.
        change = self.new_formation("afpa", "gestion", certification="107262", niveau_entree="13")
        self.new_session(
            change,
            "gestion",
            lieux=["afpa-tours"],
            date_debut=month1,
            date_fin=month1 + datetime.timedelta(days=200),
            financements=[("CPR02", 8, "")],
            duree_centre=700,
            duree_entreprise=140,
            duree_hebdomadaire=35,
        )
        self.new_session(
            change,
            "gestion",
            lieux=["afpa-tours"],
            kind=TrainingKind.ALTERNANCE,
            date_debut=self.rentree + datetime.timedelta(days=45),
            date_fin=self.rentree + datetime.timedelta(days=45 + 364),
            financements=[("AOP03", 6, "")],
            duree_centre=600,
            duree_entreprise=1000,
            duree_hebdomadaire=35,
        )
        self.formations["afpa-secretaire"] = self.publish(change, "gestion")

        # 11B L'ATELIER (45): Région « Parcours métiers », partner-fed.
        change = self.new_formation("atelier", "gestion", certification="109223", niveau_entree="14")
        self.new_session(
            change,
            "gestion",
            lieux=["atelier"],
            date_debut=month3,
            date_fin=month3 + datetime.timedelta(days=245),
            financements=[("PRF01", 14, "2026-PRF-045-07")],
            duree_centre=805,
            duree_entreprise=399,
            duree_hebdomadaire=35,
            modalites_pedagogiques=["1", "3", "6"],
            equipements=[("11", "0.00", "Ordinateur portable prêté pendant la formation.")],
            slots=[self.info_slot(month3 - datetime.timedelta(days=28), self.lieux["atelier"], places=30)],
        )
        formation = self.publish(change, "gestion")
        Formation.objects.filter(pk=formation.pk).update(source=Source.REGION, source_id="EOS-2026-045-0311")
        self.formations["atelier-dwwm"] = formation

        # 1Formation (36): CACES, permanent entries over a calendar year (F2).
        change = self.new_formation(
            "1formation",
            "gestion",
            certification="110924",
            intitule="Conduite de chariots élévateurs : CACES® R489 catégories 1A, 3 et 5",
            niveau_entree="1",
            objectif_general="7",
        )
        for year in (today.year, today.year + 1):
            self.new_session(
                change,
                "gestion",
                lieux=["1formation"],
                entree_sortie_permanente=True,
                date_debut=datetime.date(year, 1, 1),
                date_fin=datetime.date(year, 12, 31),
                financements=[("CPR02", 6, "")],
                duree_centre=21,
                type_parcours="2",
                commentaire_session="Sessions de trois jours chaque mois ; tests CACES® le dernier jour.",
                equipements=[
                    ("6", "45.00", "Chaussures de sécurité."),
                    ("10", "0.00", "Gilet haute visibilité fourni."),
                ],
            )
        self.formations["caces"] = self.publish(change, "gestion")

        # 2CBI (37): habilitation électrique, entreprise.
        change = self.new_formation(
            "2cbi",
            "gestion",
            certification="110931",
            intitule="Habilitation électrique B0-H0V et BS pour non-électriciens",
            niveau_entree="1",
            objectif_general="7",
        )
        for start in (month1, month3):
            self.new_session(
                change,
                "gestion",
                lieux=["2cbi"],
                date_debut=start,
                date_fin=start + datetime.timedelta(days=1),
                financements=[("CPR02", 8, "")],
                duree_centre=14,
                rythme="34",
            )
        self.formations["habilitation"] = self.publish(change, "gestion")

        # 2F CONSULTING (45): CléA, Région « Savoirs de base », on demand.
        change = self.new_formation(
            "2f",
            "gestion",
            certification="87191",
            niveau_entree="1",
            objectif_general="5",
            intitule="Préparation à la certification CléA (socle de connaissances et de compétences professionnelles)",
        )
        self.new_session(
            change,
            "gestion",
            lieux=["2f"],
            a_la_demande=True,
            modalite_enseignement="1",
            date_debut=datetime.date(today.year, 1, 1),
            date_fin=datetime.date(today.year + 1, 1, 31),
            financements=[("PRF02", 20, "2026-PRF-045-12")],
            duree_centre=150,
            type_parcours="2",
            rythme="31",
            commentaire_rythme="Parcours individualisé de 6 à 12 heures par semaine.",
        )
        formation = self.publish(change, "gestion")
        Formation.objects.filter(pk=formation.pk).update(source=Source.REGION, source_id="EOS-2026-045-0412")
        self.formations["clea"] = formation

        # 2J CONSULTING (37): non-certifying management course.
        change = self.new_formation(
            "2j",
            "gestion",
            intitule="Manager une équipe de proximité : les fondamentaux",
            niveau_entree="1",
            objectif_general="2",
            objectif="Acquérir les pratiques de base du manager de proximité : organiser, communiquer, motiver.",
            contenu=(
                "Rôle et posture du manager ; organisation du travail et délégation ; conduite d'entretiens ; "
                "gestion des tensions ; animation de réunions courtes ; plan d'action personnel."
            ),
        )
        for start in (month1 + datetime.timedelta(days=14), month3 + datetime.timedelta(days=14)):
            self.new_session(
                change,
                "gestion",
                lieux=["2j"],
                date_debut=start,
                date_fin=start + datetime.timedelta(days=2),
                financements=[("CPR02", 10, "")],
                duree_centre=21,
            )
        self.formations["management"] = self.publish(change, "gestion")

        # Chartres (28): BTS MCO in apprenticeship or contrat de professionnalisation.
        change = self.new_formation("chartres", "gestion", certification="101270", duree_cycle=2, niveau_entree="14")
        self.new_session(
            change,
            "gestion",
            lieux=["chartres"],
            kind=TrainingKind.ALTERNANCE,
            date_debut=self.rentree,
            date_fin=datetime.date(self.rentree.year + 2, 6, 30),
            financements=[("AOP02", 18, ""), ("AOP03", 6, "")],
            cycles=[(1, "0"), (2, "0")],
            blocs=True,
            contacts=[(self.contacts["chartres"], "14", True)],
            contact_inscription=self.contacts["chartres"],
            duree_centre=1350,
            duree_entreprise=1800,
            duree_hebdomadaire=35,
            prerequis="Être titulaire d'un baccalauréat.",
        )
        self.formations["bts-mco"] = self.publish(change, "gestion")

        # Lycée in Blois (41): school training and apprenticeship (two sessions: two kinds).
        change = self.new_formation("lycee", "gestion", certification="102400", duree_cycle=3, niveau_entree="1")
        end = datetime.date(self.rentree.year + 3, 6, 30)
        self.new_session(
            change,
            "gestion",
            lieux=["lycee"],
            kind=TrainingKind.SCOLAIRE,
            date_debut=self.rentree,
            date_fin=end,
            financements=[("SCO01", 24, "")],
            duree_centre=2700,
            duree_entreprise=770,
            duree_hebdomadaire=32,
            slots=[{"modalite": "7", "commentaire": "Admission via Affelnet après la classe de troisième."}],
        )
        self.new_session(
            change,
            "gestion",
            lieux=["lycee"],
            kind=TrainingKind.ALTERNANCE,
            date_debut=self.rentree,
            date_fin=end,
            financements=[("AOP02", 8, "")],
            cycles=[(2, "1"), (3, "1")],
            contacts=[(self.contacts["lycee"], "10", True)],
            duree_centre=1850,
            duree_entreprise=2400,
            duree_hebdomadaire=35,
            commentaire_session="Apprentissage possible à partir de la deuxième année.",
        )
        self.formations["bac-pro"] = self.publish(change, "gestion")

        # 1001 défilentes (outside the region) with a face-to-face place in Vierzon (18).
        change = self.new_formation(
            "defilentes",
            "gestion",
            intitule="Couture : retouches et ajustements de vêtements",
            niveau_entree="1",
            objectif_general="2",
            objectif="Réaliser les retouches courantes (ourlets, fermetures, ajustements) sur des vêtements.",
            contenu=(
                "Prise de mesures ; utilisation de la machine à coudre et de la surjeteuse ; ourlets ; pose de "
                "fermetures à glissière ; reprises de taille ; finitions ; organisation d'un atelier de retouche."
            ),
        )
        for start in (month1, month3):
            self.new_session(
                change,
                "gestion",
                lieux=["defilentes-vierzon"],
                date_debut=start,
                date_fin=start + datetime.timedelta(days=11),
                financements=[("CPR02", 8, "")],
                duree_centre=70,
                equipements=[("9", "60.00", "Kit de couture (ciseaux, mètre, épingles).")],
            )
        self.formations["couture"] = self.publish(change, "gestion")

    # --- account requests, messages, memos ----------------------------------------------

    def create_account_requests(self):
        now = timezone.now()
        request = AccountRequest(
            siret="92451839200015",
            nda="24410256141",
            last_name="MOREAU",
            first_name="Julien",
            phone="02 54 78 12 40",
            email="julien.moreau@example.org",
            consent_at=now,
            status=AccountRequestStatus.PENDING,
        )
        request.nda_file.save("declaration-activite.pdf", ContentFile(MINIMAL_PDF), save=False)
        request.save()
        request = AccountRequest(
            siret="81764420600036",
            nda="75860198786",
            last_name="BERTRAND",
            first_name="Sophie",
            phone="05 49 41 22 10",
            email="sophie.bertrand@example.org",
            consent_at=now,
            status=AccountRequestStatus.PENDING,
        )
        request.nda_file.save("declaration-activite.pdf", ContentFile(MINIMAL_PDF), save=False)
        request.convention_file.save("convention-formation-vierzon.pdf", ContentFile(MINIMAL_PDF), save=False)
        request.save()

    def create_messages_and_memos(self):
        ofeli = self.structures["ofeli"]
        now = timezone.now()
        # The Carif's decisions were read, except the request for information.
        needs_info = SUBJECTS[ChangeStatus.NEEDS_INFO]
        Message.objects.filter(from_carif=True).exclude(subject__startswith=needs_info).update(read_at=now)
        Message.objects.create(
            structure=ofeli,
            author=self.users["gestion"],
            from_carif=True,
            subject="Campagne annuelle de mise à jour de l'offre en apprentissage",
            body=(
                "Bonjour,\n\nLa campagne de mise à jour de l'offre en apprentissage est ouverte. Merci de vérifier vos "
                "formations et d'ajouter les sessions de la prochaine rentrée (dupliquez la session de l'an dernier "
                "et indiquez les nouvelles dates).\n\nL'équipe OFeli"
            ),
        )
        Message.objects.create(
            structure=ofeli,
            author=self.users["laure"],
            from_carif=False,
            subject="SIRET de notre antenne de Saint-Jean-de-la-Ruelle",
            body=(
                "Bonjour,\n\nLe SIRET de notre antenne (23470P) n'apparaît pas dans OFeli. Pouvez-vous l'ajouter ? "
                "L'attestation de situation Sirene est déposée dans les documents.\n\nLaure THEVENIN"
            ),
        )
        Message.objects.create(
            structure=ofeli,
            author=self.users["laure"],
            from_carif=False,
            read_at=now,
            subject="Question sur les cycles de l'alternance",
            body="Bonjour,\n\nFaut-il saisir un cycle pour la première année d'un BTS en apprentissage ?\n\nMerci.",
        )
        Message.objects.create(
            structure=self.structures["gip"],
            author=self.users["claire"],
            from_carif=True,
            subject="Rappel : numéro UAI de votre CFA",
            body=(
                "Bonjour,\n\nPour l'enregistrement des contrats d'apprentissage, merci de nous transmettre le numéro "
                "UAI associé à votre activité d'apprentissage.\n\nL'équipe OFeli"
            ),
        )
        laure = self.users["laure"]
        Memo.objects.create(
            user=laure,
            text="Compléter le rythme de la nouvelle session de Bourges (BTS assurance) "
            "demandé par le Carif, puis soumettre à nouveau.",
        )
        Memo.objects.create(
            user=laure, text="Corriger le lien du site web du titre professionnel comptable assistant (erreur 404)."
        )
        Memo.objects.create(user=laure, text="Déposer l'attestation Qualiopi dans Gestion > Documents.", done=True)


@transaction.atomic
def build_demo(today=None):
    DemoBuilder(today).build()


def load_demo(today=None):
    """Load the referentials, then the demo unless it is already there. Returns a
    ``DemoSummary`` (``created`` is False when the demo was already loaded)."""
    referentials = load_referentials()
    summary = DemoSummary(created=False, lines=referentials.lines())
    if Structure.objects.filter(reference=DEMO_STRUCTURE).exists():
        summary.lines.append(f"La démonstration est déjà chargée (structure {DEMO_STRUCTURE}) : rien à faire.")
        return summary
    build_demo(today)
    from ofeli.public.indexing import rebuild

    rebuild()  # the public site's search index, in bulk
    summary.created = True
    summary.lines += [
        f"{Structure.objects.count()} structures, {Formation.objects.count()} formations, "
        f"{Session.objects.count()} sessions.",
        f"Comptes de démonstration (mot de passe {DEMO_PASSWORD}) :",
        "  laure.thevenin@example.org (organisme de formation : 00079P et 23470P)",
        "  aurelie.dougnac@example.org (organisme de formation : GIP Alfa Centre)",
        "  gestion@example.org (gestionnaire Carif)",
        "  claire.houix@example.org (superviseur Carif)",
    ]
    return summary

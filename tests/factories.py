"""factory-boy factories for the whole data model. Build a complete, publishable
formation with ``published_formation()`` and a draft one with ``draft_formation()``."""

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory
from stdnum import luhn

from ofeli.core.models import next_reference
from ofeli.formations import models as fm
from ofeli.referentials import models as rm
from ofeli.structures import models as sm
from ofeli.users.enums import Role
from ofeli.users.models import Membership, User

# Valid SIRETs (Luhn) for tests; the first is the guide's OF présentation OFELI.
SIRETS = ["21860076500018", "43256884800027", "52927342700037", "91044669900019", "79090903000013"]


def luhn_complete(prefix):
    """``prefix`` followed by the digit that makes it pass the Luhn check."""
    return prefix + luhn.calc_check_digit(prefix)


def luhn_siret(n):
    """A valid SIRET (valid SIREN too) built from a number, one SIREN per number."""
    siren = luhn_complete(f"{(n * 7919) % 10**8:08d}")
    return luhn_complete(siren + "0001")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.OF
    password = factory.PostGenerationMethodCall("set_password", "Motdepasse!1")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    role = Role.GESTIONNAIRE


class SuperviseurFactory(UserFactory):
    role = Role.SUPERVISEUR


class StructureTypeFactory(DjangoModelFactory):
    class Meta:
        model = rm.StructureType
        django_get_or_create = ("code",)

    code = "F1610"
    libelle = "Organismes de formation continue privé RCVL"


class StructureStateFactory(DjangoModelFactory):
    class Meta:
        model = rm.StructureState
        django_get_or_create = ("code",)

    code = "DIO"
    libelle = "Diffusion OF"
    is_diffused = True


class StructureFactory(DjangoModelFactory):
    class Meta:
        model = sm.Structure
        skip_postgeneration_save = True

    reference = factory.LazyFunction(lambda: next_reference("P"))
    siret = factory.Sequence(lambda n: luhn_siret(1000000 + n))
    nda = factory.Sequence(lambda n: f"2445{n % 10000000:07d}")
    raison_sociale = factory.Sequence(lambda n: f"Organisme {n}")
    nom = factory.LazyAttribute(lambda o: o.raison_sociale)
    type = factory.SubFactory(StructureTypeFactory)
    etat = factory.SubFactory(StructureStateFactory)

    @factory.post_generation
    def with_version(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            version = sm.StructureVersion.objects.create(
                structure=obj,
                adresse="10 Rue Saint-Étienne",
                code_postal="45000",
                ville="Orléans",
                code_insee="45234",
                latitude=Decimal("47.902964"),
                longitude=Decimal("1.909251"),
                telephone="0238778335",
                email="contact@example.org",
                site_web="https://www.example.org",
            )
            obj.live_version = version
            obj.save(update_fields=["live_version"])


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    structure = factory.SubFactory(StructureFactory)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = sm.Contact

    reference = factory.LazyFunction(lambda: next_reference("C"))
    structure = factory.SubFactory(StructureFactory)
    nom = factory.Faker("last_name", locale="fr_FR")
    prenom = factory.Faker("first_name", locale="fr_FR")
    types = factory.LazyFunction(lambda: ["3"])
    email = factory.Sequence(lambda n: f"contact{n}@example.org")
    telephone = "0238778335"
    diffusion_web = True


class LieuFactory(DjangoModelFactory):
    class Meta:
        model = sm.Lieu

    reference = factory.LazyFunction(lambda: next_reference("L"))
    structure = factory.SubFactory(StructureFactory)
    nom = "Centre de formation"
    adresse = "56 Avenue du Danemark"
    code_postal = "37100"
    ville = "Tours"
    code_insee = "37261"
    latitude = Decimal("47.419900")
    longitude = Decimal("0.694400")


class FinanceurFactory(DjangoModelFactory):
    class Meta:
        model = rm.Financeur
        django_get_or_create = ("code",)

    code = "98020"
    libelle = "Privé (Entreprise / Particulier)"
    lheo_code = "5"


class DispositifFactory(DjangoModelFactory):
    class Meta:
        model = rm.Dispositif
        django_get_or_create = ("code",)

    code = "CPR02"
    libelle = "Formation individuelle financée par l'entreprise ou le particulier"
    financeur = factory.SubFactory(FinanceurFactory)
    entered_by = "OF"


class ApprenticeshipDispositifFactory(DispositifFactory):
    code = "AOP02"
    libelle = "Contrat d'apprentissage"
    financeur = factory.SubFactory(FinanceurFactory, code="98018", libelle="OPCO", lheo_code="16")
    training_kind = "alternance"
    is_apprenticeship = True


class CertificationFactory(DjangoModelFactory):
    class Meta:
        model = rm.Certification
        django_get_or_create = ("code_certifinfo",)

    code_certifinfo = "94419"
    intitule = "BTS assurance"
    code_rncp = "38234"
    niveau_sortie = "15"
    acces_apprentissage = True
    objectif = "Former des techniciens de l'assurance."
    contenu = "Culture générale, techniques d'assurance, relation client."
    date_fin_enregistrement = datetime.date(2028, 8, 31)


class BlocFactory(DjangoModelFactory):
    class Meta:
        model = rm.BlocCompetences

    certification = factory.SubFactory(CertificationFactory)
    code = factory.Sequence(lambda n: f"RNCP38234BC{n:02d}")
    libelle = factory.Sequence(lambda n: f"Bloc de compétences {n}")


def draft_formation(
    structure=None,
    user=None,
    *,
    intitule="Comptabilité pour les petites entreprises",
    sessions=1,
    complete=True,
    **fields,
):
    """A formation created through the workflow, still in draft, with complete sessions."""
    from ofeli.workflow import services

    structure = structure or StructureFactory()
    user = user or MembershipFactory(structure=structure).user
    change = services.create_formation(
        structure,
        user,
        intitule=intitule,
        objectif="Tenir la comptabilité courante.",
        contenu="Écritures, TVA, bilan.",
        niveau_entree="1",
        **fields,
    )
    if not structure.lieux.exists():
        LieuFactory(structure=structure)
    for i in range(sessions):
        sv = services.add_session(
            change,
            user,
            date_debut=datetime.date(2026, 9, 1) + datetime.timedelta(days=30 * i),
            date_fin=datetime.date(2027, 6, 30),
            duree_centre=400 if complete else None,
            duree_entreprise=200 if complete else None,
        )
        if complete:
            fm.Financement.objects.create(
                session_version=sv, dispositif=DispositifFactory(), financeur=FinanceurFactory(), nb_places=12
            )
            fm.RecruitmentSlot.objects.create(session_version=sv, modalite="7", structure=structure)
    change.refresh_from_db()
    return change


def published_formation(structure=None, *, staff=None, **kwargs):
    """A formation accepted by the Carif: returns the Formation."""
    from ofeli.workflow import services

    change = draft_formation(structure, **kwargs)
    services.submit(change, change.created_by)
    services.accept(change, staff or StaffFactory())
    change.formation.refresh_from_db()
    return change.formation

"""The Carif's quality dashboard (Q4): each check is a queryset of the offer that needs care,
with the columns of its list and of its Excel file, and the structure each row belongs to
(so that one action can write to the structures concerned). The counters and the lists come
from the same queryset, so they always agree."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ofeli.exports.lheo import offer_sessions, published_formations
from ofeli.formations.models import Formation, SessionContact, SessionPlace, SessionVersion
from ofeli.structures.models import Contact, Lieu, Structure
from ofeli.users.models import Membership
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest
from ofeli.workflow.working_hours import TARGET_HOURS, subtract_working_hours

from .models import CertificationFlag


@dataclass(frozen=True)
class Check:
    slug: str
    title: str
    description: str
    queryset: Callable
    columns: tuple  # (header, value path in .values())
    structure_path: str  # path to the structure's pk
    structure_name: str  # path to the structure's name (filter « q »)
    postcode: str  # path to a postcode (filter « département »)
    order_by: tuple = ()

    def rows(self, q="", departement=""):
        qs = self.queryset()
        if q:
            reference = self.structure_name[: -len("nom")] + "reference"
            qs = qs.filter(Q(**{f"{self.structure_name}__icontains": q}) | Q(**{reference: q.upper()}))
        if departement:
            qs = qs.filter(**{f"{self.postcode}__startswith": departement})
        return qs.values(*(path for _, path in self.columns), self.structure_path).order_by(*self.order_by)

    def structure_ids(self, q="", departement=""):
        return set(self.rows(q, departement).values_list(self.structure_path, flat=True))


def _links_formations():
    return published_formations().exclude(link_error="")


def _links_structures():
    return Structure.objects.filter(etat__is_diffused=True).exclude(link_error="")


def _online_formations():
    return Formation.objects.filter(
        live_version__isnull=False, archived_at__isnull=True, structure__etat__is_diffused=True
    )


def live_sessions():
    """``formations.queries.published_sessions()`` written for the dashboard's counts: the
    session versions of the live version of an online formation (``_online_formations``, a
    semi-join on ``live_version_id``), the session not archived. The same rows (tested), but
    PostgreSQL reads them through the index on (formation_version, date_fin) instead of
    joining every version to its formation, structure and state (docs/benchmarks.md)."""
    return SessionVersion.objects.filter(
        formation_version_id__in=_online_formations().values("live_version_id"), session__archived_at__isnull=True
    )


def _ended_sessions():
    """Still in the live version of their formation, not archived: whether or not the LHEO
    flows still carry them (they drop sessions ended long ago), the structure has not
    withdrawn them."""
    limit = timezone.localdate() - timedelta(days=settings.QUALITY_ENDED_DAYS)
    return live_sessions().filter(date_fin__lt=limit)


def _formations_without_open_session():
    """Online formations none of whose sessions (not archived) is open-ended, « entrée-sortie
    permanente » or not over. The formation's own conditions are the outer query's, so the
    subquery probes one formation version's sessions by index."""
    today = timezone.localdate()
    open_sessions = SessionVersion.objects.filter(
        Q(date_fin__isnull=True) | Q(date_fin__gte=today) | Q(entree_sortie_permanente=True),
        formation_version=OuterRef("live_version"),
        session__archived_at__isnull=True,
    )
    return _online_formations().filter(~Exists(open_sessions))


def _flagged_sessions():
    return CertificationFlag.objects.filter(resolved_at__isnull=True)


def _places_without_coordinates():
    used = SessionPlace.objects.filter(lieu=OuterRef("pk"), session_version__in=offer_sessions())
    return Lieu.objects.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)).filter(Exists(used))


def _unreachable_contacts():
    used = SessionContact.objects.filter(contact=OuterRef("pk"), session_version__in=offer_sessions())
    return Contact.objects.filter(email="", telephone="").filter(Exists(used))


def _structures_without_recent_login():
    since = timezone.now() - timedelta(days=settings.QUALITY_INACTIVE_DAYS)
    recent = Membership.objects.filter(structure=OuterRef("pk"), user__last_login__gte=since, user__is_active=True)
    publishing = published_formations().filter(structure=OuterRef("pk"))
    return Structure.objects.filter(Exists(publishing)).filter(~Exists(recent))


def late_requests():
    cutoff = subtract_working_hours(timezone.now(), TARGET_HOURS)
    return ChangeRequest.objects.filter(status=ChangeStatus.SUBMITTED, submitted_at__lt=cutoff)


CHECKS = [
    Check(
        "liens-formations",
        "Liens web des formations en erreur",
        "Le site internet d'une formation publiée ne répond pas (vérification hebdomadaire des liens).",
        _links_formations,
        (
            ("Formation", "reference"),
            ("Intitulé", "live_version__intitule"),
            ("Structure", "structure__nom"),
            ("Erreur", "link_error"),
        ),
        "structure_id",
        "structure__nom",
        "structure__live_version__code_postal",
        ("structure__nom", "reference"),
    ),
    Check(
        "liens-structures",
        "Liens web des structures en erreur",
        "Le site internet d'une structure diffusée ne répond pas.",
        _links_structures,
        (("Structure", "reference"), ("Nom", "nom"), ("Erreur", "link_error")),
        "id",
        "nom",
        "live_version__code_postal",
        ("nom",),
    ),
    Check(
        "sessions-terminees",
        "Sessions terminées toujours publiées",
        f"Sessions terminées depuis plus de {settings.QUALITY_ENDED_DAYS} jours, encore dans la version publiée de "
        "leur formation : la structure ne les a pas retirées.",
        _ended_sessions,
        (
            ("Session", "session__reference"),
            ("Formation", "formation_version__formation__reference"),
            ("Intitulé", "formation_version__intitule"),
            ("Fin", "date_fin"),
            ("Structure", "formation_version__formation__structure__nom"),
        ),
        "formation_version__formation__structure_id",
        "formation_version__formation__structure__nom",
        "formation_version__formation__structure__live_version__code_postal",
        ("date_fin", "session__reference"),
    ),
    Check(
        "formations-sans-session",
        "Formations sans session ouverte",
        "Formations publiées dont toutes les sessions sont terminées.",
        _formations_without_open_session,
        (("Formation", "reference"), ("Intitulé", "live_version__intitule"), ("Structure", "structure__nom")),
        "structure_id",
        "structure__nom",
        "structure__live_version__code_postal",
        ("structure__nom", "reference"),
    ),
    Check(
        "certifications",
        "Sessions sur une certification à vérifier",
        "Certification inactive, ou dont l'enregistrement se termine avant la fin de la session (veille nocturne).",
        _flagged_sessions,
        (
            ("Session", "session__reference"),
            ("Formation", "formation__reference"),
            ("Certification", "certification__intitule"),
            ("Motif", "reason"),
            ("Structure", "formation__structure__nom"),
        ),
        "formation__structure_id",
        "formation__structure__nom",
        "formation__structure__live_version__code_postal",
        ("formation__structure__nom", "session__reference"),
    ),
    Check(
        "lieux",
        "Lieux sans coordonnées",
        "Lieux de formation de l'offre publiée sans latitude ni longitude : absents des recherches par distance.",
        _places_without_coordinates,
        (
            ("Lieu", "reference"),
            ("Nom", "nom"),
            ("Ville", "ville"),
            ("Code postal", "code_postal"),
            ("Structure", "structure__nom"),
        ),
        "structure_id",
        "structure__nom",
        "code_postal",
        ("structure__nom", "reference"),
    ),
    Check(
        "contacts",
        "Contacts sans e-mail ni téléphone",
        "Contacts des sessions publiées que personne ne peut joindre.",
        _unreachable_contacts,
        (("Contact", "reference"), ("Nom", "nom"), ("Prénom", "prenom"), ("Structure", "structure__nom")),
        "structure_id",
        "structure__nom",
        "structure__live_version__code_postal",
        ("structure__nom", "reference"),
    ),
    Check(
        "structures-inactives",
        "Structures sans connexion depuis un an",
        f"Structures qui publient et dont aucun utilisateur ne s'est connecté depuis {settings.QUALITY_INACTIVE_DAYS} jours.",
        _structures_without_recent_login,
        (("Structure", "reference"), ("Nom", "nom"), ("Code postal", "live_version__code_postal")),
        "id",
        "nom",
        "live_version__code_postal",
        ("nom",),
    ),
    Check(
        "demandes-hors-delai",
        "Demandes au-delà de 48 h ouvrées",
        "Demandes soumises à validation depuis plus de 48 heures ouvrées.",
        late_requests,
        (
            ("Demande", "id"),
            ("Structure", "structure__nom"),
            ("Formation", "formation__reference"),
            ("Soumise le", "submitted_at"),
        ),
        "structure_id",
        "structure__nom",
        "structure__live_version__code_postal",
        ("submitted_at",),
    ),
]
BY_SLUG = {check.slug: check for check in CHECKS}


def counters():
    """{slug: count} for every check: one query per check, whatever the size of the offer."""
    return {check.slug: check.queryset().count() for check in CHECKS}

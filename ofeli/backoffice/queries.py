"""Queries of the back-office screens. Each list screen runs a fixed number of SQL queries
whatever the number of rows (annotations, Exists, select_related; no per-row query)."""

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery

from ofeli.core.identifiers import compact
from ofeli.formations.models import Financement, Formation, SessionPlace
from ofeli.messaging.models import Message
from ofeli.structures.models import Structure
from ofeli.workflow.enums import ChangeStatus
from ofeli.workflow.models import ChangeRequest
from ofeli.workflow.working_hours import TARGET_HOURS, subtract_working_hours


def descendant_ids(structure):
    """Ids of the structures attached to ``structure``, directly or not (one query per level)."""
    found, level = set(), {structure.pk}
    while level:
        level = set(Structure.objects.filter(parent_id__in=level).values_list("pk", flat=True)) - found
        found |= level
    return found


def _departement_q(prefix, departement):
    """Q on an address (``prefix`` = path to a model with code_postal) in a département, or
    outside the region for « hors »."""
    if departement == "hors":
        q = Q()
        for d in settings.REGION_DEPARTEMENTS:
            q |= Q(**{f"{prefix}code_postal__startswith": d})
        return ~q & ~Q(**{f"{prefix}code_postal": ""}) & Q(**{f"{prefix}code_postal__isnull": False})
    return Q(**{f"{prefix}code_postal__startswith": departement})


def _structure_text_q(prefix, text):
    text = text.strip()
    digits = compact(text)
    q = Q(**{f"{prefix}nom__icontains": text}) | Q(**{f"{prefix}raison_sociale__icontains": text})
    q |= Q(**{f"{prefix}reference__iexact": text})
    if digits.isdigit():
        q |= Q(**{f"{prefix}siret": digits}) | Q(**{f"{prefix}nda": digits}) | Q(**{f"{prefix}siren": digits})
    return q


# --- « Dispositif » filters (G2, I1) -------------------------------------------------------
#
# A filter on the dispositif of a financement is an IN on a subquery that does not depend on
# the outer row: the database reads the financements of that dispositif once (index on
# ``Financement.dispositif``), goes up to their formation versions by primary key, and
# matches the outer rows against that set. A correlated EXISTS (one look-up per outer row)
# made SQLite read every financement of the dispositif for every row: 21 s for the accepted
# requests of CPR02 on 20,000 sessions (docs/benchmarks.md, bench/dispositif_filters.py).


def versions_with_dispositif(dispositif):
    """Ids of the formation versions with a financement of ``dispositif`` (a subquery)."""
    return Financement.objects.filter(dispositif=dispositif).values("session_version__formation_version_id")


def structures_with_dispositif(dispositif):
    """Ids of the structures whose published formations (live versions) have a financement
    of ``dispositif`` (a subquery)."""
    return Formation.objects.filter(live_version__sessions__financements__dispositif=dispositif).values("structure_id")


# --- validation queue (G2) ----------------------------------------------------------------


def queue(values, user, now):
    """Change requests for « Demandes à valider », filtered by ``values`` (see
    QueueFilterForm.values). Oldest first by default."""
    rows = ChangeRequest.objects.filter(status=values["etat"]).select_related(
        "structure",
        "structure__live_version",
        "formation",
        "formation_version",
        "assigned_to",
        "created_by",
    )
    if values.get("objet"):
        rows = rows.filter(kind=values["objet"])
    if values.get("structure"):
        rows = rows.filter(_structure_text_q("structure__", values["structure"]))
    if values.get("departement"):
        d = values["departement"]
        places = SessionPlace.objects.filter(session_version__formation_version=OuterRef("formation_version"))
        places = places.filter(_departement_q("lieu__", d))
        rows = rows.filter(
            _departement_q("structure__live_version__", d) | _departement_q("structure_version__", d) | Exists(places)
        )
    if values.get("dispositif"):
        rows = rows.filter(formation_version_id__in=versions_with_dispositif(values["dispositif"]))
    assigned = values.get("gestionnaire")
    if assigned == "moi":
        rows = rows.filter(assigned_to=user)
    elif assigned == "aucun":
        rows = rows.filter(assigned_to__isnull=True)
    elif assigned:
        rows = rows.filter(assigned_to_id=assigned)
    if values.get("retard"):
        rows = rows.filter(submitted_at__lte=subtract_working_hours(now, TARGET_HOURS))
    if values.get("tri") == "recentes":
        rows = rows.order_by(F("submitted_at").desc(nulls_last=True), "-created_at", "-pk")
    else:
        rows = rows.order_by(F("submitted_at").asc(nulls_last=True), "created_at", "pk")
    return rows


def late_count(now):
    """Submitted requests past the 48-working-hour target, in one query."""
    return ChangeRequest.objects.filter(
        status=ChangeStatus.SUBMITTED, submitted_at__lte=subtract_working_hours(now, TARGET_HOURS)
    ).count()


# --- structures -------------------------------------------------------------------------------------


def structures(values):
    """Structures matching a StructureFilterForm's values."""
    rows = Structure.objects.select_related("type", "etat", "live_version", "parent")
    if values.get("q"):
        rows = rows.filter(_structure_text_q("", values["q"]))
    if values.get("type"):
        rows = rows.filter(type=values["type"])
    if values.get("etat"):
        rows = rows.filter(etat=values["etat"])
    if values.get("departement"):
        rows = rows.filter(_departement_q("live_version__", values["departement"]))
    if values.get("dispositif"):
        rows = rows.filter(pk__in=structures_with_dispositif(values["dispositif"]))
    if values.get("references"):
        rows = rows.filter(reference__in=values["references"])
    return rows.order_by("nom", "reference")


# --- messagerie (I1) -----------------------------------------------------------------------------


def threads(text="", unread_only=False):
    """One row per structure having messages, with unread counts on both sides."""
    last = Message.objects.filter(structure=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = (
        Structure.objects.annotate(
            messages_total=Count("messages"),
            unread_by_carif=Count("messages", filter=Q(messages__from_carif=False, messages__read_at__isnull=True)),
            unread_by_of=Count("messages", filter=Q(messages__from_carif=True, messages__read_at__isnull=True)),
            last_at=Max("messages__created_at"),
            last_subject=Subquery(last.values("subject")[:1]),
            last_from_carif=Subquery(last.values("from_carif")[:1]),
        )
        .filter(messages_total__gt=0)
        .order_by("-last_at", "pk")
    )
    if text:
        rows = rows.filter(_structure_text_q("", text))
    if unread_only:
        rows = rows.filter(unread_by_carif__gt=0)
    return rows


def unread_counts(structure):
    return Message.objects.filter(structure=structure, read_at__isnull=True).aggregate(
        by_carif=Count("pk", filter=Q(from_carif=False)), by_of=Count("pk", filter=Q(from_carif=True))
    )

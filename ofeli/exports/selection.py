"""The rows an export job covers: the search screen's rows (D3) for the job's criteria, with
the requester's rights, restricted to the selected rows when there are some."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from ofeli.formations.models import Session
from ofeli.formations.search import SearchParams, ordered, rows_queryset
from ofeli.users.perms import can_access_structure

MAX_SELECTED = 5000


def parse_keys(values):
    """Row keys « formation version:session version » as (formation version ids of rows
    without a session, session version ids)."""
    formation_only, session_versions = set(), set()
    for value in values[:MAX_SELECTED]:
        head, _, tail = str(value).partition(":")
        if not head.isdigit():
            continue
        if tail.isdigit():
            session_versions.add(int(tail))
        elif tail == "":
            formation_only.add(int(head))
    return sorted(formation_only), sorted(session_versions)


def job_rows(job):
    """The ordered rows (annotated queryset) of ``job``; PermissionDenied when the requester
    lost access to the structure since."""
    user = job.user
    if not user.is_active:
        raise PermissionDenied("Le compte du demandeur est désactivé.")
    if not user.is_carif and (job.structure is None or not can_access_structure(user, job.structure)):
        raise PermissionDenied("Le demandeur n'a plus accès à cette structure.")
    params = SearchParams.from_query(job.criteria)
    qs = rows_queryset(user, job.structure, params)
    if job.session_ids:
        formation_only, session_versions = parse_keys(job.session_ids)
        qs = qs.filter(Q(sv_id__in=session_versions) | Q(pk__in=formation_only, sv_id__isnull=True))
    return ordered(qs, params)


def job_sessions(job):
    """The sessions (identities) of the job's rows, for an LHEO export of their published
    content."""
    return Session.objects.filter(pk__in=job_rows(job).order_by().filter(s_id__isnull=False).values("s_id"))

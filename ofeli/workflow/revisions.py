"""Versions of the editing pages of a draft (R1): what a page was loaded from, and what
changed since.

Each editing page of a change request has a scope: the formation page (``formation``),
one session page (``session:<Session id>``) or the structure record (``structure``). Its
revision token is the number of ``DraftRevision`` rows of that scope; the page carries it
in the hidden field ``draft_revision``. ``services.editing`` lets a save through only from
the current token and records the content as it was before the save, so that a save from
an older token can be refused with the field-by-field list of what changed meanwhile
(``compare.diff_dicts``), while the page keeps everything the user typed."""

from dataclasses import dataclass, field

from django.utils import timezone

from ofeli.formations.models import FormationVersion, SessionVersion
from ofeli.structures.models import StructureVersion

from .compare import diff_dicts, formation_snapshot, session_snapshot, structure_snapshot
from .models import DraftRevision

FORMATION_SCOPE = "formation"
STRUCTURE_SCOPE = "structure"
TOKEN_FIELD = "draft_revision"


def session_scope(session_version):
    return f"session:{session_version.session_id}"


def posted_token(data):
    """The token posted by a page; None when the page sent none (a client without the
    hidden field), -1 when it is not a number (always stale)."""
    raw = data.get(TOKEN_FIELD)
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def current_token(change, scope):
    return DraftRevision.objects.filter(change_request_id=change.pk, scope=scope).count()


def snapshot(change, scope):
    """The content of one editing page, as {label: text}, read from the database (never
    from a form instance, which validation has already changed in memory)."""
    if scope == STRUCTURE_SCOPE:
        version = StructureVersion.objects.filter(pk=change.structure_version_id).first()
        return structure_snapshot(version) if version else {}
    if scope == FORMATION_SCOPE:
        version = (
            FormationVersion.objects.filter(pk=change.formation_version_id).select_related("certification").first()
        )
        if version is None:
            return {}
        data = formation_snapshot(version)
        data["Sessions"] = ", ".join(sorted(version.sessions.values_list("session__reference", flat=True)))
        return data
    session_id = int(scope.split(":", 1)[1])
    sv = (
        SessionVersion.objects.filter(formation_version_id=change.formation_version_id, session_id=session_id)
        .select_related("session", "lieu_inscription", "contact_inscription")
        .first()
    )
    return session_snapshot(sv) if sv else {}


@dataclass
class Conflict:
    """What changed on a page since the user loaded it."""

    token: int  # the current token: the page is re-rendered with it
    changes: list = field(default_factory=list)  # [compare.FieldChange]: old = when loaded, new = now
    saves: list = field(default_factory=list)  # [DraftRevision] saved meanwhile

    @property
    def authors(self):
        names = []
        for revision in self.saves:
            name = revision.author.get_full_name() or revision.author.email if revision.author else "un utilisateur"
            if name not in names:
                names.append(name)
        return names

    @property
    def last_saved_at(self):
        return timezone.localtime(self.saves[-1].created_at) if self.saves else None

    @property
    def message(self):
        who = ", ".join(self.authors) or "un autre utilisateur"
        when = f" le {self.last_saved_at:%d/%m/%Y à %H:%M}" if self.last_saved_at else ""
        return (
            f"Vos modifications ne sont pas enregistrées : cette page a été enregistrée par {who}{when} "
            "depuis que vous l'avez ouverte. Ce que vous avez saisi est conservé ci-dessous et les changements "
            "faits entre-temps sont listés : reprenez-les dans vos saisies si besoin, puis enregistrez à nouveau."
        )


def conflict(change, scope, loaded, current):
    """Compares the page as the user loaded it (the snapshot recorded by the first save from
    their token) with its current content."""
    rows = list(
        DraftRevision.objects.filter(change_request_id=change.pk, scope=scope, number__gte=max(loaded, 0))
        .select_related("author")
        .order_by("number")
    )
    changes = []
    if rows and rows[0].number == loaded:
        changes = diff_dicts(rows[0].snapshot, snapshot(change, scope))
    return Conflict(token=current, changes=changes, saves=rows)

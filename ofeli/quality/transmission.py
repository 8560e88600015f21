"""Transmission status of a session (Q2): when it was last sent to the partners and in which
flow, which partner downloaded it, when partners may show it, or why it is not sent.

Everything comes from the records of the published flow runs (``FlowRun`` rows and the
``sessions_file`` of each run, the references of every session it holds) and from the
downloads the flow views record (``FlowDownload``), never from a guess of what the export
would do. The set of references of a run is read once per process (``run_sessions``)."""

import datetime
import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from ofeli.exports.flows import load_session_hashes
from ofeli.exports.lheo import DEFAULT_ENDED_SESSIONS_DAYS
from ofeli.exports.models import FlowRun, FlowStatus
from ofeli.formations.models import Session, SessionVersion

from .models import FlowDownload

# The guide: « Vous retrouverez donc la formation (session) dans les outils de France Travail
# (AUDE Formation, Kairos, site labonneformation) 48 à 72 heures après la validation. »
VISIBLE_AFTER = datetime.timedelta(hours=48)
VISIBLE_UNTIL = datetime.timedelta(hours=72)
DOWNLOADED_KINDS = (FlowDownload.COMPLET, FlowDownload.MODIFICATIONS)
REQUEST_CACHE = "_q2_transmission"


def record_download(partner, run, kind):
    """Record that ``partner`` downloaded ``run`` (full flow or delta; the manifest holds no
    session and is not recorded)."""
    if kind in DOWNLOADED_KINDS and run is not None:
        FlowDownload.objects.create(partner=partner, run=run, kind=kind, downloaded_at=timezone.now())


@functools.lru_cache(maxsize=8)
def _sessions_of(run_pk, path):
    return frozenset(load_session_hashes(_RunFile(run_pk, path)))


@dataclass(frozen=True)
class _RunFile:
    """What ``load_session_hashes`` needs of a run: its primary key and its file path."""

    pk: int
    file: str
    sessions_file: str = "sessions"

    def path(self, _name):
        return self.file


def run_sessions(run):
    """The references of the sessions held by a published run (read once per process: the
    cache key is the run and its file path, so a run pruned and its key reused never match)."""
    if not run.sessions_file:
        return frozenset()
    return _sessions_of(run.pk, str(run.path(run.sessions_file)))


@dataclass
class Download:
    partner: str
    run: object
    kind: str
    at: datetime.datetime

    @property
    def kind_label(self):
        return dict(FlowDownload.KINDS)[self.kind]


@dataclass
class Transmission:
    reference: str
    run: object = None  # the latest published run holding the session
    latest: object = None  # the latest published run
    reason: str = ""  # why the latest run does not hold it
    pending: str = ""  # a validated change the latest run does not hold yet
    downloads: list = field(default_factory=list)

    @property
    def in_latest(self):
        return self.run is not None and self.latest is not None and self.run.pk == self.latest.pk

    @property
    def sent_at(self):
        return self.run.finished_at or self.run.started_at if self.run else None

    @property
    def visible_from(self):
        return self.sent_at + VISIBLE_AFTER if self.run else None

    @property
    def visible_until(self):
        return self.sent_at + VISIBLE_UNTIL if self.run else None


def _published_runs():
    """Published runs whose files are kept, newest first (one query)."""
    return list(FlowRun.objects.filter(status=FlowStatus.DONE).order_by("-started_at", "-pk"))


def _downloads(runs):
    """(partner name, run pk, kind, last download) of the kept runs, newest first (one query)."""
    if not runs:
        return []
    return list(
        FlowDownload.objects.filter(run_id__in=[run.pk for run in runs])
        .values_list("partner__name", "run_id", "kind")
        .annotate(last=Max("downloaded_at"))
        .order_by("-last")
    )


def _records(request):
    """Runs and downloads, read once per request (the public page shows several sessions)."""
    cached = getattr(request, REQUEST_CACHE, None) if request is not None else None
    if cached is None:
        runs = _published_runs()
        cached = (runs, _downloads(runs))
        if request is not None:
            setattr(request, REQUEST_CACHE, cached)
    return cached


def transmission_status(session, request=None):
    """The transmission status of ``session`` (a Session), in a fixed number of queries."""
    runs, downloads = _records(request)
    status = Transmission(reference=session.reference, latest=runs[0] if runs else None)
    by_pk = {run.pk: run for run in runs}
    for run in runs:
        if session.reference in run_sessions(run):
            status.run = run
            break
    seen = set()
    for partner, run_pk, kind, at in downloads:
        if partner not in seen and session.reference in run_sessions(by_pk[run_pk]):
            seen.add(partner)
            status.downloads.append(Download(partner, by_pk[run_pk], kind, at))
    status.downloads.sort(key=lambda d: d.partner)
    session = Session.objects.select_related(
        "formation", "formation__structure", "formation__structure__etat", "formation__live_version"
    ).get(pk=session.pk)
    if status.in_latest:
        published_at = session.formation.published_at
        if published_at and published_at > status.latest.started_at:
            status.pending = (
                f"Modifications validées le {_when(published_at)}, après ce flux : "
                "elles seront transmises dans le flux de la nuit prochaine."
            )
    else:
        status.reason = why_not_sent(session, status.latest)
    return status


def _when(moment):
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M")


def why_not_sent(session, latest):
    """Why the latest published run does not hold ``session``, from its state now."""
    formation = session.formation
    if session.archived_at:
        return f"Session archivée le {_when(session.archived_at)} : elle n'est plus transmise aux partenaires."
    if formation.archived_at:
        return f"Formation archivée le {_when(formation.archived_at)} : ses sessions ne sont plus transmises aux partenaires."
    live = (
        SessionVersion.objects.filter(session=session, formation_version=formation.live_version_id).first()
        if formation.live_version_id
        else None
    )
    if live is None:
        return (
            "Session pas encore validée par l'équipe OFeli : elle sera transmise aux partenaires "
            "dans le flux de la nuit qui suit sa validation."
        )
    etat = formation.structure.etat
    if etat is None or not etat.is_diffused:
        return "Structure non diffusée : ses sessions ne sont pas transmises aux partenaires."
    days = getattr(settings, "LHEO_ENDED_SESSIONS_DAYS", DEFAULT_ENDED_SESSIONS_DAYS)
    if live.date_fin and live.date_fin < timezone.localdate() - datetime.timedelta(days=days):
        return (
            f"Session terminée le {live.date_fin:%d/%m/%Y}, il y a plus de {days} jours : "
            "elle est sortie des flux des partenaires."
        )
    if latest is None:
        return "Aucun flux n'a encore été publié : elle sera transmise dans le premier flux de nuit."
    if formation.published_at and formation.published_at > latest.started_at:
        return (
            f"Validée le {_when(formation.published_at)}, après le dernier flux : "
            "elle sera transmise dans le flux de la nuit prochaine."
        )
    return (
        f"Écartée du flux n° {latest.sequence} : l'export l'a refusée (données incomplètes pour "
        "LHEO, par exemple aucune adresse d'inscription complète). Complétez la session."
    )

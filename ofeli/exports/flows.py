"""Nightly LHEO flows for partners (SPEC H2, H2b).

Each run, for one LHEO version, writes one **run folder**
``settings.LHEO_FLOWS_DIR/<version>/runs/<date>/`` holding:

- ``offre-complete-<date>.xml``: the whole published offer;
- ``offre-modifications-<date>.xml``: the formations holding a session that is new or whose
  content changed since the previous published run, with only those sessions, and the
  formations that lost a session (with the sessions they keep); withdrawn sessions are listed
  in ``<extras info="sessions-retirees">`` (LHEO has no element for a withdrawal). A night
  with only withdrawals still has its document (H2b). Not written when nothing at all
  changed (an LHEO document needs at least one formation);
- ``sessions-<date>.json.gz``: the reference, content hash and formation of every exported
  session, which the next run compares with to find new, modified and withdrawn sessions;
- ``manifeste-<date>.json``: date, sequence number, counts, file names, sizes and SHA-256
  checksums, and the list of every delta still kept (catching up, docs/partner-flows.md).

Crash safety (R3): the folder is written as ``.tmp-<date>`` and renamed in one step once
every file is complete and validated, so a manifest only ever lists the files of its own
run. The run is then recorded as published in the database (the pointer the downloads read)
and the ``courant`` symlink is switched to it for readers of the file system. A run killed
at any point leaves either nothing published or its complete folder; the next run marks the
dead run as interrupted, removes its leftovers and repairs the symlink.
"""

import contextlib
import datetime
import fcntl
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from .files import fsync_dir, sha256_of
from .lheo import NAMESPACES, VERSIONS, EmptyOffer, LheoWriter, published_formations
from .models import FlowRun, FlowStatus
from .validation import validate_lheo

logger = logging.getLogger(__name__)
KEEP_RUNS = 14
_STAMP_ATTRS = re.compile(rb' (?:horodatage-modification|datemaj)="[^"]*"')


class FlowError(Exception):
    """A run that could not be published; the previous flow stays in place."""


def flows_dir(version):
    return Path(settings.LHEO_FLOWS_DIR) / version


CURRENT_LINK = "courant"
RUNS_DIR = "runs"
# Test instrumentation (R3): the name of a step at which the run stops and waits to be killed.
PAUSE_ENV = "OFELI_FLOWS_PAUSE_AT"


def _checkpoint(step, directory):
    """Stop at ``step`` when $OFELI_FLOWS_PAUSE_AT names it: a test kills the process there
    (after ``.pause-<step>`` appears) to prove that no step leaves a mixed flow behind."""
    if os.environ.get(PAUSE_ENV) == step:
        (directory / f".pause-{step}").touch()
        time.sleep(3600)


def flow_files(run):
    """Paths of the files of a published run (``delta`` is None when there was none)."""
    return {
        "full": run.path(run.full_file),
        "delta": run.path(run.delta_file) if run.delta_file else None,
        "manifest": run.path(run.manifest_file),
        "sessions": run.path(run.sessions_file),
    }


def run_folder(run):
    """The folder of a run's files (None for runs written before run folders existed)."""
    if not run.full_file or "/" not in run.full_file:
        return None
    return run.path(run.full_file).parent


def load_session_hashes(run):
    """{session reference: (content hash, formation reference)} of a published run ({} if
    its file is gone; the formation is None in files written before it was recorded)."""
    if run is None or not run.sessions_file:
        return {}
    try:
        with gzip.open(run.path(run.sessions_file), "rt", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        logger.warning("Empreintes des sessions du flux %s illisibles : flux des modifications complet.", run.pk)
        return {}
    return {ref: (value, None) if isinstance(value, str) else tuple(value) for ref, value in data.items()}


class SessionHasher:
    """Content hash of each session of a <formation> element: the formation's own content
    (everything but its actions) and the session's action, without the modification stamps
    (a republication that changes nothing is not a modification)."""

    def __init__(self, version):
        ns = NAMESPACES[version]
        self.action_tag = f"{{{ns}}}action"
        self.session_tag = f"{{{ns}}}session"

    def hashes(self, formation):
        core = hashlib.blake2b(digest_size=16)
        actions = []
        for child in formation:
            if child.tag == self.action_tag:
                actions.append(child)
            else:
                core.update(etree.tostring(child))
        result = {}
        for action in actions:
            session = action.find(self.session_tag)
            digest = core.copy()
            digest.update(_STAMP_ATTRS.sub(b"", etree.tostring(action)))
            result[session.get("numero")] = digest.hexdigest()
        return result


class _LazyDocument:
    """An LHEO document opened only when its first formation comes (an empty one would not
    be valid)."""

    def __init__(self, path, writer):
        self.path, self.writer = path, writer
        self.xf = None
        self.formations = self.sessions = 0

    def _open(self):
        q = self.writer.q
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close() or abort())
        self._document = etree.xmlfile(self._file, encoding="utf-8")
        self.xf = self._document.__enter__()
        self.xf.write_declaration()
        self._lheo = self.xf.element(q("lheo"), nsmap={None: self.writer.ns})
        self._lheo.__enter__()
        self._offres = self.xf.element(q("offres"))
        self._offres.__enter__()

    def write(self, element, sessions):
        if self.xf is None:
            self._open()
        self.xf.write("\n")
        self.xf.write(element)
        self.xf.flush()
        self.formations += 1
        self.sessions += sessions

    def close(self, lists=()):
        """End the document; ``lists`` = (info, item info, session references), each written
        as ``<extras info="…"><extra info="<item>" numero="…"/>…</extras>`` after <offres>."""
        if self.xf is None:
            return
        self.xf.write("\n")
        self._offres.__exit__(None, None, None)
        q = self.writer.q
        for info, item, references in lists:
            if not references:
                continue
            extras = etree.Element(q("extras"), {"info": info})
            for reference in references:
                etree.SubElement(extras, q("extra"), {"info": item, "numero": reference})
            self.xf.write("\n")
            self.xf.write(extras)
        self.xf.write("\n")
        self._lheo.__exit__(None, None, None)
        self._document.__exit__(None, None, None)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self):
        if self.xf is not None and not self._file.closed:
            self._file.close()


@contextlib.contextmanager
def _lock(directory):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise FlowError("Un autre export des flux de cette version est en cours.") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recover(version, exclude=None):
    """Clean up after a run that died (killed, machine stopped): called under the version's
    lock, so no other run of the version is alive. Runs still « running » are marked failed
    (interrupted), half-written folders and folders of runs never recorded as published are
    removed, and the ``courant`` link points to the latest published run."""
    directory = flows_dir(version)
    interrupted = FlowRun.objects.filter(version=version, status=FlowStatus.RUNNING).exclude(pk=exclude)
    for run in interrupted:
        logger.warning("Flux LHEO %s du %s interrompu : marqué en échec.", version, run.started_at)
    interrupted.update(
        status=FlowStatus.FAILED,
        finished_at=timezone.now(),
        error="Production interrompue (processus arrêté) : le flux précédent est resté en place.",
    )
    for path in directory.glob(".tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    runs = directory / RUNS_DIR
    kept = {folder.name for folder in map(run_folder, FlowRun.kept(version)) if folder is not None}
    if runs.is_dir():
        for folder in runs.iterdir():
            if folder.name not in kept:
                shutil.rmtree(folder, ignore_errors=True)
    _point_current(version)


def _point_current(version):
    """Switch the ``courant`` symlink to the latest published run's folder, in one step."""
    directory = flows_dir(version)
    latest = FlowRun.latest(version)
    folder = run_folder(latest) if latest else None
    link = directory / CURRENT_LINK
    if folder is None:
        return
    target = os.path.relpath(folder, directory)
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = directory / f".{CURRENT_LINK}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(directory)


def publish_flow(version, *, now=None, validate=True, chunk_size=None):
    """One run for LHEO ``version``: returns the FlowRun (status done, or failed with its
    error; the previous run then stays the published one)."""
    if version not in VERSIONS:
        raise ValueError(f"Version LHEO inconnue : {version}")
    now = now or timezone.now()
    directory = flows_dir(version)
    previous = FlowRun.latest(version)
    run = FlowRun.objects.create(version=version, previous=previous, started_at=now)
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    names = {
        "full": f"offre-complete-{stamp}.xml",
        "delta": f"offre-modifications-{stamp}.xml",
        "sessions": f"sessions-{stamp}.json.gz",
        "manifest": f"manifeste-{stamp}.json",
    }
    work = directory / f".tmp-{stamp}"
    folder = directory / RUNS_DIR / stamp
    relative = {key: f"{RUNS_DIR}/{stamp}/{name}" for key, name in names.items()}
    tmp = {key: work / name for key, name in names.items()}
    renamed = False
    try:
        with _lock(directory):
            recover(version, exclude=run.pk)
            if folder.exists():
                raise FlowError(f"Un flux daté {stamp} existe déjà.")
            work.mkdir(parents=True)
            result = _write(run, version, previous, tmp, validate=validate, chunk_size=chunk_size)
            sequence = (FlowRun.kept(version).aggregate(n=Max("sequence"))["n"] or 0) + 1
            manifest = _manifest(run, version, previous, now, names, tmp, result, sequence)
            with open(tmp["manifest"], "w", encoding="utf-8") as stream:
                json.dump(manifest, stream, ensure_ascii=False, indent=2)
                stream.flush()
                os.fsync(stream.fileno())
            for path in tmp.values():
                if path.exists():
                    os.chmod(path, 0o644)
            os.chmod(work, 0o755)
            fsync_dir(work)
            _checkpoint("written", directory)
            folder.parent.mkdir(exist_ok=True)
            os.replace(work, folder)  # the whole run appears at once
            renamed = True
            fsync_dir(folder.parent)
            _checkpoint("renamed", directory)
            FlowRun.objects.filter(pk=run.pk).update(
                status=FlowStatus.DONE,
                sequence=sequence,
                finished_at=timezone.now(),
                full_file=relative["full"],
                delta_file=relative["delta"] if result["delta"].xf is not None else "",
                manifest_file=relative["manifest"],
                sessions_file=relative["sessions"],
                full_sha256=manifest["complet"]["sha256"],
                delta_sha256=manifest["modifications"]["sha256"] or "",
                full_size=manifest["complet"]["taille"],
                delta_size=manifest["modifications"]["taille"] or 0,
                formations=result["full"].formations,
                sessions=result["full"].sessions,
                new_sessions=len(result["new"]),
                modified_sessions=len(result["modified"]),
                withdrawn_sessions=len(result["withdrawn"]),
            )
            _checkpoint("recorded", directory)
    except Exception as exc:  # any failure: nothing published, the previous run stays
        message = str(exc) if isinstance(exc, (FlowError, EmptyOffer)) else f"{exc.__class__.__name__} : {exc}"
        if not isinstance(exc, (FlowError, EmptyOffer)):
            logger.exception("Flux LHEO %s en échec", version)
        FlowRun.objects.filter(pk=run.pk).update(status=FlowStatus.FAILED, finished_at=timezone.now(), error=message)
        if renamed:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run.refresh_from_db()
    if run.status == FlowStatus.DONE:
        _prune(version)
        try:
            _point_current(version)
        except OSError:  # the database is the pointer downloads read; the link is repaired next run
            logger.exception("Lien « courant » des flux LHEO %s non mis à jour", version)
    return run


def _write(run, version, previous, tmp, *, validate, chunk_size):
    previous_hashes = load_session_hashes(previous)
    previous_by_formation = {}
    for reference, (_digest, formation) in previous_hashes.items():
        if formation:
            previous_by_formation.setdefault(formation, set()).add(reference)
    writer = LheoWriter(version)
    hasher = SessionHasher(version)
    current = {}
    new, modified = [], []
    kwargs = {"chunk_size": chunk_size} if chunk_size else {}
    full = _LazyDocument(tmp["full"], writer)
    delta = _LazyDocument(tmp["delta"], writer)
    carrier = None
    try:
        for element in writer.elements(published_formations(), **kwargs):
            hashes = hasher.hashes(element)
            formation = element.get("numero")
            changed = set()
            for reference, digest in hashes.items():
                before = previous_hashes.get(reference)
                if before is None:
                    new.append(reference)
                    changed.add(reference)
                elif before[0] != digest:
                    modified.append(reference)
                    changed.add(reference)
                current[reference] = (digest, formation)
            lost = previous_by_formation.get(formation, set()) - hashes.keys()
            if changed or lost:
                # A formation that only lost sessions is sent with the sessions it keeps.
                keep = changed or set(hashes)
                copy = element.__deepcopy__(None)
                for action in copy.findall(hasher.action_tag):
                    if action.find(hasher.session_tag).get("numero") not in keep:
                        copy.remove(action)
                delta.write(copy, len(keep))
            elif carrier is None:
                carrier = (element.__deepcopy__(None), len(hashes))
            full.write(element, len(hashes))
        if full.xf is None:
            raise EmptyOffer(
                "Aucune formation publiée à exporter : flux non produit, le flux précédent reste en place."
            )
        withdrawn = sorted(set(previous_hashes) - set(current))
        if withdrawn and delta.xf is None and carrier is not None:
            # Only withdrawals of whole formations: an LHEO document holds at least one
            # formation, so an unchanged one carries the list (the lists below say so).
            delta.write(*carrier)
        full.close()
        delta.close(
            (
                ("sessions-retirees", "session", withdrawn),
                ("sessions-nouvelles", "session-nouvelle", new),
                ("sessions-modifiees", "session-modifiee", modified),
            )
        )
    finally:
        full.abort()
        delta.abort()
    del previous_hashes, carrier
    with gzip.open(tmp["sessions"], "wt", encoding="utf-8") as stream:
        json.dump(current, stream, separators=(",", ":"))
    if validate:
        for key in ("full", "delta"):
            if tmp[key].exists():
                errors = validate_lheo(str(tmp[key]), version)
                if errors:
                    raise FlowError(
                        f"Le flux LHEO {version} produit n'est pas valide ({len(errors)} erreur(s)) : "
                        + " ; ".join(errors[:5])
                    )
    return {
        "full": full,
        "delta": delta,
        "new": new,
        "modified": modified,
        "withdrawn": withdrawn,
        "stats": writer.stats,
    }


def _delta_url(version, sequence):
    return reverse("exports:flow_delta", args=[version, sequence])


def _kept_deltas(version, sequence, now, delta_name, delta_sha256, delta_size):
    """The deltas partners can still download once this run is published (oldest first):
    the previous published runs that pruning keeps, then this one."""
    keep = getattr(settings, "LHEO_FLOWS_KEEP", KEEP_RUNS)
    earlier = list(FlowRun.kept(version).exclude(sequence=None).order_by("-started_at", "-pk")[: keep - 1])
    entries = [
        {
            "numero": run.sequence,
            "date": run.started_at.isoformat(timespec="seconds"),
            "fichier": Path(run.delta_file).name if run.delta_file else None,
            "sha256": run.delta_sha256 or None,
            "taille": run.delta_size if run.delta_file else None,
            "url": _delta_url(version, run.sequence),
        }
        for run in reversed(earlier)
    ]
    entries.append(
        {
            "numero": sequence,
            "date": now.isoformat(timespec="seconds"),
            "fichier": delta_name,
            "sha256": delta_sha256,
            "taille": delta_size,
            "url": _delta_url(version, sequence),
        }
    )
    return entries


def _manifest(run, version, previous, now, names, tmp, result, sequence):
    full, delta = result["full"], result["delta"]
    has_delta = delta.xf is not None
    delta_sha256 = sha256_of(tmp["delta"]) if has_delta else None
    delta_size = tmp["delta"].stat().st_size if has_delta else None
    return {
        "version": version,
        "numero": sequence,
        "date": now.isoformat(timespec="seconds"),
        "flux_precedent": previous.started_at.isoformat(timespec="seconds") if previous else None,
        "numero_precedent": previous.sequence if previous else None,
        "complet": {
            "fichier": names["full"],
            "sha256": sha256_of(tmp["full"]),
            "taille": tmp["full"].stat().st_size,
            "formations": full.formations,
            "sessions": full.sessions,
        },
        "modifications": {
            "fichier": names["delta"] if has_delta else None,
            "sha256": delta_sha256,
            "taille": delta_size,
            "formations": delta.formations,
            "sessions": delta.sessions,
            "nouvelles": len(result["new"]),
            "modifiees": len(result["modified"]),
            "retirees": len(result["withdrawn"]),
            "sessions_nouvelles": result["new"],
            "sessions_modifiees": result["modified"],
            "sessions_retirees": result["withdrawn"],
        },
        "modifications_disponibles": _kept_deltas(
            version, sequence, now, names["delta"] if has_delta else None, delta_sha256, delta_size
        ),
        "avertissements": result["stats"].warnings[:50],
        "textes_coupes": dict(result["stats"].truncated),
    }


def _prune(version, keep=None):
    """Keep the last ``keep`` published runs of ``version`` (and their files)."""
    keep = keep or getattr(settings, "LHEO_FLOWS_KEEP", KEEP_RUNS)
    done = FlowRun.objects.filter(version=version, status=FlowStatus.DONE).order_by("-started_at", "-pk")
    for run in done[keep:]:
        folder = run_folder(run)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for path in flow_files(run).values():
                if path is not None:
                    path.unlink(missing_ok=True)
        run.delete()
    old_failures = FlowRun.objects.filter(
        version=version, status=FlowStatus.FAILED, started_at__lt=timezone.now() - datetime.timedelta(days=30)
    )
    old_failures.delete()


def publish_flows(versions=None, **kwargs):
    """The nightly run: one run per version (settings.LHEO_FLOW_VERSIONS, both by default)."""
    versions = versions or getattr(settings, "LHEO_FLOW_VERSIONS", VERSIONS)
    return [publish_flow(version, **kwargs) for version in versions]

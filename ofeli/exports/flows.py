"""Nightly LHEO flows for partners (SPEC H2).

Each run, for one LHEO version, writes in ``settings.LHEO_FLOWS_DIR/<version>/``:

- ``offre-complete-<date>.xml``: the whole published offer;
- ``offre-modifications-<date>.xml``: the formations holding a session that is new or whose
  content changed since the previous published run, with only those sessions; withdrawn
  sessions are listed in ``<extras info="sessions-retirees">`` (LHEO has no element for a
  withdrawal). Not written when no session is new or modified (an LHEO document needs at
  least one formation); the manifest still lists withdrawals;
- ``sessions-<date>.json.gz``: the reference and content hash of every exported session,
  which the next run compares with to find new, modified and withdrawn sessions;
- ``manifeste-<date>.json``: date, counts, file names, sizes and SHA-256 checksums.

Both documents are written in one pass over the offer (streamed, bounded memory), validated
against the XSD, then renamed into place; only then is the run recorded as published. A
failed run leaves no file behind and the previous run stays the one partners download.
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
from pathlib import Path

from django.conf import settings
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


def flow_files(run):
    """Paths of the files of a published run (``delta`` is None when there was none)."""
    return {
        "full": run.path(run.full_file),
        "delta": run.path(run.delta_file) if run.delta_file else None,
        "manifest": run.path(run.manifest_file),
        "sessions": run.path(run.sessions_file),
    }


def load_session_hashes(run):
    """{session reference: content hash} of a published run ({} if its file is gone)."""
    if run is None or not run.sessions_file:
        return {}
    try:
        with gzip.open(run.path(run.sessions_file), "rt", encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        logger.warning("Empreintes des sessions du flux %s illisibles : flux des modifications complet.", run.pk)
        return {}


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

    def close(self, withdrawn=()):
        """End the document; ``withdrawn`` session references go in <extras> after <offres>."""
        if self.xf is None:
            return
        self.xf.write("\n")
        self._offres.__exit__(None, None, None)
        if withdrawn:
            q = self.writer.q
            extras = etree.Element(q("extras"), {"info": "sessions-retirees"})
            for reference in withdrawn:
                etree.SubElement(extras, q("extra"), {"info": "session", "numero": reference})
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
    tmp = {key: directory / f".{name}.tmp" for key, name in names.items()}
    try:
        with _lock(directory):
            result = _write(run, version, previous, tmp, validate=validate, chunk_size=chunk_size)
            manifest = _manifest(run, version, previous, now, names, tmp, result)
            with open(tmp["manifest"], "w", encoding="utf-8") as stream:
                json.dump(manifest, stream, ensure_ascii=False, indent=2)
            for key, path in tmp.items():
                if path.exists():
                    os.chmod(path, 0o644)
                    os.replace(path, directory / names[key])
            fsync_dir(directory)
            FlowRun.objects.filter(pk=run.pk).update(
                status=FlowStatus.DONE,
                finished_at=timezone.now(),
                full_file=names["full"],
                delta_file=names["delta"] if result["delta"].xf is not None else "",
                manifest_file=names["manifest"],
                sessions_file=names["sessions"],
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
    except Exception as exc:  # any failure: nothing published, the previous run stays
        message = str(exc) if isinstance(exc, (FlowError, EmptyOffer)) else f"{exc.__class__.__name__} : {exc}"
        if not isinstance(exc, (FlowError, EmptyOffer)):
            logger.exception("Flux LHEO %s en échec", version)
        FlowRun.objects.filter(pk=run.pk).update(status=FlowStatus.FAILED, finished_at=timezone.now(), error=message)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    run.refresh_from_db()
    if run.status == FlowStatus.DONE:
        _prune(version)
    return run


def _write(run, version, previous, tmp, *, validate, chunk_size):
    previous_hashes = load_session_hashes(previous)
    writer = LheoWriter(version)
    hasher = SessionHasher(version)
    current = {}
    new, modified = [], []
    kwargs = {"chunk_size": chunk_size} if chunk_size else {}
    full = _LazyDocument(tmp["full"], writer)
    delta = _LazyDocument(tmp["delta"], writer)
    try:
        for element in writer.elements(published_formations(), **kwargs):
            hashes = hasher.hashes(element)
            changed = set()
            for reference, digest in hashes.items():
                before = previous_hashes.get(reference)
                if before is None:
                    new.append(reference)
                    changed.add(reference)
                elif before != digest:
                    modified.append(reference)
                    changed.add(reference)
            current.update(hashes)
            if changed:
                copy = element.__deepcopy__(None)
                for action in copy.findall(hasher.action_tag):
                    if action.find(hasher.session_tag).get("numero") not in changed:
                        copy.remove(action)
                delta.write(copy, len(changed))
            full.write(element, len(hashes))
        if full.xf is None:
            raise EmptyOffer(
                "Aucune formation publiée à exporter : flux non produit, le flux précédent reste en place."
            )
        withdrawn = sorted(set(previous_hashes) - set(current))
        full.close()
        delta.close(withdrawn)
    finally:
        full.abort()
        delta.abort()
    del previous_hashes
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


def _manifest(run, version, previous, now, names, tmp, result):
    full, delta = result["full"], result["delta"]
    has_delta = delta.xf is not None
    return {
        "version": version,
        "date": now.isoformat(timespec="seconds"),
        "flux_precedent": previous.started_at.isoformat(timespec="seconds") if previous else None,
        "complet": {
            "fichier": names["full"],
            "sha256": sha256_of(tmp["full"]),
            "taille": tmp["full"].stat().st_size,
            "formations": full.formations,
            "sessions": full.sessions,
        },
        "modifications": {
            "fichier": names["delta"] if has_delta else None,
            "sha256": sha256_of(tmp["delta"]) if has_delta else None,
            "taille": tmp["delta"].stat().st_size if has_delta else None,
            "formations": delta.formations,
            "sessions": delta.sessions,
            "nouvelles": len(result["new"]),
            "modifiees": len(result["modified"]),
            "retirees": len(result["withdrawn"]),
            "sessions_nouvelles": result["new"],
            "sessions_modifiees": result["modified"],
            "sessions_retirees": result["withdrawn"],
        },
        "avertissements": result["stats"].warnings[:50],
        "textes_coupes": dict(result["stats"].truncated),
    }


def _prune(version, keep=None):
    """Keep the last ``keep`` published runs of ``version`` (and their files)."""
    keep = keep or getattr(settings, "LHEO_FLOWS_KEEP", KEEP_RUNS)
    done = FlowRun.objects.filter(version=version, status=FlowStatus.DONE).order_by("-started_at", "-pk")
    for run in done[keep:]:
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

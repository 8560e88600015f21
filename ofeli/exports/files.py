"""Files of the exports. Files that replace the previous ones in one step (``write_offer`` to
a path, ``export_lheo``, the partner flows): a reader sees the previous file or the complete
new one, never a half-written one, and a failed run leaves no temporary file behind."""

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path):
    """A binary stream on a temporary file next to ``path`` (``stream.name`` is its path, for
    a check before the rename). When the block ends without error, the file is synced and
    renamed over ``path`` durably; on an error it is removed and ``path`` stays as it was."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with open(tmp, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def fsync_dir(path):
    """Make a rename inside ``path`` durable (a published file never half-exists)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_of(path):
    """The SHA-256 (hex) of the file at ``path``, read by blocks of 1 MB."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

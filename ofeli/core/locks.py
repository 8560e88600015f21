"""Named locks in the database (S4): two ``nightly`` started at once, on one machine or on
two, never run together — the second one is told who holds the lock and exits.

A lock is a ``JobLock`` row whose primary key is the name: taking it is an INSERT, which
the database lets only one process win (SQLite and PostgreSQL alike). A holder killed
with kill -9 leaves its row behind; the row is taken over when it has expired (``ttl``,
renewed by the holder with ``refresh``) or at once when it names a process of this machine
that no longer exists."""

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import JobLock


class LockHeld(Exception):
    """The lock belongs to another live holder."""

    def __init__(self, name, holder, acquired_at):
        self.name, self.holder, self.acquired_at = name, holder, acquired_at
        since = timezone.localtime(acquired_at).strftime("%d/%m/%Y à %H:%M:%S")
        super().__init__(f"« {name} » est déjà en cours ({holder}, depuis le {since})")


def new_holder():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _process_is_gone(holder):
    """True when ``holder`` names a process of this machine that does not exist anymore."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False


@dataclass
class Lock:
    name: str
    holder: str
    ttl: timedelta

    def refresh(self):
        """Push the expiry back; False if the lock was taken over meanwhile."""
        now = timezone.now()
        return bool(JobLock.objects.filter(name=self.name, holder=self.holder).update(expires_at=now + self.ttl))

    def release(self):
        JobLock.objects.filter(name=self.name, holder=self.holder).delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def acquire(name, ttl, holder=None):
    """Take the lock ``name`` for ``ttl`` (a timedelta) or raise ``LockHeld``."""
    holder = holder or new_holder()
    now = timezone.now()
    try:
        with transaction.atomic():
            JobLock.objects.create(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
        return Lock(name, holder, ttl)
    except IntegrityError:
        pass
    current = JobLock.objects.filter(name=name).first()
    if current is None:  # released between our INSERT and this read: try once more
        return acquire(name, ttl, holder)
    if current.expires_at <= now or _process_is_gone(current.holder):
        # Conditional take-over: of two processes seeing the same stale row, one wins.
        taken = JobLock.objects.filter(name=name, holder=current.holder).update(
            holder=holder, acquired_at=now, expires_at=now + ttl
        )
        if taken:
            return Lock(name, holder, ttl)
        current = JobLock.objects.filter(name=name).first() or current
    raise LockHeld(name, current.holder, current.acquired_at)

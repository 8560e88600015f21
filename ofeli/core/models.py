"""Shared building blocks: reference counters (23470P, 00018C, 2358280F, 373847S)."""

from django.db import models, transaction
from django.db.models import F


class ReferenceCounter(models.Model):
    """One row per kind of reference; references are allocated by incrementing it inside
    the caller's transaction, so they are unique and never reused, on SQLite and PostgreSQL."""

    kind = models.CharField(max_length=1, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "compteur de références"


# kind -> (number of digits, suffix)
REFERENCE_FORMATS = {
    "P": (5, "P"),  # structures: 23470P
    "C": (5, "C"),  # contacts: 00018C
    "F": (7, "F"),  # formations: 2358280F
    "S": (6, "S"),  # sessions (Numéro CARIF): 373847S
    "L": (5, "L"),  # lieux de formation: 00012L
}


def format_reference(kind, number):
    digits, suffix = REFERENCE_FORMATS[kind]
    return f"{number:0{digits}d}{suffix}"


def allocate_references(kind, count=1):
    """Reserve ``count`` consecutive references of ``kind`` and return them as strings."""
    with transaction.atomic():
        ReferenceCounter.objects.get_or_create(kind=kind)
        ReferenceCounter.objects.filter(kind=kind).update(last_value=F("last_value") + count)
        last = ReferenceCounter.objects.get(kind=kind).last_value
    return [format_reference(kind, n) for n in range(last - count + 1, last + 1)]


def next_reference(kind):
    return allocate_references(kind, 1)[0]


def bump_counter_past(kind, reference):
    """Make sure later allocations never collide with a reference set by hand (demo data,
    imports)."""
    number = int(reference[:-1])
    ReferenceCounter.objects.get_or_create(kind=kind)
    ReferenceCounter.objects.filter(kind=kind, last_value__lt=number).update(last_value=number)


class JobLock(models.Model):
    """A named lock held in the database, so that it works across processes and machines
    on SQLite and PostgreSQL (``ofeli.core.locks``): the row exists while a holder runs."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=200)  # « host:pid:token »
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "verrou de travaux"


class NightlyRun(models.Model):
    """One run of ``manage.py nightly``; the health endpoint reads the last successful one."""

    class Status(models.TextChoices):
        RUNNING = "running", "en cours"
        SUCCEEDED = "succeeded", "réussi"
        FAILED = "failed", "en échec"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    weekly = models.BooleanField(default=False)
    failed_jobs = models.TextField(blank=True)
    holder = models.CharField(max_length=200)

    class Meta:
        verbose_name = "passage des travaux de nuit"
        indexes = [models.Index(fields=["status", "-finished_at"], name="nightly_status_finished")]

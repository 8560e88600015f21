"""Exports (D5), partner flows out (H2) and in (H3).

- ``ExportJob``: a file asked for from « Exporter » on the search screen, built by a
  background task, downloadable by its requester (and Carif staff) for 7 days.
- ``Partner``: a machine that downloads the nightly LHEO flows with its own token (only a
  hash of the token is stored).
- ``FlowRun``: one nightly run for one LHEO version: the full flow, the delta flow since the
  previous run and their manifest. Only successful runs are published.
- ``ImportRun`` / ``ImportedFormation``: partner flows loaded with ``import_lheo``.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportFormat(models.TextChoices):
    EXCEL = "xlsx", "Export Excel"
    LHEO_22 = "lheo22", "LHÉO 2.2"
    LHEO_23 = "lheo23", "LHÉO 2.3"


LHEO_VERSION_OF_FORMAT = {ExportFormat.LHEO_22: "2.2", ExportFormat.LHEO_23: "2.3"}


class ExportStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    FAILED = "failed", "Échec"


class ExportJob(models.Model):
    """A file asked for from « Exporter » (D5), built by a background task.

    ``criteria`` are the search criteria (URL parameters) and ``session_ids`` the keys of the
    selected rows (« formation version:session version »); no selection means every result.
    The task recomputes the rows with the requester's rights, so a job never reaches more
    than the search screen shows."""

    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="exports")
    structure = models.ForeignKey(
        "structures.Structure", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    format = models.CharField("format", max_length=6, choices=ExportFormat.choices)
    session_ids = models.JSONField("sessions", default=list, blank=True)
    criteria = models.JSONField("critères", default=dict, blank=True)
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True, max_length=255)
    filename = models.CharField("nom du fichier", max_length=120, blank=True)
    size = models.PositiveBigIntegerField("taille", default=0)
    row_count = models.PositiveIntegerField("lignes", default=0)
    report = models.JSONField("compte rendu", default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # R3: a running job is a lease. The worker that builds it (attempt n° ``attempts``) writes
    # ``heartbeat_at`` every few seconds; a job whose heartbeat stops (worker killed) is
    # retried a bounded number of times, then failed (``jobs.recover_stale_exports``).
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)  # « host:pid » of the running attempt
    tmp_path = models.CharField(max_length=500, blank=True)  # temporary file of the running attempt

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "export"

    def __str__(self):
        return f"Export n°{self.pk} ({self.get_format_display()}, {self.get_status_display()})"

    @property
    def lheo_version(self):
        return LHEO_VERSION_OF_FORMAT.get(self.format)

    @property
    def is_active(self):
        return self.status in (ExportStatus.PENDING, ExportStatus.RUNNING)

    @property
    def is_downloadable(self):
        return (
            self.status == ExportStatus.DONE
            and bool(self.file)
            and (self.expires_at is None or self.expires_at > timezone.now())
        )

    @property
    def can_relaunch(self):
        return self.status == ExportStatus.FAILED

    def can_download(self, user):
        return user.is_authenticated and (self.user_id == user.pk or user.is_carif)


def hash_token(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class Partner(models.Model):
    """A partner system that downloads the LHEO flows (France Travail, a regional portal...).
    Its token is ``<prefix>.<secret>``: the prefix finds the partner, the secret is compared
    in constant time with the stored hash. The clear token is shown once, at creation."""

    name = models.CharField("nom", max_length=150)
    slug = models.SlugField("identifiant", max_length=50, unique=True)
    contact_email = models.EmailField("e-mail technique", blank=True)
    token_prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_created_at = models.DateTimeField(null=True, blank=True)
    last_download_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "partenaire"

    def __str__(self):
        return self.name

    def new_token(self):
        """Give the partner a new token (the previous one stops working); returns it in clear."""
        self.token_prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.token_hash = hash_token(secret)
        self.token_created_at = timezone.now()
        return f"{self.token_prefix}.{secret}"


class FlowStatus(models.TextChoices):
    RUNNING = "running", "En cours"
    DONE = "done", "Publié"
    FAILED = "failed", "Échec"


class FlowRun(models.Model):
    """One run of the partner flows for one LHEO version (H2): the full flow, the delta since
    the previous published run (new, modified and withdrawn sessions) and a manifest.
    Files live in ``settings.LHEO_FLOWS_DIR/<version>/``; a run is published (status done)
    only once every file is written, validated and renamed into place."""

    version = models.CharField("version LHEO", max_length=3)
    status = models.CharField(max_length=8, choices=FlowStatus.choices, default=FlowStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Number of the published run in its version (1, 2, 3…): partners ask for a delta by it (H2b).
    sequence = models.PositiveIntegerField("numéro", null=True, blank=True)
    full_file = models.CharField(max_length=255, blank=True)
    delta_file = models.CharField(max_length=255, blank=True)
    manifest_file = models.CharField(max_length=255, blank=True)
    sessions_file = models.CharField(max_length=255, blank=True)
    full_sha256 = models.CharField(max_length=64, blank=True)
    delta_sha256 = models.CharField(max_length=64, blank=True)
    full_size = models.PositiveBigIntegerField(default=0)
    delta_size = models.PositiveBigIntegerField(default=0)
    formations = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    new_sessions = models.PositiveIntegerField(default=0)
    modified_sessions = models.PositiveIntegerField(default=0)
    withdrawn_sessions = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "flux LHEO"
        indexes = [models.Index(fields=["version", "status", "-started_at"])]

    def __str__(self):
        return f"Flux LHEO {self.version} du {self.started_at:%d/%m/%Y %H:%M} ({self.get_status_display()})"

    @classmethod
    def latest(cls, version):
        return cls.objects.filter(version=version, status=FlowStatus.DONE).order_by("-started_at", "-pk").first()

    @classmethod
    def kept(cls, version):
        """The published runs of ``version`` whose files are still kept, oldest first."""
        return cls.objects.filter(version=version, status=FlowStatus.DONE).order_by("started_at", "pk")

    def path(self, name):
        return settings.LHEO_FLOWS_DIR / self.version / name if name else None


class ContentStamp(models.Model):
    """When the LHEO content of a formation or a session last changed (H2a), whatever changed
    it: its own fields, its organisme's record, a place or a contact it points to. The writer
    compares a digest of each exported element with the stored one; a new digest moves
    ``modified_at`` (``horodatage-modification`` / ``datemaj``), so ``--since`` and the
    partners' deltas never miss a change made outside the formation's own version."""

    FORMATION, SESSION = "f", "s"
    version = models.CharField("version LHEO", max_length=3)
    kind = models.CharField(max_length=1, choices=[(FORMATION, "formation"), (SESSION, "session")])
    reference = models.CharField(max_length=20)
    digest = models.CharField(max_length=32)
    modified_at = models.DateTimeField()

    class Meta:
        verbose_name = "horodatage LHEO"
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "reference"], name="content_stamp_unique"),
        ]


class ImportStatus(models.TextChoices):
    RUNNING = "running", "En cours"
    DONE = "done", "Importé"
    UNCHANGED = "unchanged", "Inchangé"
    FAILED = "failed", "Refusé"
    INTERRUPTED = "interrupted", "Interrompu"


class ImportRun(models.Model):
    """One ``import_lheo`` run (H3): what the file changed, or why it was refused."""

    source = models.CharField(max_length=20)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=11, choices=ImportStatus.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # « host:pid » of the process running it (R3): a run still « en cours » whose process is
    # gone was killed; the next import marks it interrupted.
    holder = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "import de flux LHEO"


class ImportedFormation(models.Model):
    """The last imported content of a partner-fed formation: an unchanged formation is not
    versioned again when the same flow is imported twice."""

    formation = models.OneToOneField("formations.Formation", on_delete=models.CASCADE, related_name="lheo_import")
    content_hash = models.CharField(max_length=64)
    run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    # H3a: the partner's <formation> exactly as the file carried it (zlib-compressed UTF-8 XML)
    # and the version it was imported into; the export writes it back while that version is
    # the published one (ofeli/exports/kept.py).
    version = models.ForeignKey(
        "formations.FormationVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lheo_version = models.CharField(max_length=3, blank=True)
    original = models.BinaryField(blank=True, default=b"")

    class Meta:
        verbose_name = "formation importée"

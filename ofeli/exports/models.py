from django.db import models


class ExportFormat(models.TextChoices):
    EXCEL = "xlsx", "Export Excel"
    LHEO_22 = "lheo22", "LHÉO 2.2"
    LHEO_23 = "lheo23", "LHÉO 2.3"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    FAILED = "failed", "Échec"


class ExportJob(models.Model):
    """A file asked for from « Exporter » (D5), built by a background task."""

    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="exports")
    structure = models.ForeignKey(
        "structures.Structure", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    format = models.CharField("format", max_length=6, choices=ExportFormat.choices)
    session_ids = models.JSONField("sessions", default=list, blank=True)
    criteria = models.JSONField("critères", default=dict, blank=True)
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

"""Certification watch (Q1): one open flag per published session and reason, raised by the
nightly ``watch_certifications`` and resolved by it when the cause is gone."""

from django.db import models
from django.db.models import Q

from .enums import FlagReason


class CertificationFlag(models.Model):
    session = models.ForeignKey("formations.Session", on_delete=models.CASCADE, related_name="certification_flags")
    formation = models.ForeignKey("formations.Formation", on_delete=models.CASCADE, related_name="+")
    certification = models.ForeignKey("referentials.Certification", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("motif", max_length=12, choices=FlagReason.choices)
    flagged_at = models.DateTimeField("signalée le")
    resolved_at = models.DateTimeField("résolue le", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "certification", "reason"],
                condition=Q(resolved_at__isnull=True),
                name="quality_one_open_flag_per_session_reason",
            )
        ]
        indexes = [models.Index(fields=["resolved_at", "formation"], name="quality_flag_open")]

    def __str__(self):
        return f"{self.session} — {self.get_reason_display()}"


class FlowDownload(models.Model):
    """One download of a published flow run by a partner (Q2), recorded by the flow download
    views: « téléchargée par France Travail le … » on the sessions that run holds."""

    COMPLET = "complet"
    MODIFICATIONS = "modifications"
    KINDS = [(COMPLET, "flux complet"), (MODIFICATIONS, "flux des modifications")]

    partner = models.ForeignKey("exports.Partner", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey("exports.FlowRun", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField("flux", max_length=13, choices=KINDS)
    downloaded_at = models.DateTimeField("téléchargé le")

    class Meta:
        indexes = [models.Index(fields=["run", "partner", "downloaded_at"], name="quality_download_run")]
        verbose_name = "téléchargement de flux"

    def __str__(self):
        return f"{self.partner} — {self.run} ({self.kind})"

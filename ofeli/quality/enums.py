from django.db import models


class FlagReason(models.TextChoices):
    """Why a session's certification needs checking (Q1)."""

    INACTIVE = "inactive", "Certification inactive"
    ENDS_BEFORE = "ends_before", "Enregistrement de la certification terminé avant la fin de la session"

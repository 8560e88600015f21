from django.db import models


class EnteredBy(models.TextChoices):
    """Who may enter a financing scheme on a session (F8, guide's table « Saisie »)."""

    OF = "OF", "Organisme de formation"
    CARIF = "CARIF", "GIP Alfa CVL"


class TrainingKind(models.TextChoices):
    """Kind of training of a session (E5, E6)."""

    CONTINUE = "continue", "Formation continue"
    ALTERNANCE = "alternance", "Formation en alternance"
    SCOLAIRE = "scolaire", "Formation scolaire"


class LabelKind(models.TextChoices):
    CONVENTION = "convention", "Conventions / Labels"
    QUALITE = "qualite", "Qualités"


class CertificationState(models.TextChoices):
    PUBLISHED = "0", "0 - Publiées"
    INACTIVE = "1", "1 - Inactives"
    DRAFT = "2", "2 - En cours"

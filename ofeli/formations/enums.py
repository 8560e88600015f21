from django.db import models


class Source(models.TextChoices):
    """Where a formation comes from (E5). Partner-fed offer is read-only for OF users."""

    OF = "of", "Saisie OF"
    REGION = "region", "Conseil régional (flux EOS)"
    FRANCE_TRAVAIL = "france_travail", "France Travail (flux AFC / POEC)"
    PARTNER = "partner", "Autre flux partenaire"


class ModaliteEnseignement(models.TextChoices):
    """LHEO dict-modalites-enseignement (F5)."""

    PRESENTIEL = "0", "Formation entièrement présentielle"
    MIXTE = "1", "Formation mixte"
    DISTANCE = "2", "Formation entièrement à distance"


class FinancementEtat(models.TextChoices):
    """Diffusion state of a financing row (F8 « État »)."""

    DIFFUSION = "DI", "DI - Diffusion"
    ATTENTE = "EA", "EA - En attente"
    ARCHIVE = "AR", "AR - Archive"


class RythmeCode(models.TextChoices):
    TEMPS_PLEIN = "30", "30 - Temps plein"
    TEMPS_PARTIEL = "31", "31 - Temps partiel"
    SOIR = "32", "32 - En soirée"
    WEEKEND = "33", "33 - Le week-end"
    MODULAIRE = "34", "34 - Modulaire"


class ModalitePedagogique(models.TextChoices):
    PRESENTIEL_GROUPE = "1", "Cours en groupe"
    INDIVIDUALISE = "2", "Formation individualisée"
    FOAD = "3", "Formation ouverte et à distance"
    ATELIER = "4", "Atelier pratique / plateau technique"
    STAGE = "5", "Stage en entreprise"
    PROJET = "6", "Pédagogie de projet"

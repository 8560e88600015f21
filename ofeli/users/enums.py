from django.db import models


class Role(models.TextChoices):
    OF = "of", "Utilisateur organisme de formation"
    GESTIONNAIRE = "gestionnaire", "Gestionnaire Carif"
    SUPERVISEUR = "superviseur", "Superviseur Carif"


class AccountRequestStatus(models.TextChoices):
    PENDING = "pending", "En attente de traitement"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"

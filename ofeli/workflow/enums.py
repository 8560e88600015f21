from django.db import models


class ChangeKind(models.TextChoices):
    STRUCTURE = "structure", "Fiche organisme"
    FORMATION = "formation", "Formation et sessions"


class ChangeStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SUBMITTED = "submitted", "En attente de validation"
    NEEDS_INFO = "needs_info", "En attente complément d'information"
    ACCEPTED = "accepted", "Demande acceptée"
    REFUSED = "refused", "Demande refusée"
    CANCELLED = "cancelled", "Demande supprimée"


OPEN_STATUSES = [ChangeStatus.DRAFT, ChangeStatus.SUBMITTED, ChangeStatus.NEEDS_INFO]
EDITABLE_STATUSES = [ChangeStatus.DRAFT, ChangeStatus.NEEDS_INFO]


class HistoryAction(models.TextChoices):
    CHANGE_STARTED = "change_started", "Demande de modification"
    DRAFT_SAVED = "draft_saved", "Brouillon sauvegardé"
    SUBMITTED = "submitted", "Demande de vérification"
    ACCEPTED = "accepted", "Demande acceptée"
    NEEDS_INFO = "needs_info", "En attente complément d'information"
    REFUSED = "refused", "Demande refusée"
    CANCELLED = "cancelled", "Demande supprimée"
    STAFF_EDIT = "staff_edit", "Modification par le Carif"
    STAFF_CORRECTION = "staff_correction", "Correction par le Carif"
    ASSIGNED = "assigned", "Attribution"
    ARCHIVED = "archived", "Archivage"
    REACTIVATED = "reactivated", "Réactivation"
    CREATED = "created", "Création"
    CONTACT_CHANGED = "contact_changed", "Modification d'un contact"
    PLACE_CHANGED = "place_changed", "Modification d'un lieu"
    DOCUMENT_ADDED = "document_added", "Dépôt d'un document"
    IMPORTED = "imported", "Import d'un flux partenaire"
    ACCOUNT = "account", "Demande de compte"

"""Change requests and the history of every action (SPEC G, C9).

A change request (``ChangeRequest``) points to the object it changes (a structure, or a
formation with its sessions) and to the draft version it edits. At most one request is
open per object: the partial unique constraints below enforce it in the database.
"""

from django.db import models
from django.db.models import Q

from .enums import EDITABLE_STATUSES, OPEN_STATUSES, ChangeKind, ChangeStatus, HistoryAction


class ChangeRequest(models.Model):
    kind = models.CharField("objet", max_length=10, choices=ChangeKind.choices)
    status = models.CharField("état", max_length=12, choices=ChangeStatus.choices, default=ChangeStatus.DRAFT)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.CASCADE,
        related_name="change_requests",
        help_text="La structure modifiée, ou l'organisme responsable de la formation.",
    )
    formation = models.ForeignKey(
        "formations.Formation", null=True, blank=True, on_delete=models.CASCADE, related_name="change_requests"
    )
    structure_version = models.OneToOneField(
        "structures.StructureVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="change_request"
    )
    formation_version = models.OneToOneField(
        "formations.FormationVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="change_request"
    )
    base_version_id = models.BigIntegerField(
        "version publiée au départ",
        null=True,
        blank=True,
        help_text="Identifiant de la version publiée copiée au début de la demande.",
    )
    created_by = models.ForeignKey("users.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    submitted_at = models.DateTimeField("soumise le", null=True, blank=True)
    assigned_to = models.ForeignKey(
        "users.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_change_requests",
        verbose_name="gestionnaire",
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    decided_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    carif_comment = models.TextField("commentaire CARIF", blank=True)

    class Meta:
        ordering = ["submitted_at", "created_at"]
        verbose_name = "demande de modification"
        constraints = [
            models.UniqueConstraint(
                fields=["formation"],
                condition=Q(status__in=OPEN_STATUSES) & Q(kind=ChangeKind.FORMATION),
                name="one_open_change_per_formation",
            ),
            models.UniqueConstraint(
                fields=["structure"],
                condition=Q(status__in=OPEN_STATUSES) & Q(kind=ChangeKind.STRUCTURE),
                name="one_open_change_per_structure",
            ),
            models.CheckConstraint(
                condition=(Q(kind=ChangeKind.FORMATION, formation__isnull=False))
                | Q(kind=ChangeKind.STRUCTURE, formation__isnull=True),
                name="change_request_target_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self):
        return f"Demande n°{self.pk} ({self.get_kind_display()}, {self.get_status_display()})"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def is_new_object(self):
        return self.base_version_id is None

    def is_staff_correction(self, user):
        """Carif staff may correct a submitted request before accepting it (G2)."""
        return user.is_carif and self.status == ChangeStatus.SUBMITTED

    def is_editable_by(self, user):
        """A draft or a request sent back for more information; a submitted one too for Carif staff."""
        return self.status in EDITABLE_STATUSES or self.is_staff_correction(user)


class HistoryEntry(models.Model):
    """One line of history (C9, G3): who did what, when, with the Carif's comment."""

    created_at = models.DateTimeField("Créé le", auto_now_add=True, db_index=True)
    author = models.ForeignKey(
        "users.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="Auteur"
    )
    action = models.CharField("Action", max_length=20, choices=HistoryAction.choices)
    comment = models.TextField("Commentaire CARIF", blank=True)
    details = models.TextField("détails", blank=True)
    structure = models.ForeignKey(
        "structures.Structure", null=True, blank=True, on_delete=models.CASCADE, related_name="history"
    )
    formation = models.ForeignKey(
        "formations.Formation", null=True, blank=True, on_delete=models.CASCADE, related_name="history"
    )
    change_request = models.ForeignKey(
        ChangeRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "historique"
        verbose_name_plural = "historique"

    def __str__(self):
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.get_action_display()}"


class DraftRevision(models.Model):
    """One save of one editing page of a draft (R1).

    ``scope`` names the page: ``formation``, ``session:<Session id>`` or ``structure``. The
    revision token of a page is the number of its rows; a page is loaded with it and posts
    it back. Saving from token N inserts row N, holding the snapshot of the page's content
    *before* that save: the unique constraint lets exactly one save from N through (a
    compare-and-set in the database), and a later save from N finds what changed since it
    was loaded by comparing row N with the current content."""

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="revisions")
    scope = models.CharField(max_length=40)
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)
    author = models.ForeignKey("users.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["change_request", "scope", "number"]
        verbose_name = "version d'une page de brouillon"
        constraints = [
            models.UniqueConstraint(fields=["change_request", "scope", "number"], name="one_save_per_draft_revision")
        ]

    def __str__(self):
        return f"{self.change_request_id} {self.scope} n°{self.number}"

"""Partner API state (J1-J3).

- ``OfferEntry``: the API's read model of the published offer, one row per formation and per
  session that has ever been published. ``document`` is the JSON text the API serves, built
  from the same published-offer query as the LHEO flows (offer.py, J4) and encoded once,
  when the entry changes: a page copies these texts into its answer without decoding them
  (api.py). ``modified_at`` changes only when that document changes (its ``digest``),
  ``deleted_at`` is set when the object leaves the offer (withdrawn, archived, structure no
  longer diffused) and cleared if it comes back. Filter columns repeat what the public
  search filters on; the inscription dates and ``entree_permanente`` give the status of the
  day without reading the document.
- ``ApiAccess``: what a partner (the LHEO flows' ``exports.Partner``) may read and how fast.
- ``ApiUsage``: calls per partner per day, for the superviseur.
"""

import json

from django.db import models
from django.db.models import Q


class EntryKind(models.TextChoices):
    FORMATION = "formation", "Formation"
    SESSION = "session", "Session"


class OfferEntry(models.Model):
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    reference = models.CharField(max_length=10)
    formation_reference = models.CharField(max_length=10)
    structure_reference = models.CharField(max_length=10)
    document = models.TextField()  # the JSON text served (without statut, modifie_le, liens)
    digest = models.CharField(max_length=64)
    modified_at = models.DateTimeField(db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # filters (sessions; formations carry the union of their sessions' values where it applies)
    search_text = models.TextField(blank=True)
    date_debut = models.DateField(null=True, blank=True)
    date_fin = models.DateField(null=True, blank=True)
    departements = models.CharField(max_length=200, blank=True)  # "|36|45|"
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    financeurs = models.CharField(max_length=300, blank=True)  # LHEO financeur codes "|10|17|"
    dispositifs = models.CharField(max_length=300, blank=True)  # "|CPF|AIF|"
    code_rncp = models.CharField(max_length=12, blank=True)
    code_rs = models.CharField(max_length=12, blank=True)
    niveau_sortie = models.CharField(max_length=3, blank=True)
    modalite = models.CharField(max_length=1, blank=True)
    # what the status of the day is computed from (sessions), besides date_debut / date_fin
    debut_inscription = models.DateField(null=True, blank=True)
    fin_inscription = models.DateField(null=True, blank=True)
    entree_permanente = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="api_offerentry_unique_reference")]
        indexes = [
            models.Index(fields=["kind", "modified_at", "id"], name="api_entry_modified"),
            models.Index(fields=["formation_reference"], name="api_entry_formation"),  # sync
            # the pages without modified_since walk the live entries of a kind in id order
            models.Index(fields=["kind", "id"], condition=Q(deleted_at__isnull=True), name="api_entry_live_id"),
            models.Index(
                fields=["kind", "date_debut"], condition=Q(deleted_at__isnull=True), name="api_entry_live_start"
            ),
            # + on PostgreSQL a trigram GIN index on the words and the code lists (migration 0004)
        ]

    def __str__(self):
        return f"{self.kind} {self.reference}"

    @property
    def data(self):
        """The document, decoded (for Python callers; the API serves ``document`` as is)."""
        return json.loads(self.document)


class ApiResource(models.TextChoices):
    FORMATIONS = "formations", "Formations"
    SESSIONS = "sessions", "Sessions"
    ORGANISMES = "organismes", "Organismes"
    CERTIFICATIONS = "certifications", "Certifications"
    DELETIONS = "suppressions", "Suppressions"
    TABLES = "tables", "Tables LHEO"


def all_resources():
    return [choice.value for choice in ApiResource]


class ApiAccess(models.Model):
    """A partner's access to the API. Without a row, a partner may read every resource at
    the default rate (settings.API_RATE_LIMIT per minute)."""

    partner = models.OneToOneField("exports.Partner", on_delete=models.CASCADE, related_name="api_access")
    resources = models.JSONField("ressources autorisées", default=all_resources)
    rate_limit = models.PositiveIntegerField("appels par minute", null=True, blank=True)

    class Meta:
        verbose_name = "accès API"

    def __str__(self):
        return f"API {self.partner}"


class ApiUsage(models.Model):
    partner = models.ForeignKey("exports.Partner", on_delete=models.CASCADE, related_name="api_usage")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    # the rate limit's current one-minute window (epoch minutes) and its calls (access.py)
    minute = models.PositiveBigIntegerField(default=0)
    minute_calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "day"], name="api_usage_unique_partner_day")]
        ordering = ["-day", "partner__name"]

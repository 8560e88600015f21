"""Every e-mail the product sends (R4): one row per recipient, written in the same
transaction as what it tells about, sent afterwards by a background task
(``ofeli.mails.outbox``), retried with backoff, visible to staff when it fails.

Mails that carry a secret (activation key, new password link) never store their body:
it is rendered when the mail is sent, with a fresh link, from ``kind`` and ``user``.

``headers``: extra headers of the message (``List-Unsubscribe`` and ``List-Unsubscribe-Post``
of the public site's alerts, RFC 8058), a JSON object of header name to value."""

from django.db import models


class MailKind(models.TextChoices):
    DECISION = "decision", "Décision sur une demande"
    MESSAGE = "message", "Message du Carif"
    ACTIVATION = "activation", "Clé d'activation du compte"
    PASSWORD_RESET = "password_reset", "Nouveau mot de passe"
    ACCOUNT_REFUSAL = "account_refusal", "Refus d'une demande de compte"
    ALERT_CONFIRMATION = "alert_confirmation", "Confirmation d'une alerte du site public"
    ALERT_DIGEST = "alert_digest", "Alerte du site public : nouvelles sessions"
    ALERT_MANAGE = "alert_manage", "Lien « Gérer mes alertes »"
    OTHER = "other", "Autre"


SECRET_KINDS = frozenset({MailKind.ACTIVATION, MailKind.PASSWORD_RESET})


class MailStatus(models.TextChoices):
    PENDING = "pending", "En attente d'envoi"
    SENDING = "sending", "Envoi en cours"
    SENT = "sent", "Envoyé"
    FAILED = "failed", "Non envoyé"


class OutgoingMail(models.Model):
    kind = models.CharField("type", max_length=20, choices=MailKind.choices)
    to = models.EmailField("destinataire")
    subject = models.CharField("objet", max_length=255)
    body = models.TextField(blank=True)  # empty for SECRET_KINDS: rendered at sending time
    user = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    structure = models.ForeignKey(
        "structures.Structure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_label = models.CharField("concerne", max_length=200, blank=True)
    url = models.CharField("lien", max_length=500, blank=True)  # path of the object in the product
    headers = models.JSONField("en-têtes", default=dict, blank=True)
    status = models.CharField("état", max_length=8, choices=MailStatus.choices, default=MailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.TextField("dernière erreur", blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    next_attempt_at = models.DateTimeField("prochaine tentative", null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "mail"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_status_next_idx")]

    def __str__(self):
        return f"Mail n°{self.pk} à {self.to} : {self.subject}"

    @property
    def has_secret(self):
        return self.kind in SECRET_KINDS

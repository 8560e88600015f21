"""E-mail alerts of the public site (P5).

A visitor saves a public search (its criteria, as the search form reads them) with an
e-mail address; once confirmed (double opt-in), each nightly digest mails the sessions
published since the previous one that match it. Nothing else about the person is kept:
the address, the criteria and technical dates; the row is deleted when unsubscribed, and
unconfirmed rows after ``ALERT_CONFIRM_DAYS``.

``FirstPublication`` is not personal data: when each session first appeared in the
published offer (what « new » means for a digest); ``DigestRun`` records each run."""

from django.db import models


class Alert(models.Model):
    email = models.EmailField("adresse e-mail")
    # The search criteria as the public search form reads them: {name: value or [values]}
    # (page, sort and view left out), read again by ``public.search.SearchForm``.
    criteria = models.JSONField("critères", default=dict)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    confirmed_at = models.DateTimeField("confirmée le", null=True, blank=True)
    # Sessions first published after this moment are « new » for the next digest: the
    # confirmation, then the moment up to which the last digest looked.
    checked_until = models.DateTimeField("nouvelles sessions après le", null=True, blank=True)
    last_sent_at = models.DateTimeField("dernier envoi le", null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "alerte"
        indexes = [
            models.Index(fields=["email"], name="alert_email_idx"),
            models.Index(fields=["confirmed_at", "created_at"], name="alert_confirmed_idx"),
        ]

    def __str__(self):
        return f"Alerte n°{self.pk}"

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None

    @property
    def label(self):
        """What the outbox records as « concerne »: mails of an alert are deleted with it."""
        return mail_label(self.pk)


def mail_label(pk):
    return f"Alerte n°{pk}"


class FirstPublication(models.Model):
    """When a session first appeared in the published offer (``formations.queries.
    published_sessions``): recorded at once when a change is accepted (``receivers.py``),
    and by the sweep that starts each digest for whatever came another way."""

    session = models.OneToOneField("formations.Session", primary_key=True, on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField("publiée le", db_index=True)

    class Meta:
        verbose_name = "première publication d'une session"


class DigestRun(models.Model):
    started_at = models.DateTimeField("lancé le", db_index=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    new_sessions = models.PositiveIntegerField("sessions nouvellement publiées", default=0)
    alerts = models.PositiveIntegerField("alertes examinées", default=0)
    mails = models.PositiveIntegerField("mails envoyés", default=0)
    purged = models.PositiveIntegerField("alertes non confirmées effacées", default=0)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "envoi des alertes"

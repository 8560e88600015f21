"""Messagerie between a structure's users and the Carif (I1), and personal memos (B4)."""

from django.db import models


def attachment_path(instance, filename):
    return f"messages/{instance.structure_id}/{filename}"


class Message(models.Model):
    structure = models.ForeignKey("structures.Structure", on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey("users.User", null=True, on_delete=models.SET_NULL, related_name="+")
    from_carif = models.BooleanField("envoyé par le Carif", default=False)
    subject = models.CharField("Objet", max_length=200)
    body = models.TextField("Message")
    attachment = models.FileField("Pièce jointe", upload_to=attachment_path, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField("lu le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["structure", "from_carif", "read_at"])]

    def __str__(self):
        return self.subject


class Memo(models.Model):
    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="memos")
    text = models.TextField("Mémo")
    done = models.BooleanField("Fait", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["done", "-updated_at"]

"""Messagerie between a structure's users and the Carif (I1), and personal memos (B4)."""

import os
import uuid

from django.db import models
from django.utils.text import slugify

ORIGINAL_NAME_MAX = 255


def safe_file_name(filename):
    """The name a file is stored under: ASCII letters, digits and dashes, its extension kept
    (« Convocation réunion (mars).pdf » → « convocation-reunion-mars.pdf »). The name the user
    gave is kept in ``Message.attachment_name`` and given back on download."""
    stem, ext = os.path.splitext(os.path.basename(filename))
    ext = "".join(ch for ch in ext.lower() if ch.isascii() and ch.isalnum())[:10]
    stem = slugify(stem)[:80].strip("-") or "piece-jointe"
    return f"{stem}.{ext}" if ext else stem


def attachment_path(instance, filename):
    return f"messages/{instance.structure_id}/{uuid.uuid4().hex}/{safe_file_name(filename)}"


def original_name(filename):
    """The file name as the user's browser sent it (no folder), for ``attachment_name``."""
    return os.path.basename(str(filename or "").replace("\\", "/"))[:ORIGINAL_NAME_MAX]


class Message(models.Model):
    structure = models.ForeignKey("structures.Structure", on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey("users.User", null=True, on_delete=models.SET_NULL, related_name="+")
    from_carif = models.BooleanField("envoyé par le Carif", default=False)
    subject = models.CharField("Objet", max_length=200)
    body = models.TextField("Message")
    attachment = models.FileField("Pièce jointe", upload_to=attachment_path, blank=True, max_length=200)
    attachment_name = models.CharField("nom de la pièce jointe", max_length=ORIGINAL_NAME_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField("lu le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["structure", "from_carif", "read_at"])]

    def __str__(self):
        return self.subject

    @property
    def attachment_filename(self):
        """The name the attachment is downloaded under: the one it had when it was sent."""
        if not self.attachment:
            return ""
        return self.attachment_name or self.attachment.name.rsplit("/", 1)[-1]


class Memo(models.Model):
    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="memos")
    text = models.TextField("Mémo")
    done = models.BooleanField("Fait", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["done", "-updated_at"]

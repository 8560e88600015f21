"""Checks of uploaded files: size and real type (magic bytes), not just the extension."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

SIGNATURES = {
    ".pdf": [b"%PDF-"],
    ".png": [b"\x89PNG\r\n\x1a\n"],
    ".jpg": [b"\xff\xd8\xff"],
    ".jpeg": [b"\xff\xd8\xff"],
    ".odt": [b"PK\x03\x04"],
    ".docx": [b"PK\x03\x04"],
    ".xlsx": [b"PK\x03\x04"],
    ".ods": [b"PK\x03\x04"],
}
DOCUMENT_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".odt", ".docx", ".xlsx", ".ods")
PROOF_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg")


def validate_upload(upload, extensions=DOCUMENT_EXTENSIONS, max_bytes=None):
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    name = upload.name.lower()
    ext = next((e for e in extensions if name.endswith(e)), None)
    if ext is None:
        allowed = ", ".join(e.lstrip(".").upper() for e in extensions)
        raise ValidationError(f"Ce type de fichier n'est pas accepté. Formats acceptés : {allowed}.", code="file_type")
    if upload.size > max_bytes:
        raise ValidationError(
            f"Le fichier est trop volumineux ({filesizeformat(upload.size)}) : "
            f"la taille maximale est de {filesizeformat(max_bytes)}.",
            code="file_size",
        )
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in SIGNATURES[ext]):
        raise ValidationError(
            "Le contenu du fichier ne correspond pas à son extension : vérifiez le fichier.", code="file_content"
        )
    return upload

"""Private files (documents, attachments, account-request proofs, exports) are served by views
that check rights; no cache, shared or the browser's, keeps a copy (K1)."""

from django.http import FileResponse, Http404

NO_STORE = "private, no-store"


def private_file_response(handle, filename, *, content_type=None):
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = NO_STORE
    return response


def open_private(field):
    """The stored file of ``field`` open for reading; 404 when the disk no longer has it."""
    try:
        return field.open("rb")
    except (FileNotFoundError, ValueError) as missing:
        raise Http404("Ce fichier n'est plus disponible sur le serveur.") from missing

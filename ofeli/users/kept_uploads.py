"""Proof files of « Créer mon compte » kept across a refused post (A2, issue 10).

A browser cannot put a file back into an ``<input type="file">``: after a validation error the
user would have to choose the file again, and usually does not notice. So a file that passed
its own checks (``validate_upload``) is kept on the server, in private storage, and named in
the visitor's session (never in the page: nothing to forge, no other visitor's file can be
reached). The next post of the same session uses it unless a new file is chosen or « Ne pas
joindre ce fichier » is ticked; a valid request copies it into the AccountRequest and the kept
copy is deleted. Kept files expire after ``MAX_AGE`` seconds; expired ones are swept at each
keep. A file that was refused is never kept: the page says it must be chosen again.

    files = kept_uploads.merge(request, request.FILES)     # kept + newly chosen
    kept_uploads.remember(request, form)                   # after a refused post
    kept_uploads.forget(request)                           # after a saved request
    kept_uploads.names(request) -> {"nda_file": "declaration.pdf", ...}
"""

import logging
import mimetypes
import secrets
import time

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.text import get_valid_filename

logger = logging.getLogger(__name__)

SESSION_KEY = "account_request_kept_files"
FIELDS = ("nda_file", "convention_file")
DIRECTORY = "account-requests/kept"
MAX_AGE = 24 * 3600


def drop_name(field):
    """Name of the « Ne pas joindre ce fichier » checkbox of a kept file."""
    return f"{field}-drop"


def _entries(request):
    entries = request.session.get(SESSION_KEY) or {}
    now = time.time()
    return {
        field: entry
        for field, entry in entries.items()
        if field in FIELDS
        and isinstance(entry, dict)
        and str(entry.get("path", "")).startswith(DIRECTORY + "/")
        and ".." not in str(entry["path"]).split("/")
        and now - entry.get("at", 0) < MAX_AGE
    }


def _delete(path):
    try:
        default_storage.delete(path)
    except OSError:
        logger.warning("kept upload %s could not be deleted", path)


def _save(request, entries):
    if entries:
        request.session[SESSION_KEY] = entries
    else:
        request.session.pop(SESSION_KEY, None)


def names(request):
    """{field: original file name} of the files kept for this visitor."""
    return {field: entry["name"] for field, entry in _entries(request).items()}


def merge(request, files):
    """The uploads to validate: those just chosen, else the kept ones (unless dropped)."""
    merged = files.copy()
    entries = _entries(request)
    for field, entry in list(entries.items()):
        if field in files or request.POST.get(drop_name(field)):
            _delete(entry["path"])
            del entries[field]
            continue
        try:
            with default_storage.open(entry["path"], "rb") as handle:
                content = handle.read()
        except (OSError, ValueError):
            del entries[field]  # gone from the disk: the field is simply empty again
            continue
        content_type = mimetypes.guess_type(entry["name"])[0] or "application/octet-stream"
        merged[field] = SimpleUploadedFile(entry["name"], content, content_type)
        merged[field].kept = True
    _save(request, entries)
    return merged


def _sweep():
    """Deletes kept files older than MAX_AGE (visitors who never came back)."""
    try:
        folders, _files = default_storage.listdir(DIRECTORY)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    limit = time.time() - MAX_AGE
    for folder in folders:
        base = f"{DIRECTORY}/{folder}"
        try:
            _subdirs, names_ = default_storage.listdir(base)
            for name in names_:
                path = f"{base}/{name}"
                if default_storage.get_modified_time(path).timestamp() < limit:
                    _delete(path)
        except OSError:
            continue


def remember(request, form):
    """After a refused post: keeps each file that passed its checks, forgets refused ones."""
    entries = _entries(request)
    for field in FIELDS:
        upload = form.files.get(field)
        if field in form.errors:
            if field in entries:
                _delete(entries.pop(field)["path"])
            continue
        if upload is None:
            continue
        if getattr(upload, "kept", False):
            continue  # the kept file itself, validated again
        previous = entries.get(field)
        upload.seek(0)
        name = get_valid_filename(upload.name)[:100] or "fichier"
        path = default_storage.save(f"{DIRECTORY}/{secrets.token_hex(16)}/{name}", upload)
        if previous:
            _delete(previous["path"])
        entries[field] = {"path": path, "name": upload.name[:150], "at": time.time()}
    _sweep()
    _save(request, entries)


def forget(request):
    """After a saved request: the kept copies are no longer needed."""
    for entry in _entries(request).values():
        _delete(entry["path"])
    request.session.pop(SESSION_KEY, None)

"""Strict test settings: fast hashing, mails kept in memory, tasks run immediately."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
_TMP = Path(tempfile.mkdtemp(prefix="ofeli-test-"))
PRIVATE_STORAGE_ROOT = _TMP / "private"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MAIL_EML_DIR = _TMP / "mails"
EXPORT_TMP_DIR = _TMP / "tmp"
LHEO_FLOWS_DIR = Path(os.environ.get("OFELI_LHEO_FLOWS_DIR", _TMP / "flows"))  # set by tests that run commands
BAN_API_URL = "http://127.0.0.1:9"  # nothing listens: tests that need it start a local server
BAN_TIMEOUT = 0.5
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"handlers": [], "level": "WARNING"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # production: see base.py
MAP_TILE_URL = ""  # P3: maps without background tiles (no network in tests)

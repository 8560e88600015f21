"""Settings of a real ``db_worker`` process started by the R3 tests: the test settings with the
database task backend, and the database, files and hook the test gives in the environment."""

import os
from pathlib import Path

from config.settings.test import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
PRIVATE_STORAGE_ROOT = Path(os.environ["OFELI_TEST_PRIVATE_ROOT"])
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EXPORT_TMP_DIR = os.environ["OFELI_TEST_EXPORT_TMP_DIR"]
EXPORT_HEARTBEAT_SECONDS = 1
# the worker-kill test makes the job wait at a controlled point (tests/exports/worker_hooks.py)
EXPORT_RUN_HOOK = "tests.exports.worker_hooks.pause" if os.environ.get("OFELI_TEST_EXPORT_PAUSE") else ""

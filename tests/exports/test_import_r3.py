"""R3: ``import_lheo`` killed with kill -9 in the middle of its transaction leaves the
database as it was; the next run marks the killed run « Interrompu » and imports the file."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from ofeli.exports import importer
from ofeli.exports.lheo import write_offer
from tests.exports.builders import full_published_formation
from tests.factories import published_formation


class _Child:
    """``manage.py import_lheo`` in another process, on the test database."""

    def __init__(self, tmp_path):
        if connection.vendor == "sqlite":
            # The test database lives in memory: the child works on a file copy of it.
            self.sqlite = tmp_path / "db.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(self.sqlite) as target:
                connection.connection.backup(target)
            url = f"sqlite:///{self.sqlite}"
        else:
            self.sqlite = None
            db = connection.settings_dict
            url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
        self.env.pop(importer.PAUSE_ENV, None)

    def start(self, path, pause=None):
        env = dict(self.env, **({importer.PAUSE_ENV: str(pause)} if pause else {}))
        return subprocess.Popen(
            [sys.executable, "manage.py", "import_lheo", str(path), "--source", "partner"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def query(self, sql):
        if self.sqlite:
            with sqlite3.connect(self.sqlite) as db:
                return db.execute(sql).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def state(self):
        return self.query(
            "SELECT (SELECT COUNT(*) FROM formations_formation), (SELECT COUNT(*) FROM formations_formationversion),"
            " (SELECT COUNT(*) FROM formations_session), (SELECT COUNT(*) FROM structures_structure),"
            " (SELECT COUNT(*) FROM structures_contact), (SELECT COUNT(*) FROM exports_importedformation)"
        )[0]

    def runs(self):
        return self.query("SELECT status, finished_at IS NOT NULL, error FROM exports_importrun ORDER BY id")


@pytest.mark.django_db(transaction=True)
def test_r3_import_killed_midway_leaves_the_database_as_before_and_is_marked_interrupted(tmp_path):
    published_formation(sessions=2)
    full_published_formation()
    path = tmp_path / "flux.xml"
    stream = io.BytesIO()
    write_offer(stream, "2.3")
    path.write_bytes(stream.getvalue())
    child = _Child(tmp_path)
    before = child.state()

    process = child.start(path, pause=1)  # stops inside the transaction, after one formation
    marker = tmp_path / "flux.xml.pause"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import never reached its first formation"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert child.state() == before  # nothing of the killed transaction is left
    assert child.runs() == [("running", 0, "")]

    again = child.start(path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    assert "2 formation(s) créée(s)" in out.decode()
    runs = child.runs()
    assert runs[0] == ("interrupted", 1, importer.INTERRUPTED)
    assert runs[1][:2] == ("done", 1)
    formations, versions, sessions, *_ = child.state()
    exported_sessions = path.read_bytes().count(b"<session ")
    assert (formations, versions, sessions) == (before[0] + 2, before[1] + 2, before[2] + exported_sessions)

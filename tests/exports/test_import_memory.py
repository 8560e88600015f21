"""Issue 15 « Import memory » (H3): the validation and reading passes of an LHEO import
stream in flat memory whatever the file holds — here 200 MB of comments before the first
<formation> — measured as the peak memory of a separate process."""

import io
import subprocess
import sys

import pytest
from django.conf import settings

from ofeli.exports.lheo import write_offer
from tests.factories import published_formation

pytestmark = pytest.mark.django_db

PEAK = """
import os, resource, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django
django.setup()
from ofeli.exports.importer import Reader, check_file, iter_formations, parse_formation
path = sys.argv[1]
version = check_file(path)  # validation against the schema, streamed
reader = Reader(version)
count = sum(1 for element, _ in iter_formations(path, version) if element is not None and parse_formation(reader, element))
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _peak(path):
    out = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], cwd=settings.BASE_DIR, capture_output=True, check=True, timeout=600
    ).stdout.split()
    return int(out[0]), int(out[1])  # formations read, peak memory in MB


def test_h3_200_mb_of_comments_before_the_first_formation_take_no_memory(tmp_path):
    published_formation(sessions=2)
    stream = io.BytesIO()
    write_offer(stream, "2.3")
    data = stream.getvalue()
    head, rest = data.split(b"<offres>", 1)
    small = tmp_path / "petit.xml"
    small.write_bytes(data)
    big = tmp_path / "commentaires.xml"
    comment = b"<!-- " + b"commentaire " * 87381 + b"-->\n"  # about 1 MB
    with big.open("wb") as out:
        out.write(head + b"<offres>")
        while out.tell() < 200 * 1024 * 1024:
            out.write(comment)
        out.write(rest)
    try:
        assert big.stat().st_size > 200 * 1024 * 1024
        read_small, baseline = _peak(small)
        read_big, peak = _peak(big)
    finally:
        big.unlink()  # do not keep 200 MB in pytest's temporary folders
    assert read_small == read_big == 1
    assert peak - baseline < 40, f"{peak} MB with 200 MB of comments, {baseline} MB without"

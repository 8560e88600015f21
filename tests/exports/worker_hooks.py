"""Hook of the R3 worker-kill tests, run by the real worker inside ``run_export``: it tells the
test that the attempt holds its lease and its temporary file, then waits to be killed."""

import os
import time
from pathlib import Path


def pause(job):
    Path(os.environ["OFELI_TEST_EXPORT_PAUSE"]).write_text(str(job.pk))
    deadline = time.monotonic() + 120  # a forgotten process still ends
    while time.monotonic() < deadline:
        time.sleep(0.1)

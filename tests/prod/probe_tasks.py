"""A task for the S4 worker test: it appends one JSON line (task number, worker pid) to a
file, so that the test can count how many times each task ran and by which process."""

import json
import os
import time

from django_tasks import task


@task()
def record_run(path, n):
    time.sleep(0.02)  # long enough for both workers to be polling at once
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"n": n, "pid": os.getpid()}) + "\n")
    return n

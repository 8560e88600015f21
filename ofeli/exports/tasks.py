"""Background tasks of the exports app (django-tasks; worker: ``manage.py db_worker``).

- ``build_export``: the file of an « Exporter » request (D5), enqueued by the search screen.
- ``purge_exports``: deletes export files older than 7 days (run daily).
- ``publish_flows``: the nightly LHEO full and delta flows for partners (H2).
- ``check_links``: the web-link checker (I2).

django-tasks has no scheduler: the periodic ones are enqueued by cron through their
management commands (``purge_exports``, ``publish_lheo_flows``, ``check_links``), or run by
those commands directly; see README.md.
"""

from django_tasks import task


@task()
def build_export(job_id):
    from .jobs import run_export

    return run_export(job_id)


@task()
def purge_exports():
    from .jobs import purge_exports as purge

    return purge()


@task()
def publish_flows(versions=None):
    from .flows import publish_flows as publish

    runs = publish(versions)
    return [run.pk for run in runs]


@task()
def check_links():
    from .linkcheck import check_links as check

    return check().as_dict()

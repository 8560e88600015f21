"""Background task of the mails (worker: ``manage.py db_worker``)."""

from django_tasks import task


@task()
def deliver_mails(mail_ids):
    from .outbox import deliver

    return deliver(mail_ids)

"""``manage.py purge_exports``: delete export files (D5) older than 7 days. Run daily (cron),
or enqueue the ``ofeli.exports.tasks.purge_exports`` task with ``--enqueue``."""

from django.core.management.base import BaseCommand

from ofeli.exports.jobs import purge_exports


class Command(BaseCommand):
    help = "Supprime les fichiers d'export (Excel, LHEO) de plus de 7 jours."

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="confier la purge au worker des tâches")

    def handle(self, *args, **options):
        if options["enqueue"]:
            from ofeli.exports.tasks import purge_exports as task

            result = task.enqueue()
            self.stdout.write(f"Purge confiée au worker (tâche {result.id}).")
            return
        deleted = purge_exports()
        self.stdout.write(f"{deleted} export(s) expiré(s) supprimé(s).")

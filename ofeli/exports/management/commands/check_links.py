"""``manage.py check_links``: the web-link checker (SPEC I2), run periodically (cron), or
enqueued for the task worker with ``--enqueue``."""

from django.core.management.base import BaseCommand, CommandError

from ofeli.exports.linkcheck import check_links


class Command(BaseCommand):
    help = "Vérifie les liens des sites internet des formations et des structures (« Erreur liens site internet »)."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, help="sites interrogés en parallèle (8 par défaut)")
        parser.add_argument("--timeout", type=float, help="délai d'attente d'une réponse en secondes (10 par défaut)")
        parser.add_argument("--delay", type=float, help="pause entre deux requêtes vers un même site (secondes)")
        parser.add_argument("--enqueue", action="store_true", help="confier la vérification au worker des tâches")

    def handle(self, *args, **options):
        if options["enqueue"]:
            from ofeli.exports.tasks import check_links as task

            result = task.enqueue()
            self.stdout.write(f"Vérification des liens confiée au worker (tâche {result.id}).")
            return
        for name in ("concurrency", "timeout"):
            if options[name] is not None and options[name] <= 0:
                raise CommandError(f"--{name} doit être positif.")
        report = check_links(concurrency=options["concurrency"], timeout=options["timeout"], delay=options["delay"])
        self.stdout.write(
            f"{report.urls} adresse(s) vérifiée(s), {report.errors} en erreur : "
            f"{report.formations_in_error}/{report.formations_checked} formation(s) et "
            f"{report.structures_in_error}/{report.structures_checked} structure(s) en erreur."
        )

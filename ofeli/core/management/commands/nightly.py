"""The nightly jobs, in order, for one cron line (« 15 2 * * * manage.py nightly »).

Each job runs even when an earlier one failed; the command exits non-zero if any failed,
so that the scheduler reports it. A failed flow run leaves the previous flows published."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

JOBS = [
    ("rebuild_public_index", "index du site public (retire les sessions terminées)"),
    ("publish_lheo_flows", "flux LHEO complets et différentiels des partenaires"),
    ("purge_exports", "fichiers « Exporter » de plus de 7 jours"),
]
WEEKLY = [("check_links", "liens des sites internet des formations et structures")]


class Command(BaseCommand):
    help = "Travaux de nuit : index public, flux partenaires, purge des exports (et liens avec --weekly)."

    def add_arguments(self, parser):
        parser.add_argument("--weekly", action="store_true", help="vérifier aussi les liens des sites internet")

    def handle(self, *args, **options):
        jobs = JOBS + (WEEKLY if options["weekly"] else [])
        failed = []
        for name, label in jobs:
            self.stdout.write(f"— {name} : {label}")
            try:
                call_command(name, stdout=self.stdout, stderr=self.stderr)
            except Exception as error:  # noqa: BLE001 - every job runs, failures are reported at the end
                failed.append(name)
                self.stderr.write(f"ÉCHEC de {name} : {error}")
        if failed:
            raise CommandError(f"Travaux en échec : {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("Travaux de nuit terminés."))

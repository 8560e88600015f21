"""The nightly jobs, in order, for one cron line (« 15 2 * * * manage.py nightly »).

Each job runs even when an earlier one failed; the command exits non-zero if any failed,
so that the scheduler reports it. A failed flow run leaves the previous flows published.

Only one ``nightly`` runs at a time, whatever the number of machines (S4): the command takes
the database lock « nightly » first; a second one started meanwhile exits with a message.
Every run is recorded (``NightlyRun``): the health endpoint reports the age of the last
successful one."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ofeli.core.locks import LockHeld, acquire
from ofeli.core.models import NightlyRun

LOCK_NAME = "nightly"

JOBS = [
    ("rebuild_public_index", "index du site public (retire les sessions terminées)"),
    ("sync_api_offer", "modèle de lecture de l'API partenaires (sessions terminées, fiches des organismes)"),
    ("watch_certifications", "veille des certifications (fichiers France Compétences déposés, sessions à vérifier)"),
    ("publish_lheo_flows", "flux LHEO complets et différentiels des partenaires"),
    ("purge_exports", "fichiers « Exporter » de plus de 7 jours"),
    ("send_alerts", "alertes du site public : nouvelles sessions par e-mail, alertes non confirmées effacées"),
    ("send_mails", "mails en attente ou en échec remis en file d'envoi"),
]
WEEKLY = [("check_links", "liens des sites internet des formations et structures")]


class Command(BaseCommand):
    help = "Travaux de nuit : index public, flux partenaires, purge des exports (et liens avec --weekly)."

    def add_arguments(self, parser):
        parser.add_argument("--weekly", action="store_true", help="vérifier aussi les liens des sites internet")

    def handle(self, *args, **options):
        try:
            lock = acquire(LOCK_NAME, settings.NIGHTLY_LOCK_TTL)
        except LockHeld as held:
            raise CommandError(f"Travaux de nuit non lancés : {held}.") from None
        with lock:
            # Holding the lock, any run still « en cours » is one whose process was killed.
            NightlyRun.objects.filter(status=NightlyRun.Status.RUNNING).update(
                status=NightlyRun.Status.FAILED, finished_at=timezone.now(), failed_jobs="interrompu (processus arrêté)"
            )
            run = NightlyRun.objects.create(started_at=timezone.now(), weekly=options["weekly"], holder=lock.holder)
            failed, completed = [], False
            try:
                failed = self.run_jobs(JOBS + (WEEKLY if options["weekly"] else []), lock)
                completed = True
            finally:  # an exception (KeyboardInterrupt...) still closes the run as failed
                run.finished_at = timezone.now()
                run.status = NightlyRun.Status.SUCCEEDED if completed and not failed else NightlyRun.Status.FAILED
                run.failed_jobs = ", ".join(failed) if completed else "interrompu"
                run.save(update_fields=["finished_at", "status", "failed_jobs"])
        if failed:
            raise CommandError(f"Travaux en échec : {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("Travaux de nuit terminés."))

    def run_jobs(self, jobs, lock):
        failed = []
        for name, label in jobs:
            lock.refresh()
            self.stdout.write(f"— {name} : {label}")
            try:
                call_command(name, stdout=self.stdout, stderr=self.stderr)
            except Exception as error:  # noqa: BLE001 - every job runs, failures are reported at the end
                failed.append(name)
                self.stderr.write(f"ÉCHEC de {name} : {error}")
        return failed

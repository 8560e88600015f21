import time

from django.core.management.base import BaseCommand

from ofeli.public.indexing import rebuild
from ofeli.public.models import PublishedFormation


class Command(BaseCommand):
    help = (
        "Reconstruit l'index du site public (formations et sessions publiées) à partir de l'offre validée. "
        "À lancer après un chargement en masse (load_demo, generate_offer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--formation", action="append", type=int, help="identifiant d'une formation (répétable)")

    def handle(self, *args, formation=None, **options):
        started = time.monotonic()
        sessions = rebuild(formation)
        self.stdout.write(
            f"Index du site public : {PublishedFormation.objects.count()} formations, {sessions} sessions "
            f"reconstruites en {time.monotonic() - started:.1f} s."
        )

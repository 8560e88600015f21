from django.core.management.base import BaseCommand

from ofeli.api.offer import sync


class Command(BaseCommand):
    help = "Rebuild the partner API's read model of the published offer (J1); run by the nightly job."

    def handle(self, *args, **options):
        changed, deleted = sync()
        self.stdout.write(f"API : {changed} entrées modifiées, {deleted} retirées.")

from django.core.management.base import BaseCommand

from ofeli.public.communes import DATA_FILE, load_communes


class Command(BaseCommand):
    help = "Recharge les communes de la région (recherche par lieu du site public) depuis ofeli/public/data/."

    def handle(self, *args, **options):
        count = load_communes()
        self.stdout.write(f"{count} communes chargées depuis {DATA_FILE.name}.")

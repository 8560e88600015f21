"""``python manage.py load_demo``: the referentials, then the demo data of
``ofeli.demo.loader`` (structures, accounts, formations in every workflow state...).
Running it again does nothing more once the demo structure 00079P exists."""

from django.core.management.base import BaseCommand

from ofeli.demo.loader import load_demo


class Command(BaseCommand):
    help = "Charge les référentiels puis les données de démonstration (sans rien dupliquer)."

    def handle(self, *args, **options):
        summary = load_demo()
        for line in summary.lines:
            self.stdout.write(line)
        if summary.created:
            self.stdout.write(self.style.SUCCESS("Données de démonstration chargées."))

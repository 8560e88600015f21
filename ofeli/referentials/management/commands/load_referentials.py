"""``python manage.py load_referentials``: load (or refresh) the reference tables shipped
in ``ofeli/referentials/data`` (structure types and states, financeurs, dispositifs,
labels, certifications and their blocs). Safe to run again: nothing is duplicated."""

from django.core.management.base import BaseCommand

from ofeli.referentials.loading import load_referentials


class Command(BaseCommand):
    help = "Charge ou met à jour les référentiels (types et états de structure, financeurs, dispositifs, labels, certifications)."

    def handle(self, *args, **options):
        result = load_referentials()
        for line in result.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Référentiels chargés."))

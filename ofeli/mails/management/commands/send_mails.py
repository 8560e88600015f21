from django.core.management.base import BaseCommand

from ofeli.mails.outbox import purge_old, retry_due, unsent


class Command(BaseCommand):
    help = "Renvoie les mails en attente dont l'heure est venue (à lancer par cron toutes les 5 minutes)."

    def handle(self, *args, **options):
        count = retry_due()
        purge_old()
        self.stdout.write(
            f"{count} mail{'s' if count > 1 else ''} remis en file d'envoi ; {unsent().count()} non envoyé(s)."
        )

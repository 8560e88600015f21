from django.core.management.base import BaseCommand

from ofeli.alerts.digest import run


class Command(BaseCommand):
    help = (
        "Alertes du site public : mail des nouvelles sessions de chaque alerte confirmée, "
        "effacement des alertes non confirmées."
    )

    def handle(self, *args, **options):
        digest = run()
        self.stdout.write(
            f"Alertes : {digest.new_sessions} session(s) nouvellement publiée(s), {digest.alerts} alerte(s) examinée(s), "
            f"{digest.mails} mail(s) envoyé(s), {digest.purged} alerte(s) non confirmée(s) effacée(s)."
        )

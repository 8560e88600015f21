"""``manage.py partner_token SLUG [--name NAME]``: create a partner of the LHEO flows, or give
it a new token (the previous one stops working). The token is printed once."""

from django.core.management.base import BaseCommand

from ofeli.exports.models import Partner


class Command(BaseCommand):
    help = "Crée un partenaire des flux LHEO ou lui donne un nouveau jeton (affiché une seule fois)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="identifiant du partenaire (ex. france-travail)")
        parser.add_argument("--name", help="nom du partenaire (à la création)")

    def handle(self, *args, **options):
        partner = Partner.objects.filter(slug=options["slug"]).first()
        created = partner is None
        if created:
            partner = Partner(slug=options["slug"], name=options["name"] or options["slug"])
        token = partner.new_token()
        partner.is_active = True
        partner.save()
        action = "créé" if created else "nouveau jeton"
        self.stderr.write(f"Partenaire « {partner.name} » : {action}. Jeton (affiché une seule fois) :")
        self.stdout.write(token)

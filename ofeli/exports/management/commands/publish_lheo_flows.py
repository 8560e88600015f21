"""``manage.py publish_lheo_flows``: the nightly partner flows (SPEC H2), full and delta, for
each LHEO version, with their manifest. Run it every night from cron (or enqueue it).

Exit status: 0 every flow published; 1 a flow failed (the previous one stays in place)."""

from django.core.management.base import BaseCommand, CommandError

from ofeli.exports.flows import VERSIONS, publish_flow
from ofeli.exports.models import FlowStatus


class Command(BaseCommand):
    help = "Produit les flux LHEO des partenaires : flux complet, flux des modifications et manifeste."

    def add_arguments(self, parser):
        parser.add_argument(
            "--lheo-version",
            action="append",
            choices=VERSIONS,
            help="version LHEO (répétable ; par défaut 2.2 et 2.3)",
        )
        parser.add_argument("--no-validate", action="store_true", help="ne pas valider les flux contre le XSD")
        parser.add_argument("--enqueue", action="store_true", help="confier la production au worker des tâches")

    def handle(self, *args, **options):
        versions = options["lheo_version"] or list(VERSIONS)
        if options["enqueue"]:
            from ofeli.exports.tasks import publish_flows

            result = publish_flows.enqueue(versions)
            self.stdout.write(f"Production des flux confiée au worker (tâche {result.id}).")
            return
        failed = []
        for version in versions:
            run = publish_flow(version, validate=not options["no_validate"])
            if run.status == FlowStatus.DONE:
                delta = run.delta_file or "pas de fichier (aucune session nouvelle ou modifiée)"
                self.stdout.write(
                    f"LHEO {version} : {run.formations} formations, {run.sessions} sessions dans {run.full_file} ; "
                    f"modifications : {run.new_sessions} nouvelles, {run.modified_sessions} modifiées, "
                    f"{run.withdrawn_sessions} retirées ({delta})."
                )
            else:
                failed.append(version)
                self.stderr.write(f"LHEO {version} : échec, le flux précédent reste en place. {run.error}")
        if failed:
            raise CommandError(f"Flux non publiés : {', '.join(failed)}.", returncode=1)

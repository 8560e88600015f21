"""``python manage.py import_certifications FILE``: import the France Compétences open-data
export (RNCP and Répertoire spécifique, XML) into the certifications referential.

The whole file is checked before anything is written, then written in one transaction: a
malformed file imports nothing. Importing the same file again changes nothing; a newer
export updates the certifications in place (see ``ofeli/referentials/importers.py``)."""

from django.core.management.base import BaseCommand, CommandError

from ofeli.referentials.importers import CertificationImportError, import_certifications


class Command(BaseCommand):
    help = "Importe l'export XML France Compétences (RNCP et Répertoire spécifique) dans le référentiel des certifications."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier XML de l'export France Compétences (racine FICHES).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Lit et vérifie le fichier, calcule les changements, puis n'enregistre rien.",
        )

    def handle(self, *args, file, dry_run, **options):
        try:
            result = import_certifications(file, dry_run=dry_run)
        except CertificationImportError as error:
            raise CommandError(str(error)) from error
        for line in result.lines():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(self.style.WARNING("Simulation : rien n'a été enregistré."))
        else:
            self.stdout.write(self.style.SUCCESS("Certifications importées."))

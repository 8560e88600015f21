"""``manage.py watch_certifications`` (nightly, Q1): import the France Compétences exports
dropped in ``CERTIFICATIONS_INBOX`` (oldest first; each file moved to ``done/`` or, when it
is refused, to ``failed/`` with the reason printed), then flag the published sessions whose
certification is inactive or ends before them, and resolve the flags whose cause is gone."""

import shutil

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ofeli.quality.watch import watch
from ofeli.referentials.importers import CertificationImportError, import_certifications


class Command(BaseCommand):
    help = "Veille des certifications : import des fichiers France Compétences déposés, puis signalement des sessions."

    def handle(self, *args, **options):
        inbox = settings.CERTIFICATIONS_INBOX
        failed = []
        if inbox.is_dir():
            for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() == ".xml"):
                try:
                    result = import_certifications(path)
                except CertificationImportError as error:
                    failed.append(path.name)
                    self._move(path, "failed")
                    self.stderr.write(f"Fichier {path.name} refusé : {error}")
                    continue
                self._move(path, "done")
                for line in result.lines():
                    self.stdout.write(f"{path.name} : {line}")
        raised, resolved = watch()
        self.stdout.write(
            f"Veille des certifications : {raised} nouveau(x) signalement(s), {resolved} signalement(s) levé(s)."
        )
        if failed:
            raise CommandError(f"Fichiers de certifications refusés : {', '.join(failed)}")

    @staticmethod
    def _move(path, folder):
        target = path.parent / folder
        target.mkdir(exist_ok=True)
        shutil.move(str(path), str(target / path.name))

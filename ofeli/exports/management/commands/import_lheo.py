"""``manage.py import_lheo FILE --source NAME``: load a partner's LHEO 2.2 or 2.3 flow as
read-only offer of that source (SPEC H3). All or nothing: a refused file changes nothing.

Exit status: 0 imported (or nothing to change); 1 file refused or import failed (the reason is
printed, nothing was imported); 2 imported, with errors in the report (e.g. duplicate numéros).
A run killed before its end (kill -9) imported nothing; the next run marks it « Interrompu »."""

from django.core.management.base import BaseCommand, CommandError

from ofeli.exports.importer import SOURCES, ImportRefused, import_lheo


class Command(BaseCommand):
    help = "Importe un flux LHEO 2.2 ou 2.3 d'un partenaire (Région, France Travail...) comme offre en lecture seule."

    def add_arguments(self, parser):
        parser.add_argument("file", help="fichier LHEO (XML)")
        parser.add_argument("--source", required=True, choices=sorted(SOURCES), help="source du flux")
        parser.add_argument(
            "--partiel",
            action="store_true",
            help="flux partiel (modifications) : les sessions absentes ne sont pas archivées",
        )

    def handle(self, *args, **options):
        try:
            report = import_lheo(options["file"], options["source"], full=not options["partiel"])
        except ImportRefused as exc:
            raise CommandError(f"Fichier refusé, rien n'a été importé : {exc}", returncode=1) from exc
        for line in report.warnings:
            self.stderr.write(f"Avertissement : {line}")
        for line in report.errors:
            self.stderr.write(f"Erreur : {line}")
        if options["verbosity"] >= 2 and report.timings:
            t = report.timings
            self.stdout.write(
                f"Durées : lecture et écriture {t['import']} s (CPU {t['import_cpu']} s), "
                f"puis index public et API {t['apres_commit']} s (CPU {t['apres_commit_cpu']} s)."
            )
        self.stdout.write(
            f"Flux LHEO {report.version} ({options['source']}) : "
            f"{report.formations_created} formation(s) créée(s), {report.formations_updated} modifiée(s), "
            f"{report.formations_unchanged} inchangée(s), {report.formations_archived} archivée(s), "
            f"{report.formations_reactivated} réactivée(s) ; {report.sessions_created} session(s) créée(s), "
            f"{report.sessions_archived} archivée(s), {report.sessions_reactivated} réactivée(s) ; "
            f"{report.structures_created} organisme(s) créé(s)."
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} erreur(s) dans le fichier (voir ci-dessus).", returncode=2)

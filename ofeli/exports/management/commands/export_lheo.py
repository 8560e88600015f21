"""``manage.py export_lheo``: the LHEO flow of the published offer (SPEC H2).

The document is written to a temporary file next to ``--output``, validated against the
schema, then renamed over ``--output`` in one step: a failed or invalid run never leaves a
half-written or invalid file, and the previous file stays as it was.

Exit status: 0 written; 1 error or invalid document; 3 nothing to export (no file written).
"""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ofeli.exports.files import replacing
from ofeli.exports.lheo import DEFAULT_CHUNK_SIZE, VERSIONS, EmptyOffer, write_offer
from ofeli.exports.validation import validate_lheo

EXIT_EMPTY = 3
MAX_PRINTED_ERRORS = 20


def parse_since(value):
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since : date invalide « {value} » (attendu : AAAA-MM-JJ ou AAAA-MM-JJTHH:MM[:SS]).")
        moment = datetime.datetime.combine(day, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Exporte l'offre de formation publiée au format LHEO 2.2 ou 2.3 (fichier validé contre le schéma)."

    def add_arguments(self, parser):
        parser.add_argument("--lheo-version", choices=VERSIONS, default="2.3", help="version LHEO (2.3 par défaut)")
        parser.add_argument("--output", required=True, help="fichier XML à écrire")
        parser.add_argument(
            "--since",
            help="seulement les formations dont le contenu a changé depuis cette date (horodatage de modification)",
        )
        parser.add_argument("--no-validate", action="store_true", help="ne pas valider le fichier contre le XSD")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"formations lues par lot ({DEFAULT_CHUNK_SIZE} par défaut)",
        )

    def handle(self, *args, **options):
        version = options["lheo_version"]
        output = Path(options["output"])
        since = parse_since(options["since"]) if options["since"] else None
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size doit être un entier positif.")
        if not output.parent.is_dir():
            raise CommandError(f"Le dossier {output.parent} n'existe pas.")
        try:
            with replacing(output) as stream:  # renamed over --output only once valid
                stats = write_offer(stream, version, since=since, chunk_size=options["chunk_size"])
                if not options["no_validate"]:
                    stream.flush()
                    errors = validate_lheo(stream.name, version)
                    if errors:
                        shown = "\n".join(errors[:MAX_PRINTED_ERRORS])
                        raise CommandError(
                            f"Le document LHEO {version} produit n'est pas valide ({len(errors)} erreur(s)) ; "
                            f"{output} n'a pas été modifié.\n{shown}"
                        )
        except EmptyOffer as exc:
            raise CommandError(f"{exc} {output} n'a pas été modifié.", returncode=EXIT_EMPTY) from exc
        for line in stats.warnings:
            self.stderr.write(f"Avertissement : {line}")
        if stats.truncated:
            detail = ", ".join(f"{tag} : {count}" for tag, count in sorted(stats.truncated.items()))
            self.stderr.write(f"Textes trop longs coupés pour respecter le schéma ({detail}).")
        self.stdout.write(
            f"LHEO {version} : {stats.formations} formations, {stats.actions} actions, "
            f"{stats.sessions} sessions écrites dans {output}."
        )

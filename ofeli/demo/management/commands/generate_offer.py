"""``manage.py generate_offer``: a realistic, published training offer for demos and load tests."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from ofeli.demo.generator import DEFAULT_CHUNK_SESSIONS, generate_offer


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today expects a date YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        "Generate published structures, formations and sessions (deterministic for a given seed and --today). "
        "Creates --structures structures, each with --formations formations (per structure), each with "
        "--sessions-per-formation sessions: structures × formations × sessions sessions in all. "
        "Running it again adds more data (references come from the counters); with the same --seed the new "
        "structures repeat the same names and SIRETs, so pass another --seed for different ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--structures", type=int, default=10, help="Number of structures (default 10).")
        parser.add_argument(
            "--formations",
            type=int,
            default=5,
            help="Number of formations PER STRUCTURE (default 5); total formations = structures × formations.",
        )
        parser.add_argument(
            "--sessions-per-formation",
            type=int,
            default=3,
            help="Number of sessions of each formation (default 3, at least 1).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="Anchor date YYYY-MM-DD for session and publication dates (default: today). Fix it to get "
            "identical data from one day to the next.",
        )
        parser.add_argument(
            "--chunk-sessions",
            type=int,
            default=DEFAULT_CHUNK_SESSIONS,
            help=f"About how many sessions are written per transaction (default {DEFAULT_CHUNK_SESSIONS}).",
        )
        parser.add_argument(
            "--no-index",
            action="store_true",
            help="Do not rebuild the public site's search index afterwards (rebuild_public_index does it).",
        )

    def handle(self, *args, **options):
        if isinstance(options["today"], str):  # call_command(today="2026-11-26") skips the argument type
            options["today"] = _date(options["today"])
        for name in ("structures", "formations"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        if options["sessions_per_formation"] < 1:
            raise CommandError("--sessions-per-formation must be at least 1 (a published formation has sessions).")
        if options["chunk_sessions"] < 1:
            raise CommandError("--chunk-sessions must be at least 1.")
        verbosity = options["verbosity"]

        def progress(done, total, counts, elapsed):
            if verbosity >= 1:
                self.stdout.write(
                    f"[{done}/{total} structures] {counts['formations']} formations, "
                    f"{counts['sessions']} sessions – {elapsed:.1f} s"
                )

        counts = generate_offer(
            structures=options["structures"],
            formations_per_structure=options["formations"],
            sessions_per_formation=options["sessions_per_formation"],
            seed=options["seed"],
            today=options["today"],
            chunk_sessions=options["chunk_sessions"],
            progress=progress,
        )
        elapsed = counts.pop("elapsed_seconds", 0)
        if not options["no_index"]:
            from ofeli.public.indexing import rebuild

            # Bulk inserts send no signal: the public search index is rebuilt once here.
            rebuild()
        lines = [f"  {name}: {value}" for name, value in sorted(counts.items())]
        self.stdout.write(self.style.SUCCESS(f"Offer generated in {elapsed:.1f} s:"))
        self.stdout.write("\n".join(lines))

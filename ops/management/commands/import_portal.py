"""manage.py import_portal FILE: restore an export into an empty, migrated database."""

from django.core.management.base import BaseCommand, CommandError

from ops.portability import ImportRefused, import_lines


class Command(BaseCommand):
    help = "Restore an export_portal file into an empty database (refuses a non-empty one)."

    def add_arguments(self, parser):
        parser.add_argument("input", help="the export file (- = stdin)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore a file that is unsigned or whose signature does not match",
        )
        parser.add_argument(
            "--superusers", action="store_true", help="restore the superusers the file names"
        )

    def handle(self, *args, input, force=False, superusers=False, **options):
        import sys

        stream = sys.stdin if input == "-" else open(input, encoding="utf-8")  # noqa: SIM115
        try:
            counts, warnings = import_lines(stream, force=force, superusers=superusers)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if stream is not sys.stdin:
                stream.close()
        for warning in warnings:
            self.stderr.write(self.style.WARNING(warning))
        total = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(f"Restored {total} records."))
        for label, n in sorted(counts.items()):
            self.stdout.write(f"  {label}: {n}")

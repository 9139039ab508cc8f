"""manage.py import_portal FILE: restore an export into an empty, migrated database."""

from django.core.management.base import BaseCommand, CommandError

from ops.portability import ImportRefused, import_lines


class Command(BaseCommand):
    help = "Restore an export_portal file into an empty database (refuses a non-empty one)."

    def add_arguments(self, parser):
        parser.add_argument("input", help="the export file (- = stdin)")

    def handle(self, *args, input, **options):
        import sys

        stream = sys.stdin if input == "-" else open(input, encoding="utf-8")  # noqa: SIM115
        try:
            counts = import_lines(stream)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if stream is not sys.stdin:
                stream.close()
        total = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(f"Restored {total} records."))
        for label, n in sorted(counts.items()):
            self.stdout.write(f"  {label}: {n}")

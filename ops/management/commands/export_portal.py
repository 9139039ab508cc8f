"""manage.py export_portal [--output FILE]: every record the portal owns, as JSON lines."""

from django.core.management.base import BaseCommand

from ops.portability import export_lines


class Command(BaseCommand):
    help = "Write every record the portal owns (not the GitHub cache) as JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="file to write (- = stdout)")

    def handle(self, *args, output="-", **options):
        if output == "-":
            for line in export_lines():
                self.stdout.write(line)
            return
        records = -1  # the header
        with open(output, "w", encoding="utf-8") as stream:
            for line in export_lines():
                stream.write(line + "\n")
                records += 1
        self.stderr.write(f"Exported {records} records to {output}.")

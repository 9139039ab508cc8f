from django.core.management.base import BaseCommand, CommandError

from adherence.catalog import BEGIN, DOCUMENT, document_with_catalog, markdown


class Command(BaseCommand):
    help = (
        "Print the rule catalog as docs/policy/rules.md shows it; --write updates the "
        "document, --check fails when it is out of date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args, write: bool, check: bool, **options):
        if not (write or check):
            self.stdout.write(markdown())
            return
        text = DOCUMENT.read_text()
        if BEGIN not in text:
            raise CommandError(f"{DOCUMENT.name} has no catalog marker: {BEGIN}")
        current = document_with_catalog(text)
        if check and current != text:
            raise CommandError(
                f"{DOCUMENT.name} is out of date with adherence/rules.toml: run "
                "`manage.py rule_catalog --write`."
            )
        if write:
            DOCUMENT.write_text(current)

"""Ingest a results file (JSON or JUnit XML) through the same code path as the upload API."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from convergence.models import ConvergenceRun
from convergence.parsers import ResultsError, parse_results
from convergence.services import results_ingest


class Command(BaseCommand):
    help = "Upload convergence results from a JSON or JUnit XML file."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--internal", action="store_true", help="Google-internal results")

    def handle(self, path, internal, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            records = parse_results(file.read_bytes(), filename=file.name)
            result = results_ingest(records, ConvergenceRun.Source.COMMAND, internal=internal)
        except ResultsError as error:
            raise CommandError(f"Rejected, nothing written: {error}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.created} runs stored, {result.duplicates} already known; tests: {', '.join(result.tests)}"
            )
        )

"""Load the demo data of every app, in dependency order; safe to run again.

Each app that has demo data provides ``<app>/demo.py`` with ``load(stdout) -> dict``.
"""

import importlib

from django.core.management.base import BaseCommand

DEMO_MODULES = ["techniques", "ci_status", "convergence", "reviews", "lifecycle", "adherence"]


class Command(BaseCommand):
    help = "Load the demo data (the real toolkit's techniques, sync, CI, reviews, gaps)."

    def handle(self, *args, **options):
        for app in DEMO_MODULES:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as error:
                if error.name in {app, f"{app}.demo"}:
                    continue
                raise
            module.load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

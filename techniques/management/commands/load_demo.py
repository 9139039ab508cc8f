"""Load the demo data of every app, in dependency order; safe to run again.

Each app that has demo data provides ``<app>/demo.py`` with ``load(stdout) -> dict``.
"""

import importlib

from django.core.management.base import BaseCommand

DEMO_MODULES = [
    "techniques",
    "ci_status",
    "convergence",
    "reviews",
    "lifecycle",
    "github_integration",
    "adherence",
]


class Command(BaseCommand):
    help = "Load the demo data (the real toolkit's techniques, sync, CI, reviews, gaps)."

    def handle(self, *args, **options):
        # Demo gaps and reviews would email every owner group: keep them in memory and
        # say how many there were, instead of printing them all.
        from django.core import mail
        from django.test.utils import override_settings

        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            mail.outbox = []
            self._load()
            self.stdout.write(
                f"({len(mail.outbox)} notification emails held back during the demo load)"
            )

    def _load(self):
        for app in DEMO_MODULES:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as error:
                if error.name in {app, f"{app}.demo"}:
                    continue
                raise
            module.load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

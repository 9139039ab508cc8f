"""manage.py sync_github [--repo owner/name] [--resource issues ...]: the same sync the
worker runs, in the foreground, with a progress bar and a summary."""

import sys

from django.core.management.base import BaseCommand, CommandError

from ci_status import services
from github import GitHubClient, GitHubError


class Command(BaseCommand):
    help = "Sync a GitHub repository now (issues, PRs, comments, labels, releases, CI runs)."

    def add_arguments(self, parser):
        parser.add_argument("--repo", help="owner/name (default: settings.GITHUB_REPOSITORY)")
        parser.add_argument(
            "--resource", action="append", choices=services.RESOURCES, help="repeatable"
        )
        parser.add_argument("--api-url", help="API base URL (default: GITHUB_API_URL)")
        parser.add_argument("--no-evaluate", action="store_true", help="skip adherence")

    def handle(self, *args, **options):
        try:
            repository = services.repository_get_or_create(options["repo"])
            client = GitHubClient(repository.full_name, base_url=options["api_url"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        tty = sys.stdout.isatty()

        def progress(run):
            p = run.progress
            pages, last = p.get("pages", 0), p.get("last_page")
            bar = ""
            if last:
                done = min(pages / last, 1.0)
                bar = "[" + "#" * int(done * 30) + "-" * (30 - int(done * 30)) + f"] {pages}/{last}"
            line = f"{p.get('resource', ''):<9} {bar or f'{pages} pages'} {run.requests} requests"
            if tty:
                self.stdout.write("\r" + line.ljust(78), ending="")
                self.stdout.flush()

        try:
            run = services.repository_sync(
                repository,
                resources=options["resource"],
                client=client,
                trigger="command",
                on_progress=progress,
                evaluate=not options["no_evaluate"],
            )
        except services.SyncLocked as error:
            raise CommandError(str(error)) from error
        except GitHubError as error:  # transient, recorded on the SyncRun
            raise CommandError(f"Sync failed: {error}") from error
        if tty:
            self.stdout.write("")
        self.stdout.write(
            f"{repository.full_name}: {run.get_status_display()} in {run.duration_seconds} s; "
            f"{run.requests} requests ({run.not_modified} not modified), "
            f"{run.rows_written} rows written, rate limit left: {run.rate_limit_remaining}"
        )
        for resource, entry in run.per_resource.items():
            self.stdout.write(
                f"  {resource:<9} {entry['requests']:>5} requests {entry['304']:>4} not modified "
                f"{entry['rows']:>7} rows"
            )
        if run.error:
            raise CommandError(run.error)

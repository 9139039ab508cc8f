"""manage.py bootstrap_repository owner/name [--api-url URL]

Proposes techniques (from technique:* labels), their paths (CODEOWNERS) and owner groups
(teams or owners named in CODEOWNERS); staff confirm them at /github/bootstrap/.
"""

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from github import GitHubClient, GitHubError
from github_integration.bootstrap import bootstrap_propose


class Command(BaseCommand):
    help = "Propose techniques and owner groups from a GitHub repository's labels and CODEOWNERS."

    def add_arguments(self, parser):
        parser.add_argument("repository", help="owner/name")
        parser.add_argument(
            "--api-url", default=None, help="GitHub API base (default: GITHUB_API_URL)"
        )

    def handle(self, *args, repository, api_url, **options):
        try:
            client = GitHubClient(repository, base_url=api_url)
        except ValueError as error:
            raise CommandError(str(error)) from error
        try:
            summary = bootstrap_propose(repository, client)
        except GitHubError as error:
            raise CommandError(f"Could not read {repository}: {error}") from error
        for proposal in summary.proposed:
            self.stdout.write(f"proposed  {proposal.get_kind_display():12} {proposal.key}")
        for proposal in summary.unchanged:
            state = proposal.get_state_display().lower()
            self.stdout.write(
                f"unchanged {proposal.get_kind_display():12} {proposal.key} ({state})"
            )
        for label in summary.in_registry:
            self.stdout.write(f"in the registry already: {label}")
        self.stdout.write("read: " + (", ".join(summary.sources) or "labels only"))
        for problem in summary.problems:
            self.stderr.write(f"not read: {problem}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(summary.proposed)} new or updated proposal(s); staff confirm them at "
                f"{reverse('github_integration:bootstrap')}"
            )
        )

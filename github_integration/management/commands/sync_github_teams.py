"""manage.py sync_github_teams [--api-url URL]: owner groups' maintainers from their teams."""

from django.core.management.base import BaseCommand

from github import GitHubClient
from github_integration.teams import teams_sync_all


class Command(BaseCommand):
    help = "Sync the maintainers of every owner group that names a GitHub team."

    def add_arguments(self, parser):
        parser.add_argument(
            "--api-url", default=None, help="GitHub API base (default: GITHUB_API_URL)"
        )

    def handle(self, *args, api_url, **options):
        for result in teams_sync_all(GitHubClient(base_url=api_url)):
            if result.error:
                self.stderr.write(f"{result.group.name}: {result.error}")
            elif result.unchanged:
                self.stdout.write(f"{result.group.name}: unchanged (304)")
            else:
                self.stdout.write(
                    f"{result.group.name}: +{len(result.added)} -{len(result.removed)} "
                    f"renamed {len(result.renamed)}"
                )

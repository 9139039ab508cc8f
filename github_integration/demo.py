"""Demo: the owner group that names a GitHub team is synced through the real client from
the configured GitHub API (``GITHUB_API_URL``; ``make demo`` serves the project's
GitHub-shaped server there when ``GITHUB_TOKEN`` is unset); safe to run again."""

from __future__ import annotations

from ci_status.github import GitHubClient
from ci_status.services import repository_get_or_create
from github_integration.teams import teams_sync_all


def load(stdout=None) -> dict:
    client = GitHubClient(repository_get_or_create().full_name, backoff=0.05)
    results = teams_sync_all(client)
    counts = {
        r.group.slug: {"added": r.added, "removed": r.removed, "error": r.error} for r in results
    }
    if stdout:
        stdout.write(f"github_integration: team sync {counts}")
    return counts

"""Demo: the owner group that names a GitHub team is synced from the project's
GitHub-shaped server (started in-process, then stopped); safe to run again."""

from __future__ import annotations

from ci_status.github import GitHubClient
from fake_github import FakeGitHub, demo_dataset
from github_integration.teams import teams_sync_all


def load(stdout=None) -> dict:
    dataset = demo_dataset()
    with FakeGitHub(dataset) as server:
        client = GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.05)
        results = teams_sync_all(client)
    counts = {
        r.group.slug: {"added": r.added, "removed": r.removed, "error": r.error} for r in results
    }
    if stdout:
        stdout.write(f"github_integration: team sync {counts}")
    return counts

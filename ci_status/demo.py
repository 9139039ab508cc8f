"""Demo GitHub data: the real sync, through the real client, against the configured
GitHub API (``GITHUB_API_URL``; ``make demo`` serves the project's GitHub-shaped server
there when ``GITHUB_TOKEN`` is unset). Safe to run again (upserts; a second run is 304s)."""

from __future__ import annotations

from ci_status.services import repository_get_or_create, repository_sync
from github import GitHubClient


def load(stdout=None) -> dict:
    repository = repository_get_or_create()
    client = GitHubClient(repository.full_name, backoff=0.05)
    run = repository_sync(repository, client=client, trigger="demo", evaluate=False)
    counts = {
        "status": str(run.status),
        "requests": run.requests,
        "not_modified": run.not_modified,
        "rows": run.rows_written,
    }
    if run.error:
        counts["error"] = run.error
    if stdout:
        stdout.write(f"ci_status: {counts}")
    return counts

"""Demo GitHub data: the real sync, through the real client, against the project's
GitHub-shaped server started in-process on a free loopback port with
``demo_dataset()``, then stopped. Safe to run again (upserts; a second run is 304s)."""

from __future__ import annotations

from ci_status.github import GitHubClient
from ci_status.models import Repository
from ci_status.services import repository_get_or_create, repository_sync
from fake_github import FakeGitHub, demo_dataset
from techniques.text import fit


def load(stdout=None) -> dict:
    dataset = demo_dataset()
    repository = repository_get_or_create(dataset.full_name)
    with FakeGitHub(dataset) as server:
        client = GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.05)
        run = repository_sync(repository, client=client, trigger="demo", evaluate=False)
    # The demo server's address is gone: point the repository back at the configured API.
    from django.conf import settings

    repository.api_url = fit(Repository, "api_url", settings.GITHUB_API_URL)
    repository.save(update_fields=["api_url"])
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

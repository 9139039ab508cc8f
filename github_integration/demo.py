"""Demo: the owner group that names a GitHub team is synced through the real client from
the configured GitHub API (``GITHUB_API_URL``; ``make demo`` serves the project's
GitHub-shaped server there when ``GITHUB_TOKEN`` is unset); safe to run again.

Rights follow the GitHub id (docs/security.md): once the sync has recorded a maintainer's
id, the demo's password account of that person is linked to it, as if they had linked
their GitHub account from their page, so the demo's people keep their techniques."""

from __future__ import annotations

from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from ci_status.services import repository_get_or_create
from github import GitHubClient
from github_integration.teams import teams_sync_all
from techniques.models import Maintainer


def load(stdout=None) -> dict:
    client = GitHubClient(repository_get_or_create().full_name, backoff=0.05)
    results = teams_sync_all(client)
    linked = _link_demo_accounts()
    counts = {
        r.group.slug: {"added": r.added, "removed": r.removed, "error": r.error} for r in results
    }
    if stdout:
        stdout.write(f"github_integration: team sync {counts}; accounts linked: {linked}")
    return counts


def _link_demo_accounts() -> int:
    linked = 0
    users = (
        get_user_model().objects.filter(is_staff=False).exclude(socialaccount__provider="github")
    )
    by_login = {user.username.lower(): user for user in users}
    for login, github_id in Maintainer.objects.filter(github_id__isnull=False).values_list(
        "github_login", "github_id"
    ):
        user = by_login.get(login.lower())
        if (
            user is None
            or SocialAccount.objects.filter(provider="github", uid=str(github_id)).exists()
        ):
            continue
        SocialAccount.objects.create(
            user=user, provider="github", uid=str(github_id), extra_data={"login": login}
        )
        linked += 1
    return linked

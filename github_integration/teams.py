"""Owner groups from GitHub teams: a group that names a team (``org/slug``) has the
team's members as its active maintainers.

The team is authoritative: members missing from the group are added, maintainers no
longer in the team become emeritus (their history stays), renamed logins follow the
GitHub user id. The writes are the registry's (``techniques.services``): every change is
recorded in the history of the group's techniques and in the audit trail, and the group's
techniques are evaluated again once the sync commits.
A re-sync of an unchanged team is one conditional request answered 304.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from github import PER_PAGE, DictETagStore, GitHubClient, GitHubError
from github_integration.models import TeamSync
from github_integration.signin import accounts_follow_rename
from techniques.models import Maintainer, OwnerGroup
from techniques.services import maintainer_add, maintainer_update, maintainers_record_change
from techniques.text import fit

logger = logging.getLogger(__name__)


@dataclass
class TeamSyncResult:
    group: OwnerGroup
    unchanged: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.renamed)


def team_sync(group: OwnerGroup, client: GitHubClient | None = None, now: datetime | None = None):
    """Sync one group's maintainers from its GitHub team."""
    now = now or timezone.now()
    result = TeamSyncResult(group)
    if not group.github_team:
        return result
    client = client or GitHubClient()
    state, _ = TeamSync.objects.get_or_create(group=group, defaults={"team": group.github_team})
    members: list[dict] = []
    # The ETag is kept on the TeamSync row and written only once the members are saved.
    previous_etags, client.etags = client.etags, DictETagStore()
    first_url = _first_url(client, group)
    if state.team == group.github_team and state.etag:
        client.etags.set(first_url, state.etag)
    etags = client.etags
    try:
        for page in client.team_members(group.github_team):
            if page.not_modified:
                result.unchanged = True
                break
            members += [m for m in page.items if isinstance(m, dict) and m.get("login")]
    except GitHubError as error:
        result.error = fit(TeamSync, "error", error)
        TeamSync.objects.filter(pk=state.pk).update(error=result.error)
        return result
    finally:
        client.etags = previous_etags
    if result.unchanged:
        TeamSync.objects.filter(pk=state.pk).update(synced_at=now, error="")
        return result
    _apply(group, members, result)
    state.team = group.github_team
    state.etag = etags.get(first_url) or ""
    state.synced_at, state.error = now, ""
    state.members = [m["login"] for m in members]
    state.save()
    return result


def _first_url(client: GitHubClient, group: OwnerGroup) -> str:
    org, _, slug = group.github_team.partition("/")
    return client.url(f"/orgs/{org}/teams/{slug}/members", {"per_page": PER_PAGE})


@transaction.atomic
def _apply(group: OwnerGroup, members: list[dict], result: TeamSyncResult) -> None:
    current = list(Maintainer.objects.select_for_update().filter(group=group))
    by_id = {m.github_id: m for m in current if m.github_id is not None}
    by_login = {m.github_login.lower(): m for m in current}
    kept = set()
    for member in members:
        login, github_id = member["login"], member.get("id")
        maintainer = (by_id.get(github_id) if github_id is not None else None) or by_login.get(
            login.lower()
        )
        if maintainer is None:
            maintainer = maintainer_add(group, login, github_id=github_id, from_team=True)
            result.added.append(login)
        else:
            if maintainer.github_login != login:
                result.renamed.append((maintainer.github_login, login))
                if github_id is not None:
                    accounts_follow_rename(github_id, maintainer.github_login, login)
            if maintainer.status != Maintainer.Status.ACTIVE:
                result.added.append(login)
            maintainer_update(
                maintainer,
                github_login=login,
                github_id=maintainer.github_id if github_id is None else github_id,
                status=Maintainer.Status.ACTIVE,
                from_github_team=True,
            )
        kept.add(maintainer.pk)
    for maintainer in current:
        if maintainer.pk not in kept and maintainer.status == Maintainer.Status.ACTIVE:
            maintainer_update(maintainer, status=Maintainer.Status.EMERITUS, from_github_team=False)
            result.removed.append(maintainer.github_login)
    if result.changed:
        parts = []
        if result.added:
            parts.append("added " + ", ".join(f"@{login}" for login in result.added))
        if result.removed:
            parts.append("no longer in the team: " + ", ".join(f"@{x}" for x in result.removed))
        if result.renamed:
            parts.append("renamed " + ", ".join(f"@{a} → @{b}" for a, b in result.renamed))
        # The history, and the ownership rules count the change at a re-evaluation.
        maintainers_record_change(
            group, f"GitHub team {group.github_team}: " + "; ".join(parts) + "."
        )


def teams_sync_all(client: GitHubClient | None = None, now: datetime | None = None):
    """Sync every owner group that names a GitHub team; returns the results."""
    client = client or GitHubClient()
    results = []
    for group in OwnerGroup.objects.exclude(github_team="").order_by("name"):
        try:
            results.append(team_sync(group, client, now))
        except Exception as error:  # one group's failure never stops the others
            logger.exception("team sync of %s (%s) failed", group.slug, group.github_team)
            result = TeamSyncResult(group)
            result.error = fit(TeamSync, "error", f"{type(error).__name__}: {error}")
            TeamSync.objects.update_or_create(
                group=group, defaults={"team": group.github_team, "error": result.error}
            )
            results.append(result)
    return results

"""Gaps as GitHub issues (opt-in: ``GAP_ISSUES`` for all techniques, or a technique's
``gap_issues`` flag).

A gap open for ``GAP_ISSUE_AFTER_DAYS`` gets an issue in the repository
(``GITHUB_REPOSITORY``) with the technique's label, assigned to the group's star
assignees, linking the gap page and quoting the duty; the issue body follows the
evidence, and the issue is closed with a comment when the gap is resolved or waived
(reopened when a waiver expires).

Never two issues for one gap: the :class:`GapIssue` row is committed before the issue
is created and carries a marker that goes into the issue body as a hidden comment; an
unrecorded issue (a worker died between creating and recording it, or GitHub answered
5xx after creating it) is found again by that marker — in the issues updated since the
claim, then by search — before anything is created. The marker holds a random secret
of the gap (``GapIssue.secret``, never shown on a page), and an issue is adopted only
when the portal's own account (``GET /user`` with its token) created it and its body
carries the marker as a comment line of its own: an outsider's issue is never adopted.
Quoted text (the summary, evidence titles) goes through :func:`techniques.text.inert`,
so it can hold no comment, link, mention or image.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from adherence import engine
from adherence.models import Gap
from ci_status.models import Issue
from github import (
    AuthenticationFailed,
    Forbidden,
    GitHubClient,
    GitHubError,
    RateLimited,
    Unavailable,
)
from github_integration.models import GapIssue
from techniques.duties import duty_of
from techniques.text import fit, inert

logger = logging.getLogger(__name__)
OPEN_STATES = (Gap.State.OPEN, Gap.State.ACKNOWLEDGED)
# A GitHub issue's states.
OPEN, CLOSED = Issue.State.OPEN, Issue.State.CLOSED


class _Author:
    """The portal account's GitHub id, asked for once per run and only when needed."""

    def __init__(self) -> None:
        self.asked, self.value = False, None  # type: tuple[bool, int | None]

    def id(self, client: GitHubClient) -> int | None:
        if not self.asked:
            self.asked, self.value = True, portal_account_id(client)
        return self.value


@dataclass
class GapIssueSummary:
    created: list[int] = field(default_factory=list)  # issue numbers
    found_again: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # set when a transient failure (5xx, rate limit) stopped the run


def new_secret() -> str:
    return secrets.token_hex(16)


def marker_for(gap: Gap, secret: str) -> str:
    """The hidden marker of the gap's issue: its id and its random secret."""
    return f"tfmot-portal-gap-{gap.pk}-{secret}"


def _marker_comment(marker: str) -> str:
    return f"<!-- {marker} -->"


def issue_title(gap: Gap) -> str:
    rule = engine.RULES.get(gap.rule_id)
    return f"[tfmot-portal] {gap.technique.name}: {rule.title if rule else gap.rule_id}"


def issue_body(gap: Gap, marker: str) -> str:
    """The issue text: what fails, the duty it breaks (quoted), evidence, the gap page."""
    technique = gap.technique
    url = settings.PORTAL_BASE_URL.rstrip("/") + gap.get_absolute_url()
    lines = [
        f"The portal found a gap in the duties of **{inert(technique.name)}** "
        f"({inert(technique.public_api)}, {technique.get_tos_level_display()} terms of "
        "service).",
        "",
        f"**What fails:** {inert(gap.summary)}",
        "",
    ]
    rule, duty = engine.RULES.get(gap.rule_id), duty_of(gap.rule_id)
    if duty:
        lines += [f"**Duty:** {duty.title}", ""]
    if rule:
        lines += [f"> {rule.source}", "", f"**How to fix it:** {rule.fix_for(gap.evidence)}", ""]
    since = gap.since or gap.opened_at
    lines.append(
        f"Failing since {since:%Y-%m-%d}; noticed by the portal on {gap.opened_at:%Y-%m-%d}."
    )
    links = [
        (link.get("title") or link["url"], _link_target(link["url"]))
        for link in gap.links or []
        if isinstance(link, dict) and isinstance(link.get("url"), str)
    ]
    links = [(title, target) for title, target in links if target]
    if links:
        lines += ["", "**Evidence:**"]
        lines += [f"- [{inert(title)}]({target})" for title, target in links[:20]]
    lines += [
        "",
        f"Details, history and evidence: {url}",
        "",
        "This issue is kept up to date by tfmot-portal and closed when the gap is resolved.",
        _marker_comment(marker),
    ]
    return "\n".join(lines)


def _link_target(url: str) -> str:
    """An evidence URL as a Markdown link target: http(s) only, and percent-encoded so
    that no parenthesis, angle bracket, space or quote ends the link early."""
    if urlsplit(url).scheme not in ("http", "https"):
        return ""
    return quote(url, safe="/:?#!$&*+,;=%~-._")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _assignees(gap: Gap) -> list[str]:
    group = gap.technique.owner_group
    if not group:
        return []
    return [m.github_login for m in group.maintainers.all() if m.is_active and m.is_direct_assignee]


def _eligible(now: datetime):
    after = now - timedelta(days=settings.GAP_ISSUE_AFTER_DAYS)
    gaps = Gap.objects.filter(state__in=OPEN_STATES, opened_at__lte=after)
    if not settings.GAP_ISSUES:
        gaps = gaps.filter(technique__gap_issues=True)
    return gaps.select_related("technique__owner_group", "github_issue").prefetch_related(
        "technique__owner_group__maintainers"
    )


def portal_account_id(client: GitHubClient) -> int | None:
    """The GitHub user id of the account the client's token acts as (``GET /user``);
    None when GitHub does not say (a GitHub App's installation token gets 403 there):
    then no issue is adopted, a new one is created."""
    try:
        user = client.get_json("/user")
    except GitHubError as error:
        logger.warning("GET /user refused (%s): gap issues are not adopted", error)
        return None
    value = user.get("id") if isinstance(user, dict) else None
    return value if isinstance(value, int) else None


def _carries_marker(issue: dict, record: GapIssue, author_id: int | None) -> bool:
    """The portal's own issue for this record: created by the portal's account, with the
    record's marker (secret included) as a comment line of its own."""
    user = issue.get("user")
    if not isinstance(user, dict):
        return False
    if author_id is None or user.get("id") != author_id or "pull_request" in issue:
        return False
    comment = _marker_comment(record.marker)
    return any(line.strip() == comment for line in (issue.get("body") or "").splitlines())


def _find_by_marker(client: GitHubClient, record: GapIssue, author_id: int | None) -> dict | None:
    """The portal's issue carrying the record's marker: among the issues updated since the
    claim (the listing is consistent at once), then by search (which may lag)."""
    if author_id is None:
        return None
    since = record.claimed_at - timedelta(minutes=5)
    params = {"state": "all", "sort": "created", "direction": "desc"}
    params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    for issue in client.items("/repos/{repo}/issues", params):
        if _carries_marker(issue, record, author_id):
            return issue
    query = f'repo:{client.repo} is:issue in:body "{record.marker}"'
    for issue in client.search_issues(query, limit=30):
        if _carries_marker(issue, record, author_id):
            return issue
    return None


def _claim(gap: Gap, repository: str) -> GapIssue:
    try:
        return gap.github_issue  # selected with the gap
    except GapIssue.DoesNotExist:
        pass
    secret = new_secret()
    record, _ = GapIssue.objects.get_or_create(
        gap=gap,
        defaults={"repository": repository, "secret": secret, "marker": marker_for(gap, secret)},
    )
    return record


def _ensure(
    gap: Gap, client: GitHubClient, summary: GapIssueSummary, now: datetime, author: _Author
) -> None:
    record = _claim(gap, client.repo)  # committed before anything is created on GitHub
    body = issue_body(gap, record.marker)
    if record.number is not None and record.state == OPEN and record.body_hash == _hash(body):
        return  # up to date: no request, no write
    with transaction.atomic():
        record = GapIssue.objects.select_for_update().get(pk=record.pk)
        if record.number is None:
            issue = _find_by_marker(client, record, author.id(client))
            if issue is not None:
                summary.found_again.append(issue["number"])
            else:
                issue = client.create_issue(
                    issue_title(gap),
                    body,
                    labels=[gap.technique.label] if gap.technique.label else [],
                    assignees=_assignees(gap),
                )
                summary.created.append(issue["number"])
            record.number, record.url = issue["number"], issue.get("html_url", "")
            record.state = issue.get("state", OPEN)
            record.body_hash = _hash(issue.get("body") or "")
            record.synced_at, record.error = now, ""
            record.save()
        if record.state == CLOSED:
            client.comment_issue(record.number, "The gap is open again; reopening.")
            client.update_issue(record.number, state=OPEN)
            record.state = OPEN
            summary.reopened.append(record.number)
        if record.body_hash != _hash(body):
            client.update_issue(record.number, body=body)
            record.body_hash = _hash(body)
            summary.updated.append(record.number)
        record.synced_at, record.error = now, ""
        record.save()


def _close(record: GapIssue, client: GitHubClient, summary: GapIssueSummary, now) -> None:
    number = record.number
    if number is None:  # never created on GitHub: nothing to close
        return
    gap = record.gap
    if gap.state == Gap.State.WAIVED:
        until = f" until {gap.waived_until:%Y-%m-%d}" if gap.waived_until else ""
        text, reason = f"The TFMOT team waived this gap{until}. Closing.", "not_planned"
    else:
        when = gap.resolved_at or now
        text, reason = (
            f"Resolved: the check passes again since {when:%Y-%m-%d}. Closing.",
            "completed",
        )
    url = settings.PORTAL_BASE_URL.rstrip("/") + gap.get_absolute_url()
    client.comment_issue(number, f"{text}\n\nGap page: {url}")
    client.update_issue(number, state=CLOSED, state_reason=reason)
    record.state, record.synced_at, record.error = CLOSED, now, ""
    record.save(update_fields=["state", "synced_at", "error"])
    summary.closed.append(number)


def gap_issues_sync(client: GitHubClient | None = None, now: datetime | None = None):
    """Open, update and close the GitHub issues of gaps. Safe to run twice; a transient
    failure (5xx, rate limit) stops the run, which the next one resumes."""
    now = now or timezone.now()
    summary = GapIssueSummary()
    client = client or GitHubClient()
    to_close = GapIssue.objects.filter(state=OPEN, number__isnull=False).filter(
        Q(gap__state__in=[Gap.State.RESOLVED, Gap.State.WAIVED])
    )
    work = [("ensure", gap) for gap in _eligible(now)]
    work += [("close", record) for record in to_close.select_related("gap")]
    author = _Author()
    for action, item in work:
        try:
            if action == "ensure":
                _ensure(item, client, summary, now, author)
            else:
                _close(item, client, summary, now)
        except (Unavailable, RateLimited, AuthenticationFailed, Forbidden) as error:
            # Transient, or the token cannot write issues: the next gaps would fail alike.
            summary.stopped = str(error)
            _record_error(item, str(error))
            break
        except GitHubError as error:
            # 404/410: no such repository, or issues turned off; 422: say so and go on.
            summary.errors.append(str(error))
            _record_error(item, str(error))
    return summary


def _record_error(item, message: str) -> None:
    gap_id = item.pk if isinstance(item, Gap) else item.gap_id
    GapIssue.objects.filter(gap_id=gap_id).update(error=fit(GapIssue, "error", message))

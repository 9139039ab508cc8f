"""Reads of the synced GitHub data: the stored community figures, the triage queue, the
items API's queryset, the sync status and metrics, and what other apps read (releases,
CI runs). Writes are in ``services``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from ci_status.community import Figures, Item
from ci_status.models import (
    CIRun,
    CommunityFigures,
    Issue,
    ItemTechnique,
    Release,
    Repository,
    SyncCursor,
    SyncRun,
)


def primary_repository() -> Repository | None:
    return Repository.objects.primary().first()


def community_figures(techniques, now: datetime | None = None) -> dict[int, Figures]:
    """Each technique's stored figures as of ``now`` (by id), in two queries whatever
    the number of techniques or items."""
    now = now or timezone.now()
    techniques = list(techniques)
    cfg = settings.ADHERENCE
    names = {t.repository_name.lower() for t in techniques}
    synced_names = (
        {
            name.lower()
            for name in Repository.objects.filter(
                full_name__iregex=r"^(" + "|".join(re.escape(n) for n in names) + r")$",
                last_synced_at__isnull=False,
            ).values_list("full_name", flat=True)
        }
        if names
        else set()
    )
    stored = (
        {
            row.technique_id: row
            for row in CommunityFigures.objects.filter(technique__in=[t.pk for t in techniques])
        }
        if synced_names
        else {}
    )
    result = {}
    for t in techniques:
        synced = t.repository_name.lower() in synced_names
        base: dict[str, Any] = {
            "synced": synced,
            "labels": list(t.github_labels or []),
            "response_days": cfg["RESPONSE_DAYS"],
            "review_days": cfg["PR_REVIEW_DAYS"],
            "unlabeled_days": cfg["UNLABELED_DAYS"],
        }
        row = stored.get(t.pk)
        result[t.pk] = Figures.from_stored(row, now, base) if row and synced else Figures(**base)
    return result


def triage_queue(techniques=None, now: datetime | None = None) -> list[dict]:
    """Open unlabeled items that belong to a technique (of ``techniques``, default all),
    each with the labels it probably needs (from every technique it touches or names),
    oldest first. Reads only the techniques that have such items."""
    now = now or timezone.now()
    rows = CommunityFigures.objects.exclude(unlabeled=[]).select_related("technique")
    if techniques is not None:
        rows = rows.filter(technique__in=[t.pk for t in techniques])
    rows = rows.only("unlabeled", "technique__slug", "technique__name")
    by_number: dict[int, dict] = {}
    for row in rows:
        for item in (Item.from_stored(d, now) for d in row.unlabeled):
            entry = by_number.setdefault(
                item.number, {"item": item, "labels": [], "techniques": [], "reasons": []}
            )
            for label in item.suggested_labels:
                if label not in entry["labels"]:
                    entry["labels"].append(label)
            entry["techniques"].append(row.technique)
            if item.reason not in entry["reasons"]:
                entry["reasons"].append(item.reason)
    return sorted(by_number.values(), key=lambda e: e["item"].created_at)


def items_for_api() -> QuerySet[Issue]:
    """Synced issues and PRs of the configured repository, newest first (the unique
    index on repository and number serves the order)."""
    return Issue.objects.filter(repository=primary_repository()).order_by("-number")


RECENT_RUNS = 25


def sync_overview(watched_id: int | None = None) -> dict:
    """What the sync status page shows: each repository with its cursors, last run and
    last source switch; the recent runs; the run being watched."""
    repositories = list(Repository.objects.order_by("full_name"))
    cursors: dict[int, list] = {}
    for cursor in SyncCursor.objects.order_by("resource"):
        cursors.setdefault(cursor.repository_id, []).append(cursor)
    runs = list(SyncRun.objects.select_related("repository")[:RECENT_RUNS])
    last_by_repo: dict[int, SyncRun] = {}
    for run in runs:
        last_by_repo.setdefault(run.repository_id, run)
    watched = None
    if watched_id is not None:
        watched = next((r for r in runs if r.pk == watched_id), None) or (
            SyncRun.objects.filter(pk=watched_id).first()
        )
    switched = {run.repository_id: run for run in reversed(runs) if run.progress.get("switched")}
    rows = [
        {
            "repository": r,
            "cursors": cursors.get(r.pk, []),
            "last": last_by_repo.get(r.pk),
            "switched": switched.get(r.pk),
        }
        for r in repositories
    ]
    return {
        "rows": rows,
        "runs": runs,
        "watched": watched,
        "primary": settings.GITHUB_REPOSITORY,
        "has_primary": any(
            r.full_name.lower() == settings.GITHUB_REPOSITORY.lower() for r in repositories
        ),
        "api_url": settings.GITHUB_API_URL,
        "token_set": bool(settings.GITHUB_TOKEN),
    }


def releases_in_period(start: datetime, end: datetime) -> list[dict] | None:
    """Releases published in [start, end), oldest first, as {tag, name, published, url};
    None when no release was ever synced (the portal then cannot say there was none)."""
    if not Release.objects.exists():
        return None
    rows = Release.objects.filter(
        published_at__gte=start, published_at__lt=end, draft=False
    ).order_by("published_at", "id")
    return [
        {
            "tag": r.tag,
            "name": r.name,
            "published": r.published_at.date().isoformat() if r.published_at else None,
            "url": r.html_url,
        }
        for r in rows.only("tag", "name", "published_at", "html_url")
    ]


# Most merged PRs a review's evidence lists (the count says how many there were).
MERGED_PRS_LISTED = 50


def merged_prs(technique, start: datetime, end: datetime) -> dict:
    """The technique's pull requests (by label or paths, not mere mentions) merged in
    [start, end): the total and the first ``MERGED_PRS_LISTED``, oldest first, as
    {number, title, merged, url}. Two queries."""
    prs = Issue.objects.filter(
        kind=Issue.Kind.PR,
        merged_at__gte=start,
        merged_at__lt=end,
        technique_links__technique=technique,
        technique_links__via__in=[ItemTechnique.Via.LABEL, ItemTechnique.Via.PATHS],
    ).distinct()
    listed = prs.order_by("merged_at", "number").only("number", "title", "merged_at", "html_url")
    return {
        "count": prs.count(),
        "listed": [
            {
                "number": pr.number,
                "title": pr.title,
                "merged": pr.merged_at.date().isoformat() if pr.merged_at else None,
                "url": pr.html_url,
            }
            for pr in listed[:MERGED_PRS_LISTED]
        ],
    }


def releases_newest_first() -> QuerySet[Release]:
    return Release.objects.order_by("-published_at", "-id")


@dataclass(frozen=True)
class BranchHead:
    """The newest commit of the default branch the sync has seen."""

    branch: str
    sha: str
    seen_at: datetime | None
    url: str  # the CI run that saw it


# The events whose runs build the default branch's own head (not a PR's merge commit).
BRANCH_EVENTS = ("push", "schedule", "workflow_dispatch")


def default_branch_head() -> BranchHead | None:
    """The head of the primary repository's default branch as the sync knows it: the
    commit of the newest CI run on that branch (a push, schedule or dispatch builds the
    branch's head); None before a sync has seen one."""
    repository = primary_repository()
    if repository is None:
        return None
    run = (
        CIRun.objects.filter(
            repository=repository,
            branch=repository.default_branch,
            event__in=BRANCH_EVENTS,
        )
        .exclude(head_sha="")
        .order_by("-created_at", "-run_id")
        .only("head_sha", "created_at", "html_url")
        .first()
    )
    if run is None:
        return None
    return BranchHead(repository.default_branch, run.head_sha.lower(), run.created_at, run.html_url)


def completed_runs(workflows: Iterable[str], limit: int) -> list[CIRun]:
    """The latest completed CI runs of these workflows, newest first."""
    return list(
        CIRun.objects.filter(workflow__in=list(workflows), status=CIRun.Status.COMPLETED).order_by(
            "-created_at"
        )[:limit]
    )


def last_successful_sync_at() -> datetime | None:
    """When the latest successful GitHub sync finished (readiness reads it)."""
    return (
        SyncRun.objects.filter(status=SyncRun.Status.OK, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class SyncFigures:
    """One repository's sync figures for the metrics."""

    repository: str
    requests: int
    rate_limit_remaining: int | None
    last_duration_seconds: float | None
    last_success_at: datetime | None
    # What the last sync left of each rate-limit budget, by resource (core, graphql...).
    rate_limits: dict[str, int]


def sync_figures() -> list[SyncFigures]:
    """Per repository: requests spent, the rate limit left after the last sync that
    recorded it (and each budget the last sync met), the last finished sync's duration
    and the last success."""
    spent = dict(SyncCursor.objects.values_list("repository_id").annotate(n=Sum("requests")))
    rows = []
    for pk, name in Repository.objects.values_list("pk", "full_name"):
        runs = SyncRun.objects.filter(repository_id=pk, finished_at__isnull=False)
        limited = runs.filter(rate_limit_remaining__isnull=False).order_by("-finished_at")
        last = runs.order_by("-finished_at").first()
        budgets = {
            resource: int(budget["remaining"])
            for resource, budget in ((last.rate_limits if last else None) or {}).items()
            if isinstance(budget, dict) and budget.get("remaining") is not None
        }
        ok = runs.filter(status=SyncRun.Status.OK).order_by("-finished_at").first()
        rows.append(
            SyncFigures(
                repository=name,
                requests=spent.get(pk) or 0,
                rate_limit_remaining=limited.values_list("rate_limit_remaining", flat=True).first(),
                last_duration_seconds=last.duration_seconds if last else None,
                last_success_at=ok.finished_at if ok else None,
                rate_limits=budgets,
            )
        )
    return rows

"""Reads of the synced GitHub data: the stored community figures, the triage queue and
the items API's queryset. Writes are in ``services``."""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ci_status.community import Figures, Item
from ci_status.models import CommunityFigures, Issue, Repository, SyncCursor, SyncRun


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
        base = {
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

"""Reads of synced GitHub data for other apps (writes stay in services.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from ci_status.models import CIRun, Release


def release_tags_since(start: datetime) -> list[str] | None:
    """Tags published since `start`, oldest first; None when no release was ever synced."""
    if not Release.objects.exists():
        return None
    return list(
        Release.objects.filter(published_at__gte=start)
        .order_by("published_at")
        .values_list("tag", flat=True)
    )


def releases_newest_first() -> QuerySet[Release]:
    return Release.objects.order_by("-published_at", "-id")


def completed_runs(workflows: Iterable[str], limit: int) -> list[CIRun]:
    """The latest completed CI runs of these workflows, newest first."""
    return list(
        CIRun.objects.filter(workflow__in=list(workflows), status="completed").order_by(
            "-created_at"
        )[:limit]
    )

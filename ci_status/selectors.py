"""Reads of synced GitHub data for other apps (writes stay in services.py)."""

from __future__ import annotations

from datetime import datetime

from ci_status.models import Release


def release_tags_since(start: datetime) -> list[str] | None:
    """Tags published since `start`, oldest first; None when no release was ever synced."""
    if not Release.objects.exists():
        return None
    return list(
        Release.objects.filter(published_at__gte=start)
        .order_by("published_at")
        .values_list("tag", flat=True)
    )

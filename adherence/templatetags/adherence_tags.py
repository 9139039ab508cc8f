"""Display of adherence figures: matrix cells, "failing N days, since DATE", health."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()

GLYPHS = {"pass": "✓", "fail": "✗", "waived": "~ waived", "na": "N/A", "unknown": "?"}


@register.filter
def cell_text(cell) -> str:
    """✗ 146d for a dated failing gap, ✗ alone when its start is unknown (never "0d")."""
    glyph = GLYPHS.get(cell.status, "?")
    if cell.status == "fail" and cell.days_failing is not None:
        return f"{glyph} {cell.days_failing}d"
    return glyph


@register.filter
def cell_title(cell) -> str:
    if cell.status == "waived" and cell.gap and cell.gap.waived_until:
        return f"Waived until {cell.gap.waived_until:%Y-%m-%d}. {cell.summary}"
    if cell.status == "fail" and cell.gap:
        return f"{failing_for(cell.gap).capitalize()}. {cell.summary}"
    return cell.summary


@register.filter
def failing_for(gap, now=None) -> str:
    """ "failing 146 days, since 2026-06-30" from the gap's since (when the violation began)."""
    if gap.since is None:
        return "failing, start not dated by the rule"
    days = gap.days_failing(now or timezone.now())
    verb = "failed" if gap.resolved_at else "failing"
    return f"{verb} {days} day{'s' if days != 1 else ''}, since {gap.since:%Y-%m-%d}"

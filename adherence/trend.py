"""The trend page's figures: open gaps per week counted as the home page counts them
(open or acknowledged; a waived gap does not count while its waiver runs), and the chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from adherence.models import Gap, GapEvent

WAIVER_ENDS = (GapEvent.Kind.WAIVER_EXPIRED, GapEvent.Kind.RESOLVED)


def open_gaps_per_week(weeks: int = 26, technique=None, now: datetime | None = None) -> list:
    """(moment, open gaps) at the end of each of the last ``weeks`` weeks, up to now.

    Two queries: the gaps alive in the period and their waiver events.
    """
    now = now or timezone.now()
    start = now - timedelta(weeks=weeks)
    gaps = Gap.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
    if technique is not None:
        gaps = gaps.filter(technique=technique)
    spans = {
        pk: (o, r, s) for pk, o, r, s in gaps.values_list("pk", "opened_at", "resolved_at", "state")
    }
    waivers: dict[int, list[list]] = {}
    events = (
        GapEvent.objects.filter(gap_id__in=list(spans))
        .filter(kind__in=[GapEvent.Kind.WAIVED, *WAIVER_ENDS])
        .order_by("at", "id")
        .values_list("gap_id", "kind", "at")
    )
    for gap_id, kind, at in events:
        intervals = waivers.setdefault(gap_id, [])
        if kind == GapEvent.Kind.WAIVED:
            intervals.append([at, None])
        elif intervals and intervals[-1][1] is None:
            intervals[-1][1] = at
    for pk, (_, _, state) in spans.items():
        # A gap waived without a recorded event (older data) counts as waived from now.
        if state == Gap.State.WAIVED and not any(e is None for _, e in waivers.get(pk, [])):
            waivers.setdefault(pk, []).append([now, None])

    def counts(pk: int, at: datetime) -> bool:
        opened, resolved, _ = spans[pk]
        if opened > at or (resolved is not None and resolved <= at):
            return False
        return not any(s <= at and (e is None or e > at) for s, e in waivers.get(pk, []))

    moments = [start + timedelta(weeks=week) for week in range(weeks)] + [now]
    return [(at, sum(1 for pk in spans if counts(pk, at))) for at in moments]


def line_chart(points: list, width: int = 720, height: int = 240) -> dict:
    """An SVG line chart with axes: ticks and labels for the counts and the dates."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((count for _, count in points), default=0)
    top_value = max(peak, 1)
    step = plot_w / max(len(points) - 1, 1)

    def y(value: float) -> float:
        return round(top + plot_h - value / top_value * plot_h, 1)

    coords = [(round(left + i * step, 1), y(count)) for i, (_, count) in enumerate(points)]
    ticks = sorted({0, round(top_value / 2), top_value})
    y_ticks = [{"y": y(t), "label": t} for t in ticks]
    x_ticks = []
    if points:
        every = max(len(points) // 6, 1)
        for i in range(0, len(points), every):
            x_ticks.append({"x": coords[i][0], "label": f"{points[i][0]:%-d %b}"})
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "top": top,
        "bottom_y": top + plot_h,
        "polyline": " ".join(f"{x},{yy}" for x, yy in coords),
        "dots": [
            {"x": x, "y": yy, "count": points[i][1], "at": points[i][0]}
            for i, (x, yy) in enumerate(coords)
        ],
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "max": peak,
        "first": points[0][0] if points else None,
        "last": points[-1][0] if points else None,
        "latest": points[-1][1] if points else 0,
    }

"""The trend page's figures: open gaps per week, counted as the matrix, the CSV and the
landing count them (open or acknowledged; a waived gap does not count while its waiver
runs), each from when its violation began (``since``, as its gap page dates it; when the
portal noticed it if the rule could not date it), and the chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from adherence.models import Gap, GapEvent

WAIVER_ENDS = (GapEvent.Kind.WAIVER_EXPIRED, GapEvent.Kind.RESOLVED)


def open_counts(gaps, moments: list[datetime]) -> list[int]:
    """How many of ``gaps`` were open (begun, not yet resolved) at each moment: counted
    by the database in one scan, whatever the number of gaps. (Plain SQL: the ORM's
    compilation of one filtered count per moment costs more than the scan.)"""
    if not moments:
        return []
    inner, params = (
        gaps.order_by().with_start().values("began", "resolved_at").query.sql_with_params()
    )
    one = "SUM(CASE WHEN g.began <= %s AND (g.resolved_at IS NULL OR g.resolved_at > %s) THEN 1 ELSE 0 END)"
    sql = f"SELECT {', '.join([one] * len(moments))} FROM ({inner}) g"  # noqa: S608  # nosec B608 - values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(v for at in moments for v in (at, at)), *params])
        row = cursor.fetchone()
    return [int(n or 0) for n in row]


def open_gaps_per_week(weeks: int = 26, technique=None, now: datetime | None = None) -> list:
    """(moment, open gaps) at the end of each of the last ``weeks`` weeks, up to now.

    Gaps never waived are counted by the database (``open_counts``); only the few gaps
    with a waiver are read, with their waiver events, to leave out their waived weeks.
    Three queries at any number of gaps.
    """
    now = now or timezone.now()
    start = now - timedelta(weeks=weeks)
    moments = [start + timedelta(weeks=week) for week in range(weeks)] + [now]
    gaps = Gap.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
    if technique is not None:
        gaps = gaps.filter(technique=technique)
    ever_waived = Q(state=Gap.State.WAIVED) | Q(
        pk__in=GapEvent.objects.filter(kind=GapEvent.Kind.WAIVED).values("gap_id")
    )
    plain = open_counts(gaps.exclude(ever_waived), moments)
    spans = {
        pk: (o, r, s)
        for pk, o, r, s in gaps.filter(ever_waived)
        .with_start()
        .values_list("pk", "began", "resolved_at", "state")
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

    return [
        (at, plain[i] + sum(1 for pk in spans if counts(pk, at))) for i, at in enumerate(moments)
    ]


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

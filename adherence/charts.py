"""SVG charts of several series over the same moments (the campaign burn-down, a rule's
history), drawn by templates as the trend chart is: no script, a table beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Series:
    label: str
    values: list[int]
    colour: str  # a stroke colour with enough contrast on white
    dash: str = ""  # an SVG stroke-dasharray, so series differ without colour


def lines_chart(
    moments: list[datetime], series: list[Series], width: int = 720, height: int = 240
) -> dict:
    """Axes, ticks and one polyline per series (with a dot and a tooltip per point)."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0)
    top_value = max(peak, 1)
    step = plot_w / max(len(moments) - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(value: float) -> float:
        return round(top + plot_h - value / top_value * plot_h, 1)

    lines = []
    for s in series:
        points = [(x(i), y(v)) for i, v in enumerate(s.values)]
        lines.append(
            {
                "label": s.label,
                "colour": s.colour,
                "dash": s.dash,
                "polyline": " ".join(f"{px},{py}" for px, py in points),
                "dots": [
                    {"x": px, "y": py, "count": s.values[i], "at": moments[i]}
                    for i, (px, py) in enumerate(points)
                ],
                "latest": s.values[-1] if s.values else 0,
            }
        )
    every = max(len(moments) // 6, 1)
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "top": top,
        "bottom_y": top + plot_h,
        "lines": lines,
        "y_ticks": [{"y": y(t), "label": t} for t in sorted({0, round(top_value / 2), top_value})],
        "x_ticks": [
            {"x": x(i), "label": f"{moments[i]:%-d %b}"} for i in range(0, len(moments), every)
        ],
        "first": moments[0] if moments else None,
        "last": moments[-1] if moments else None,
        "rows": [
            {"at": at, "values": [s.values[i] for s in series]} for i, at in enumerate(moments)
        ],
        "labels": [s.label for s in series],
    }

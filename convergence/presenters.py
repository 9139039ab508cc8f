"""What a viewer may see of a test's recent runs (internal results hidden per viewer)."""

from __future__ import annotations

from convergence.models import ConvergenceRun

SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-", "internal": "◆"}


def visible_strip(test, show_internal: bool) -> tuple[list[dict], bool]:
    """Cells for the recent runs, and whether an internal failure is open.

    The public sees internal runs only as one "internal" cell, first (no outcome, no SHA,
    no place among the public runs that would date them): the policy asks TFMOT to
    communicate Google-internal failures without publishing them. The CI grid does the
    same with one undated column.
    """
    cells, internal_failure, hidden = [], False, False
    for run in test.recent:
        red = run["o"] in ConvergenceRun.RED
        if run["i"] and not show_internal:
            internal_failure, hidden = red, True  # the latest internal run decides
            continue
        label = f"{run['o']} at {run['at'][:10]}" + (
            f", TFMOT {run['sha'][:7]}" if run["sha"] else ""
        )
        cells.append(
            {
                "outcome": run["o"],
                "symbol": SYMBOLS.get(run["o"], "?"),
                "label": label,
                "at": run["at"],
                "id": run["id"],
            }
        )
    if hidden:
        cells.insert(
            0, {"outcome": "internal", "symbol": SYMBOLS["internal"], "label": "internal runs"}
        )
    return cells, internal_failure


def sparkline(
    values: list[float], width: int = 160, height: int = 36, target: float | None = None
) -> dict:
    """Coordinates of a small server-rendered SVG chart of a metric's trend."""
    if not values:
        return {}
    points = list(values) + ([target] if target is not None else [])
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)

    def y(v):
        return round(height - 3 - (v - low) / span * (height - 6), 1)

    return {
        "width": width,
        "height": height,
        "step": step,
        "polyline": " ".join(f"{round(i * step, 1)},{y(v)}" for i, v in enumerate(values)),
        "target_y": y(target) if target is not None else None,
    }

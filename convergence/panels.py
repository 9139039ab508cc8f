"""The technique page's convergence panel (status strip and a chart per benefit metric),
and the failing tests' culprit ranges on a convergence gap's page."""

from adherence.gap_panels import register_gap_panel
from convergence.models import ConvergenceTest
from convergence.permissions import can_see_internal
from convergence.presenters import sparkline, visible_strip
from convergence.selectors import alert_rows, change_points_of, open_regressions_of
from techniques.panels import Panel, register_panel


def convergence_panel(request, technique):
    tests = list(
        ConvergenceTest.objects.filter(technique=technique)
        .select_related("last_good_run", "first_bad_run")
        .prefetch_related("targets", "culprit_ranges", "bisections")
    )
    show_internal = can_see_internal(request.user, technique)
    points = change_points_of(technique, show_internal)
    rows = []
    for test in tests:
        cells, internal_failure = visible_strip(test, show_internal)
        targets = []
        for target in test.targets.all():
            figures = target.figures(show_internal)
            latest = figures.latest_value
            chart = sparkline(figures.trend, target=target.documented_value)
            targets.append(
                {
                    "target": target,
                    "figures": figures,
                    "chart": chart,
                    "marks": _marks(
                        chart, figures.trend_runs, points.get((test.pk, target.metric))
                    ),
                    "margin": target.margin(latest) if latest is not None else None,
                    "fraction": (
                        target.margin(latest) / target.tolerance
                        if latest is not None and target.tolerance
                        else None
                    ),
                }
            )
        rows.append(
            {
                "test": test,
                "cells": cells,
                "internal_failure": internal_failure,
                "dates_shown": test.dates_shown(show_internal),
                "internal_miss": not show_internal
                and any(target.regressed_internally for target in test.targets.all()),
                "targets": targets,
                "change_points": sorted(
                    (
                        point
                        for (test_id, _), series in points.items()
                        if test_id == test.pk
                        for point in series
                    ),
                    key=lambda p: (p.run_started_at, p.pk),
                    reverse=True,
                )[:CHANGE_POINTS_SHOWN],
                "bisection": max(
                    (b for b in test.bisections.all() if show_internal or not b.internal),
                    key=lambda b: (b.created_at, b.pk),
                    default=None,
                ),
            }
        )
    return Panel("convergence/_panel.html", {"rows": rows, "technique": technique})


CHANGE_POINTS_SHOWN = 8


def _marks(chart: dict, trend_runs: list, points) -> list[dict]:
    """A marker on the chart at each change point whose run is among the charted ones."""
    if not chart or not points:
        return []
    position = {run_id: i for i, run_id in enumerate(trend_runs)}
    return [
        {"x": round(position[p.run_id] * chart["step"], 1), "point": p}
        for p in points
        if p.run_id in position
    ]


register_panel(convergence_panel, order=30)


def culprit_gap_panel(request, gap):
    """Each of the technique's tests with an open alert: since when it fails and the
    range of PRs that broke it, most likely culprit first (the policy: find the PR and
    revert it). The CI grid's own rule on what the viewer may see applies."""
    rows = alert_rows(gap.technique, request.user, KIND_OF_RULE[gap.rule_id])
    if not rows:
        return None
    return Panel("convergence/_gap_alerts.html", {"rows": rows, "technique": gap.technique})


# The rules whose gaps are failing tests, and the kind of test each judges.
KIND_OF_RULE = {
    "convergence-green": ConvergenceTest.Kind.CONVERGENCE,
    "training-speed-test": ConvergenceTest.Kind.TRAINING_SPEED,
}
register_gap_panel(KIND_OF_RULE, culprit_gap_panel)


def change_point_gap_panel(request, gap):
    """The technique's open regressions: the commit each one begins at and its figures
    (those found only with internal runs for the viewers who may see them)."""
    points = open_regressions_of(gap.technique, request.user)
    if not points:
        return None
    return Panel(
        "convergence/_gap_change_points.html", {"points": points, "technique": gap.technique}
    )


register_gap_panel(["metric-regression"], change_point_gap_panel)

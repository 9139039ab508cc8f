"""The technique page's convergence panel (status strip and a chart per benefit metric),
and the failing tests' culprit ranges on a convergence gap's page."""

from adherence.gap_panels import register_gap_panel
from convergence.models import ConvergenceTest
from convergence.permissions import can_see_internal
from convergence.presenters import sparkline, visible_strip
from convergence.selectors import alert_rows
from techniques.panels import Panel, register_panel


def convergence_panel(request, technique):
    tests = list(
        ConvergenceTest.objects.filter(technique=technique)
        .select_related("last_good_run", "first_bad_run")
        .prefetch_related("targets", "culprit_ranges")
    )
    show_internal = can_see_internal(request.user, technique)
    rows = []
    for test in tests:
        cells, internal_failure = visible_strip(test, show_internal)
        targets = []
        for target in test.targets.all():
            figures = target.figures(show_internal)
            latest = figures.latest_value
            targets.append(
                {
                    "target": target,
                    "figures": figures,
                    "chart": sparkline(figures.trend, target=target.documented_value),
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
            }
        )
    return Panel("convergence/_panel.html", {"rows": rows, "technique": technique})


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

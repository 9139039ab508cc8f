"""Reads for the CI pages: the TestGrid-style grid, aligned by date and commit."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, Value, When

from convergence.models import ConvergenceRun, ConvergenceTest, State
from convergence.permissions import can_see_internal
from convergence.presenters import SYMBOLS

STATE_ORDER = {State.FAILING: 0, State.FLAKY: 1, State.STALE: 2, State.NO_RUNS: 3, State.PASSING: 4}
RED = (ConvergenceRun.Outcome.FAILED, ConvergenceRun.Outcome.ERROR)
INTERNAL = "internal"


@dataclass(frozen=True, order=True)
class Column:
    """One column of the grid: the runs of one day at one TFMOT commit."""

    date: str  # YYYY-MM-DD
    sha: str  # short SHA, or "internal" for results hidden from the viewer

    @property
    def label(self) -> str:
        return f"{self.date} at {self.sha}" if self.sha != INTERNAL else f"{self.date}, internal"


@dataclass
class GridRow:
    test: ConvergenceTest
    cells: list[dict | None] = field(default_factory=list)
    internal_failure: bool = False
    culprit: object = None
    hidden_runs: int = 0  # runs older than the columns shown


def grid_tests(filters: dict, user):
    """Tests for the grid, filtered, failing and flaky first unless sorted by name."""
    tests = ConvergenceTest.objects.select_related(
        "technique__owner_group", "last_good_run", "first_bad_run"
    ).prefetch_related("technique__owner_group__maintainers", "culprit_ranges")
    if filters.get("tos"):
        tests = tests.filter(technique__tos_level=filters["tos"])
    if filters.get("state"):
        tests = tests.filter(state=filters["state"])
    if filters.get("group"):
        tests = tests.filter(technique__owner_group__slug=filters["group"])
    if filters.get("technique"):
        tests = tests.filter(technique__slug=filters["technique"])
    if filters.get("kind"):
        tests = tests.filter(kind=filters["kind"])
    if filters.get("mine"):
        tests = tests.filter(
            technique__owner_group__maintainers__github_login__iexact=user.get_username()
            if user.is_authenticated
            else None
        ).distinct()
    if filters.get("sort") == "name":
        return tests.order_by("technique__name", "name")
    rank = Case(*(When(state=s, then=Value(r)) for s, r in STATE_ORDER.items()), default=Value(9))
    return tests.order_by(rank, "-flip_rate", "technique__name", "name")


def _column(run: dict, visible: bool) -> Column:
    return Column(run["at"][:10], (run["sha"] or "")[:7] or "—" if visible else INTERNAL)


def _cell(run: dict, visible: bool) -> dict:
    if not visible:
        return {"outcome": INTERNAL, "symbol": SYMBOLS[INTERNAL], "label": "internal run"}
    label = f"{run['o']} on {run['at'][:10]}" + (f" at {run['sha'][:7]}" if run["sha"] else "")
    return {"outcome": run["o"], "symbol": SYMBOLS.get(run["o"], "?"), "label": label}


def _culprit(test):
    if not (test.alert_open and test.last_good_run and test.first_bad_run):
        return None
    return next(
        (
            c
            for c in test.culprit_ranges.all()
            if c.base_sha == test.last_good_run.tfmot_sha
            and c.head_sha == test.first_bad_run.tfmot_sha
        ),
        None,
    )


def grid_rows(tests, user, columns: int = 14) -> tuple[list[Column], list[GridRow]]:
    """Columns (newest first) shared by every test, and each test's cell per column.

    Runs of the same day at the same commit line up across tests, as in TestGrid. A run
    the viewer may not see shows only as "internal", with neither outcome nor commit.
    """
    rows, seen = [], set()
    for test in tests:
        visible = can_see_internal(user, test.technique)
        runs = []
        for run in test.recent:
            shown = visible or not run["i"]
            runs.append((_column(run, shown), _cell(run, shown), run))
            seen.add(_column(run, shown))
        rows.append((test, visible, runs))
    shown_columns = sorted(seen, reverse=True)[:columns]
    index = {column: i for i, column in enumerate(shown_columns)}
    result = []
    for test, visible, runs in rows:
        row = GridRow(test, [None] * len(shown_columns), culprit=_culprit(test))
        for column, cell, run in runs:  # oldest first: the latest run of a column wins
            if run["i"] and not visible:
                row.internal_failure = run["o"] in RED
            if column in index:
                row.cells[index[column]] = cell
            else:
                row.hidden_runs += 1
        result.append(row)
    return shown_columns, result

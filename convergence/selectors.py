"""Reads of convergence tests: the TestGrid-style grid of the CI pages, aligned by date and
commit, and the tests other apps read."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Case, Prefetch, Value, When

from convergence.models import ChangePoint, ConvergenceRun, ConvergenceTest, State
from convergence.permissions import internal_visibility
from convergence.presenters import SYMBOLS
from techniques.models import Maintainer, Technique
from techniques.selectors import filter_by_technique

STATE_ORDER = {State.FAILING: 0, State.FLAKY: 1, State.STALE: 2, State.NO_RUNS: 3, State.PASSING: 4}
INTERNAL = "internal"
RUN_FIELDS = ("tfmot_sha", "started_at", "internal", "outcome")


@dataclass(frozen=True, order=True)
class Column:
    """One column of the grid: the runs of one day at one TFMOT commit."""

    date: str  # YYYY-MM-DD
    sha: str  # short SHA, or "internal" for results hidden from the viewer

    @property
    def label(self) -> str:
        return f"{self.date} at {self.sha}" if self.sha != INTERNAL else "internal runs"


@dataclass
class GridRow:
    test: ConvergenceTest
    cells: list[dict | None] = field(default_factory=list)
    internal_failure: bool = False
    alert_hidden: bool = False  # the alert's runs are internal and hidden from the viewer
    dates_hidden: bool = False  # the state's dates come from a hidden internal run
    culprit: object = None
    hidden_runs: int = 0  # runs older than the columns shown


# What a grid row shows (``templatetags/grid_cells.py``): the rest of the test, its
# technique and its runs (their metrics above all) stays in the database.
GRID_FIELDS = (
    *(
        f.name
        for f in ConvergenceTest._meta.concrete_fields
        if f.name not in ("task", "config_path", "location", "last_run")
    ),
    "technique__slug",
    "technique__name",
    "technique__tos_level",
    "technique__owner_group__slug",
    "technique__owner_group__name",
    *(f"{run}__{f}" for run in ("last_good_run", "first_bad_run") for f in RUN_FIELDS),
)


def grid_page(filters: dict, user, number, per_page: int = 25):
    """One page of the grid's tests: the page is chosen on the tests' narrow rows (ids in
    the grid's order), then only its tests are read with their runs and owners."""
    page = Paginator(grid_tests(filters, user).values_list("pk", flat=True), per_page).get_page(
        number
    )
    ids = list(page.object_list)
    by_id = (
        ConvergenceTest.objects.select_related(
            "technique__owner_group", "last_good_run", "first_bad_run"
        )
        .only(*GRID_FIELDS)
        .prefetch_related(
            # The row names the group's direct assignees (the stars) only.
            Prefetch(
                "technique__owner_group__maintainers",
                Maintainer.objects.active()
                .filter(is_direct_assignee=True)
                .only("group_id", "github_login"),
                to_attr="assignees",
            ),
            "culprit_ranges",
        )
        .in_bulk(ids)
    )
    return page, [by_id[pk] for pk in ids if pk in by_id]


def grid_tests(filters: dict, user):
    """Tests for the grid, filtered, failing and flaky first unless sorted by name."""
    shared = {"tos_level": filters.get("tos"), "owner_group": filters.get("group")}
    tests = filter_by_technique(
        ConvergenceTest.objects.all(), {**filters, **shared}, user, through="technique__"
    )
    if filters.get("state"):
        tests = tests.filter(state=filters["state"])
    if filters.get("kind"):
        tests = tests.filter(kind=filters["kind"])
    if filters.get("sort") == "name":
        return tests.order_by("technique__name", "name")
    rank = Case(*(When(state=s, then=Value(r)) for s, r in STATE_ORDER.items()), default=Value(9))
    return tests.order_by(rank, "-flip_rate", "technique__name", "name")


# Hidden internal runs share one undated column: the public sees neither their commit
# nor their time (see ConvergenceRun.objects.visible_to).
HIDDEN = Column("", INTERNAL)


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
    the viewer may not see shows only as "internal", with neither outcome, commit nor
    time, in one undated column of its own. Columns are plain (date, sha) keys until the
    shown ones are chosen; cells are built for the shown columns only.
    """
    rows, seen = [], set()
    hidden_key = (HIDDEN.date, HIDDEN.sha)
    may_see = internal_visibility(user)
    for test in tests:
        visible = may_see(test.technique_id)
        runs = []
        for run in test.recent:
            shown = visible or not run["i"]
            key = (run["at"][:10], (run["sha"] or "")[:7] or "—") if shown else hidden_key
            runs.append((key, shown, run))
            seen.add(key)
        rows.append((test, visible, runs))
    hidden_seen = hidden_key in seen
    seen.discard(hidden_key)
    shown_keys = sorted(seen, reverse=True)[:columns]
    if hidden_seen:
        shown_keys.insert(0, hidden_key)
    index = {key: i for i, key in enumerate(shown_keys)}
    result = []
    for test, visible, runs in rows:
        # The alert's runs name commits and times: hidden when one of them is internal
        # and the viewer may not see internal results.
        alert_hidden = not visible and any(
            run is not None and run.internal for run in (test.last_good_run, test.first_bad_run)
        )
        row = GridRow(
            test,
            [None] * len(shown_keys),
            alert_hidden=alert_hidden,
            dates_hidden=not test.dates_shown(visible),
            culprit=None if alert_hidden else _culprit(test),
        )
        latest: dict[int, tuple[dict, bool]] = {}
        for key, shown, run in runs:  # oldest first: the latest run of a column wins
            if run["i"] and not visible:
                row.internal_failure = run["o"] in ConvergenceRun.RED
            position = index.get(key)
            if position is None:
                row.hidden_runs += 1
            else:
                latest[position] = (run, shown)
        for position, (run, shown) in latest.items():
            row.cells[position] = _cell(run, shown)
        row.internal_failure = row.internal_failure or alert_hidden
        result.append(row)
    return [Column(date, sha) for date, sha in shown_keys], result


def alert_rows(technique: Technique, user, kind: str) -> list[GridRow]:
    """The technique's tests of ``kind`` with an open alert, as the CI grid shows them to
    ``user``: failing since, last good and first bad runs, the culprit range (or hidden
    when the alert's runs are internal and the viewer may not see them)."""
    tests = (
        ConvergenceTest.objects.filter(technique=technique, kind=kind, alert_open=True)
        .select_related("technique__owner_group", "last_good_run", "first_bad_run")
        .only(*GRID_FIELDS)
        .prefetch_related("culprit_ranges")
        .order_by("name")
    )
    return grid_rows(tests, user)[1]


def tests_with_targets(technique: Technique) -> list[ConvergenceTest]:
    """The technique's convergence tests, their targets prefetched."""
    return list(ConvergenceTest.objects.filter(technique=technique).prefetch_related("targets"))


def change_points_of(technique: Technique, show_internal: bool) -> dict[tuple[int, str], list]:
    """The change points of the technique's tests that the viewer may see, newest first,
    by (test id, metric): one query."""
    points = ChangePoint.objects.filter(test__technique=technique).order_by(
        "-run_started_at", "-id"
    )
    if not show_internal:
        points = points.filter(internal=False)
    by_series: dict[tuple[int, str], list] = {}
    for point in points:
        by_series.setdefault((point.test_id, point.metric), []).append(point)
    return by_series


def change_points_recent(filters: dict, user, limit: int = 10) -> list[ChangePoint]:
    """The latest change points of the grid's tests (its filters apply) that ``user`` may
    see, open regressions first: one query."""
    return list(
        ChangePoint.objects.visible_to(user)
        .filter(test__in=grid_tests(filters, user).values("pk"))
        .select_related("test__technique")
        .order_by(
            Case(When(regression=True, resolved_at__isnull=True, then=Value(0)), default=Value(1)),
            "-run_started_at",
            "-id",
        )[:limit]
    )


def open_regressions_of(technique: Technique, user) -> list[ChangePoint]:
    """The technique's open regression change points that ``user`` may see."""
    return list(
        ChangePoint.objects.open_regressions()
        .visible_to(user)
        .filter(test__technique=technique)
        .select_related("test__technique")
        .order_by("-run_started_at", "-id")
    )

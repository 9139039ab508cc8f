"""Reads of convergence tests: the TestGrid-style grid of the CI pages, aligned by date and
commit, and the tests other apps read."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Case, Prefetch, Value, When

from convergence.models import FLAKY_RATE, ChangePoint, ConvergenceRun, ConvergenceTest, State
from convergence.permissions import internal_visibility
from convergence.presenters import SYMBOLS
from techniques.models import Maintainer, Technique
from techniques.selectors import filter_by_technique

STATE_ORDER = {State.FAILING: 0, State.FLAKY: 1, State.STALE: 2, State.NO_RUNS: 3, State.PASSING: 4}
INTERNAL = "internal"
NO_SHA = "—"
RUN_FIELDS = ("tfmot_sha", "started_at", "internal", "outcome")


@dataclass(frozen=True)
class Column:
    """One column of the grid: the runs of every test at one TFMOT commit, dated by the
    commit's first run (as TestGrid aligns builds). Runs that name no commit share a
    column per day; hidden internal runs share one undated column."""

    date: str  # YYYY-MM-DD of the commit's first run; "" for hidden internal runs
    sha: str  # short SHA, "—" for runs without one, "internal" for hidden results

    @property
    def label(self) -> str:
        if self.sha == INTERNAL:
            return "internal runs"
        if self.sha == NO_SHA:
            return f"runs of {self.date} that name no commit"
        return f"commit {self.sha}, first run {self.date}"


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
            "culprit_ranges__bisections__reverts",
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
    state = filters.get("state")
    if state == State.FAILING:
        tests = tests.failing()
    elif state == State.FLAKY:
        tests = tests.flaky()
    elif state:
        tests = tests.filter(state=state)
    if filters.get("kind"):
        tests = tests.filter(kind=filters["kind"])
    if filters.get("sort") == "name":
        return tests.order_by("technique__name", "name")
    # Failing and flaky by their one definition (``ConvergenceTest.conditions``), then
    # the stored state.
    rank = Case(
        When(alert_open=True, then=Value(0)),
        When(flip_rate__gte=FLAKY_RATE, then=Value(1)),
        *(When(state=s, then=Value(r)) for s, r in STATE_ORDER.items()),
        default=Value(9),
    )
    return tests.order_by(rank, "-flip_rate", "technique__name", "name")


# Hidden internal runs share one undated column: the public sees neither their commit
# nor their time (see ConvergenceRun.objects.visible_to).
HIDDEN_KEY = ("", INTERNAL)


def _miss_text(run: dict) -> str:
    return "; ".join(run.get("miss") or [])


def _cell(run: dict, visible: bool, runs_here: int) -> dict:
    if not visible:
        return {"outcome": INTERNAL, "symbol": SYMBOLS[INTERNAL], "label": "internal run"}
    label = f"{run['o']} on {run['at'][:10]}" + (f" at {run['sha'][:7]}" if run["sha"] else "")
    if run.get("miss"):
        label += f"; misses {_miss_text(run)}"
    if runs_here > 1:
        label += f" (the latest of {runs_here} runs at this commit)"
    return {
        "outcome": run["o"],
        "symbol": SYMBOLS.get(run["o"], "?"),
        "label": label,
        "id": run.get("id"),
        "log": run.get("log", ""),
    }


def _key(run: dict, shown: bool) -> tuple[str, str]:
    """A run's column: its commit (short SHA), the day of a run without one, or the
    hidden internal column."""
    if not shown:
        return HIDDEN_KEY
    sha = (run["sha"] or "")[:7]
    return ("", sha) if sha else (run["at"][:10], NO_SHA)


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
    """Columns (newest commit first) shared by every test, and each test's cell per column.

    One column per commit, dated by the commit's first run among the tests shown and
    ordered by it, so a commit never shows under two dates and a date never splits a
    commit, whatever day each test ran it (TestGrid's alignment). A test's cell is its
    latest run at that commit. A run the viewer may not see shows only as "internal",
    with neither outcome, commit nor time, in one undated column of its own. Columns are
    plain keys until the shown ones are chosen; cells are built for those only.
    """
    rows = []
    first_at: dict[tuple[str, str], str] = {}  # column key -> its first run's start
    may_see = internal_visibility(user)
    for test in tests:
        visible = may_see(test.technique_id)
        runs = []
        for run in test.recent:
            shown = visible or not run["i"]
            key = _key(run, shown)
            runs.append((key, shown, run))
            if key not in first_at or run["at"] < first_at[key]:
                first_at[key] = run["at"]
        rows.append((test, visible, runs))
    hidden_seen = first_at.pop(HIDDEN_KEY, None) is not None
    shown_keys = sorted(first_at, key=lambda key: (first_at[key], key), reverse=True)[:columns]
    if hidden_seen:
        shown_keys.insert(0, HIDDEN_KEY)
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
        here: dict[int, int] = {}
        for key, shown, run in runs:  # oldest first: the latest run of a column wins
            if run["i"] and not visible:
                row.internal_failure = run["o"] in ConvergenceRun.RED
            position = index.get(key)
            if position is None:
                row.hidden_runs += 1
            else:
                latest[position] = (run, shown)
                here[position] = here.get(position, 0) + 1
        for position, (run, shown) in latest.items():
            row.cells[position] = _cell(run, shown, here[position])
        row.internal_failure = row.internal_failure or alert_hidden
        result.append(row)
    return [
        Column(first_at[key][:10] if key != HIDDEN_KEY else "", sha)
        for key in shown_keys
        for sha in [key[1]]
    ], result


def alert_rows(technique: Technique, user, kind: str) -> list[GridRow]:
    """The technique's tests of ``kind`` with an open alert, as the CI grid shows them to
    ``user``: failing since, last good and first bad runs, the culprit range (or hidden
    when the alert's runs are internal and the viewer may not see them)."""
    tests = (
        ConvergenceTest.objects.filter(technique=technique, kind=kind, alert_open=True)
        .select_related("technique__owner_group", "last_good_run", "first_bad_run")
        .only(*GRID_FIELDS)
        .prefetch_related("culprit_ranges__bisections__reverts")
        .order_by("name")
    )
    return grid_rows(tests, user)[1]


def newest_tested_commit(user) -> str:
    """The TFMOT commit of the newest run ``user`` may see ("" before any): what to check
    when the head of the default branch has not been tested yet."""
    return (
        ConvergenceRun.objects.visible_to(user)
        .exclude(tfmot_sha="")
        .order_by("-started_at", "-id")
        .values_list("tfmot_sha", flat=True)
        .first()
        or ""
    )


def run_page(run: ConvergenceRun) -> dict:
    """What a run's page shows: the run, its test, and each of its metrics beside the
    documented target of the same name (None where there is none)."""
    targets = {t.metric: t for t in run.test.targets.all()}
    metrics = []
    for name, value in sorted(run.metrics.items()):
        target = targets.get(name)
        number = isinstance(value, int | float)
        metrics.append(
            {
                "name": name,
                "value": value,
                "target": target,
                "missed": bool(target and number and target.misses(value)),
            }
        )
    return {"run": run, "test": run.test, "metrics": metrics}


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


# --- bisections --------------------------------------------------------------------------
def bisections_visible(user):
    """Bisections ``user`` may see: one whose range comes from internal runs only for
    staff and the technique's owners (the rule of ``ConvergenceRun.objects.visible_to``)."""
    from django.db.models import Q

    from convergence.models import Bisection
    from techniques.models import Technique

    found = Bisection.objects.select_related("test__technique")
    if user is not None and user.is_authenticated and user.is_staff:
        return found
    owned = (
        Technique.objects.owned_by(user).values("pk")
        if user is not None and user.is_authenticated
        else Technique.objects.none().values("pk")
    )
    return found.filter(Q(internal=False) | Q(test__technique__in=owned))


def bisection_page(user, page_number, state: str = ""):
    """A page of bisections, newest first, each with its open revert (two queries)."""
    from django.core.paginator import Paginator
    from django.db.models import Prefetch

    from convergence.models import Revert

    found = bisections_visible(user).prefetch_related(
        Prefetch("reverts", queryset=Revert.objects.order_by("-created_at"))
    )
    if state:
        found = found.filter(state=state)
    return Paginator(found.order_by("-created_at", "-id"), 25).get_page(page_number)

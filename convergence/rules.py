"""Convergence rules, from the stored test state (two queries).

The rules judge the figures ``convergence.services`` stores on each test and target
(state, ``failing_since``, ``regressed``) from every run, internal ones included: an
internal failure is a failure of the duty. Their results are public, so their text,
evidence and start date carry only public figures: an alert or a missed target that
rests on internal runs is named ("an internal failure is open", "an internal result
misses the documented ...") without its value, commit or date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from adherence.engine import (
    Result,
    register_facts,
    register_rule,
)
from convergence.models import ChangePoint, ConvergenceRun, ConvergenceTest, State

SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12")
PACKAGE_SIZE_METRIC = "package_size_mb"
VERSIONS_DAYS = 14


@register_facts("convergence_tests")
def load_tests(techniques, now):
    by_technique: dict[int, list[ConvergenceTest]] = {t.pk: [] for t in techniques}
    tests = (
        ConvergenceTest.objects.filter(technique_id__in=by_technique)
        .select_related("last_run")
        .prefetch_related("targets")
    )
    techniques_by_pk = {t.pk: t for t in techniques}
    for test in tests:
        test.technique = techniques_by_pk[test.technique_id]  # str(test) needs it: no query
        by_technique[test.technique_id].append(test)
    return by_technique


@register_facts("open_regressions")
def load_open_regressions(techniques, now):
    """Each technique's regression change points that no later shift brought back."""
    by_technique: dict[int, list[ChangePoint]] = {t.pk: [] for t in techniques}
    techniques_by_pk = {t.pk: t for t in techniques}
    points = (
        ChangePoint.objects.open_regressions()
        .filter(test__technique_id__in=by_technique)
        .select_related("test")
        .order_by("run_started_at", "pk")
    )
    for point in points:
        point.test.technique = techniques_by_pk[point.test.technique_id]  # no query
        by_technique[point.test.technique_id].append(point)
    return by_technique


@register_facts("recent_versions")
def load_recent_versions(techniques, now):
    """(python, tf) pairs of each technique's runs over the last VERSIONS_DAYS days."""
    seen: dict[int, set] = {t.pk: set() for t in techniques}
    rows = (
        ConvergenceRun.objects.filter(
            test__technique_id__in=seen, started_at__gte=now - timedelta(days=VERSIONS_DAYS)
        )
        .values_list("test__technique_id", "python_version", "tf_version")
        .distinct()
    )
    for technique_id, python, tf in rows:
        seen[technique_id].add((python, tf))
    return seen


def _tests(facts, kind=ConvergenceTest.Kind.CONVERGENCE):
    return [t for t in facts.get("convergence_tests", []) if t.kind == kind]


def _link(test):
    return {"title": str(test), "url": f"/ci/#test-{test.pk}"}


def _failing(tests) -> Result | None:
    """A failure naming the tests with an open alert, since the earliest first bad run.

    Results are public (technique page, matrix, gap page, API): an alert that rests on
    internal runs is named without its date, and does not date the result."""
    failing = [t for t in tests if t.failing]
    if not failing:
        return None
    dated = [t for t in failing if t.failing_since and not t.state_internal]
    starts = [t.failing_since for t in dated]

    def named(t) -> str:
        if t.state_internal:
            return f"{t} (an internal failure is open)"
        return f"{t} (since {t.failing_since:%Y-%m-%d})" if t.failing_since else str(t)

    flaky = [t for t in failing if t.flaky]
    return Result.failed(
        "Failing: "
        + ", ".join(named(t) for t in failing)
        + (f"; flaky: {', '.join(str(t) for t in flaky)}" if flaky else ""),
        links=[_link(t) for t in failing],
        since=min(starts) if starts else None,
        failing=[str(t) for t in failing],
        failing_since={str(t): t.failing_since.isoformat() for t in dated},
    )


def _passed(tests, summary: str) -> Result:
    """A pass that names the flaky tests among ``tests``: a flaky test says so wherever
    it is counted (the matrix marks the cell with ``caution``)."""
    flaky = [t for t in tests if t.flaky]
    if not flaky:
        return Result.passed(summary)
    named = ", ".join(f"{t} (flips in {t.flip_rate:.0%} of its recent runs)" for t in flaky)
    return Result.passed(
        f"{summary} {len(flaky)} flaky: {named}.",
        caution="flaky",
        flaky=[str(t) for t in flaky],
    )


def _regressed_since(targets) -> datetime | None:
    """The earliest start of a public regression: internal ones do not date the result."""
    starts = [g.public_regressed_since for g in targets if g.public_regressed_since]
    return min(starts) if starts else None


def _measured(targets) -> list:
    return [g for g in targets if g.latest_value is not None]


def _missed(measured, public, links=True) -> Result | None:
    """A failure naming the measured targets that miss their documented value, dated by
    the earliest public regression; None when every one is met. A target reads as
    ``public(g)`` (its public figures), or, when only an internal result misses it, as
    that without the value."""

    def reads(g) -> str:
        if g.regressed_internally:
            return f"{g.test}: {g.metric}: an internal result misses the documented {g.documented_value:g}{g.unit}"
        return public(g)

    missed = [g for g in measured if g.regressed]
    if not missed:
        return None
    return Result.failed(
        "; ".join(reads(g) for g in missed),
        links=[_link(g.test) for g in missed] if links else None,
        since=_regressed_since(missed),
    )


@register_rule("convergence-test-exists")
def convergence_test_exists(technique, facts):
    tests = _tests(facts)
    if tests:
        return Result.passed(", ".join(f"{t.model_family}: {t.task}" for t in tests))
    return Result.failed(
        "No convergence test on a TF Official Models task.", since=facts.since_start(technique)
    )


@register_rule("convergence-green")
def convergence_green(technique, facts):
    tests = [t for t in _tests(facts) if t.state != State.NO_RUNS]
    if not tests:
        return Result.not_applicable("No convergence run yet.")
    return _failing(tests) or _passed(tests, f"{len(tests)} test(s) passing.")


@register_rule("convergence-fresh")
def convergence_fresh(technique, facts):
    tests = _tests(facts) + _tests(facts, ConvergenceTest.Kind.TRAINING_SPEED)
    if not tests:
        return Result.not_applicable("No test to run.")
    stale = [t for t in tests if t.is_stale(facts.now)]
    if stale:
        # Stale from the moment the last run got older than twice the cadence; an
        # internal last run does not date the (public) result.
        starts = [
            t.last_run.started_at + timedelta(hours=2 * t.cadence_hours)
            if t.last_run
            else facts.since_start(technique)
            for t in stale
            if not (t.last_run and t.last_run.internal)
        ]
        return Result.failed(
            "No run within 2 x cadence: " + ", ".join(f"{t} ({t.cadence_label})" for t in stale),
            links=[_link(t) for t in stale],
            since=facts.counts_from(min(starts)) if starts else None,
        )
    return Result.passed("Every test ran within twice its cadence.")


@register_rule("benefits-delivered")
def benefits_delivered(technique, facts):
    measured = _measured(
        g for t in _tests(facts) for g in t.targets.all() if g.metric != PACKAGE_SIZE_METRIC
    )
    if not measured:
        return Result.not_applicable("No benefit target measured yet.")
    return _missed(
        measured,
        lambda g: (
            f"{g.test}: {g.metric} {g.public_latest_value:g}{g.unit} vs documented {g.documented_value:g}{g.unit} (tolerance {g.tolerance:g})"
        ),
    ) or Result.passed(f"{len(measured)} documented figure(s) met within tolerance.")


def _shift(point: ChangePoint) -> str:
    """How a (public) regression reads in the public result."""
    return (
        f"{point.test}: {point.metric} {point.before_mean:.4g} → {point.after_mean:.4g}"
        f" ({point.change_percent:+.2f} %) from {point.sha[:7]} ({point.run_started_at:%Y-%m-%d})"
    )


@register_rule("metric-regression")
def metric_regression(technique, facts):
    """Open regression change points. The result is public: an internal one is named
    without its figures, commit or date, and does not date the result."""
    tests = [t for t in facts.get("convergence_tests", []) if t.state != State.NO_RUNS]
    if not tests:
        return Result.not_applicable("No run yet.")
    points = facts.get("open_regressions", [])
    if not points:
        return Result.passed("No metric regression open.")
    public = [p for p in points if not p.internal]
    return Result.failed(
        "Regressed: "
        + "; ".join(
            _shift(p) if not p.internal else f"{p.test}: {p.metric} (an internal result shifted)"
            for p in points
        ),
        links=list({p.test_id: _link(p.test) for p in points}.values()),
        since=min(p.run_started_at for p in public) if public else None,
        change_points=[p.pk for p in public],
    )


@register_rule("training-speed-test")
def training_speed_test(technique, facts):
    tests = _tests(facts, ConvergenceTest.Kind.TRAINING_SPEED)
    if tests:
        return _failing(tests) or _passed(
            tests, f"{len(tests)} training speed test(s), none failing."
        )
    return Result.failed("No training speed test.", since=facts.since_start(technique))


@register_rule("compat-matrix")
def compat_matrix(technique, facts):
    seen = facts.get("recent_versions")
    if not seen:
        return Result.not_applicable(
            f"No run in the last {VERSIONS_DAYS} days to read the versions from."
        )
    pythons = {python for python, _ in seen if python}
    nightly = any("nightly" in tf for _, tf in seen)
    missing = [p for p in SUPPORTED_PYTHONS if p not in pythons]
    if not nightly or missing:
        what = ([] if nightly else ["tf-nightly"]) + [f"Python {p}" for p in missing]
        return Result.failed(
            f"Runs of the last {VERSIONS_DAYS} days do not cover " + ", ".join(what) + ".",
            pythons=sorted(pythons),
        )
    return Result.passed("tf-nightly and Python " + ", ".join(SUPPORTED_PYTHONS) + " covered.")


@register_rule("binary-size")
def binary_size(technique, facts):
    budgets = [
        g
        for t in facts.get("convergence_tests", [])
        for g in t.targets.all()
        if g.metric == PACKAGE_SIZE_METRIC
    ]
    measured = _measured(budgets)
    if not measured:
        return Result.not_applicable("No package-size budget measured.")
    over = _missed(
        measured,
        lambda g: f"{g.public_latest_value:g} MB over the {g.documented_value:g} MB budget",
        links=False,
    )
    if over:
        return over
    public = [g for g in measured if g.public_latest_value is not None]
    if public:
        return Result.passed(f"Within the budget ({public[0].public_latest_value:g} MB).")
    return Result.passed("Within the budget.")

"""Convergence rules, from precomputed test state: two queries (docs/architecture.md)."""

from __future__ import annotations

from datetime import timedelta

from adherence.engine import (
    BOTH,
    PRODUCTION,
    RESEARCH,
    Result,
    Severity,
    register_facts,
    register_rule,
)
from convergence.models import ConvergenceRun, ConvergenceTest, State
from techniques.models import Stage

LAUNCHED = (Stage.LAUNCHED, Stage.DEPRECATING)
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
    """A failure naming the tests with an open alert, or None when none has one."""
    failing = [t for t in tests if t.alert_open]
    if not failing:
        return None
    return Result.failed(
        "Failing: " + ", ".join(str(t) for t in failing),
        links=[_link(t) for t in failing],
        failing=[str(t) for t in failing],
    )


@register_rule(
    id="convergence-test-exists",
    title="Has a convergence test on a Model Garden task",
    applies_to=BOTH,
    stages=LAUNCHED,
    severity=Severity.HIGH,
    source="a training example ... with convergence tests",
)
def convergence_test_exists(technique, facts):
    tests = _tests(facts)
    if tests:
        return Result.passed(", ".join(f"{t.model_family}: {t.task}" for t in tests))
    return Result.failed("No convergence test on a TF Official Models task.")


@register_rule(
    id="convergence-green",
    title="Convergence tests pass",
    applies_to=BOTH,
    severity=Severity.HIGH,
    source="ensuring the test continues to pass with tf-nightly at TFMOT head",
)
def convergence_green(technique, facts):
    tests = [t for t in _tests(facts) if t.state != State.NO_RUNS]
    if not tests:
        return Result.not_applicable("No convergence run yet.")
    return _failing(tests) or Result.passed(f"{len(tests)} test(s) passing.")


@register_rule(
    id="convergence-fresh",
    title="Convergence tests run on schedule",
    applies_to=BOTH,
    severity=Severity.MEDIUM,
    source="tests run with tf-nightly at TFMOT head",
)
def convergence_fresh(technique, facts):
    tests = _tests(facts) + _tests(facts, ConvergenceTest.Kind.TRAINING_SPEED)
    if not tests:
        return Result.not_applicable("No test to run.")
    stale = [t for t in tests if t.is_stale(facts.now)]
    if stale:
        return Result.failed(
            "No run within 2 x cadence: " + ", ".join(f"{t} ({t.cadence_label})" for t in stale),
            links=[_link(t) for t in stale],
        )
    return Result.passed("Every test ran within twice its cadence.")


@register_rule(
    id="benefits-delivered",
    title="Documented benefits are delivered",
    applies_to=BOTH,
    severity=Severity.HIGH,
    source="users can continue to achieve the benefits described in the documentation",
)
def benefits_delivered(technique, facts):
    targets = [g for t in _tests(facts) for g in t.targets.all() if g.metric != PACKAGE_SIZE_METRIC]
    measured = [g for g in targets if g.latest_value is not None]
    if not measured:
        return Result.not_applicable("No benefit target measured yet.")
    missed = [g for g in measured if g.regressed]
    if missed:
        return Result.failed(
            "; ".join(
                f"{g.test}: {g.metric} {g.latest_value:g}{g.unit} vs documented {g.documented_value:g}{g.unit} (tolerance {g.tolerance:g})"
                for g in missed
            ),
            links=[_link(g.test) for g in missed],
        )
    return Result.passed(f"{len(measured)} documented figure(s) met within tolerance.")


@register_rule(
    id="training-speed-test",
    title="Has a passing training speed test",
    applies_to=PRODUCTION,
    stages=LAUNCHED,
    severity=Severity.MEDIUM,
    source="Whenever a convergence or training speed test fails",
)
def training_speed_test(technique, facts):
    tests = _tests(facts, ConvergenceTest.Kind.TRAINING_SPEED)
    if not tests:
        return Result.failed("No training speed test.")
    return _failing(tests) or Result.passed(f"{len(tests)} training speed test(s), none failing.")


@register_rule(
    id="compat-matrix",
    title="CI covers the newest TF and supported Pythons",
    applies_to=PRODUCTION,
    stages=LAUNCHED,
    severity=Severity.LOW,
    source="new TensorFlow major releases, Python compatibility",
)
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


@register_rule(
    id="binary-size",
    title="Reasonable binary size",
    applies_to=RESEARCH,
    severity=Severity.LOW,
    source="Minimal project health (e.g. reasonable binary size)",
)
def binary_size(technique, facts):
    budgets = [
        g
        for t in facts.get("convergence_tests", [])
        for g in t.targets.all()
        if g.metric == PACKAGE_SIZE_METRIC
    ]
    measured = [g for g in budgets if g.latest_value is not None]
    if not measured:
        return Result.not_applicable("No package-size budget measured.")
    over = [g for g in measured if g.regressed]
    if over:
        return Result.failed(
            "; ".join(
                f"{g.latest_value:g} MB over the {g.documented_value:g} MB budget" for g in over
            )
        )
    return Result.passed(f"Within the budget ({measured[0].latest_value:g} MB).")

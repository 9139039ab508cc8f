"""Convergence workflows: one ingestion path, per-test state, culprit ranges, release gate."""

from __future__ import annotations

import hashlib
import itertools
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ci_status.github import GitHubClient, GitHubError
from convergence.models import BenefitTarget, ConvergenceRun, ConvergenceTest, CulpritRange, State
from convergence.parsers import ResultsError, RunRecord
from techniques.cache import bump_data_version
from techniques.models import Stage
from techniques.text import fit

logger = logging.getLogger(__name__)
FLAKY_WINDOW = 14
FLAKY_RATE = 0.2
RECENT = 30


# --- state (after TestGrid) ------------------------------------------------------------


@dataclass
class TestState:
    state: str
    alert_open: bool
    flip_rate: float
    last_good: ConvergenceRun | None
    first_bad: ConvergenceRun | None


def _flip_rate(outcomes: list[bool]) -> float:
    """Share of consecutive runs that flip, over the window, with failure streaks of 3+
    removed first: a real breakage is a failure, not flakiness."""
    kept: list[bool] = []
    streak: list[bool] = []
    for green in outcomes:
        if green:
            if len(streak) < 3:
                kept += streak
            streak = []
            kept.append(True)
        else:
            streak.append(False)
    if len(streak) < 3:
        kept += streak
    if len(kept) < 2:
        return 0.0
    flips = sum(1 for a, b in itertools.pairwise(kept) if a != b)
    return flips / (len(kept) - 1)


def convergence_state_compute(
    runs: list[ConvergenceRun], cadence_hours: int, now: datetime
) -> TestState:
    """State of a test from its runs, oldest first (skipped runs do not count).

    FAILING: 2 consecutive failures open an alert, 2 consecutive passes close it; the
    alert keeps the last good run before it and its first bad run. FLAKY: flip rate over
    the last 14 runs >= 20 %. STALE: no run within 2 x cadence. Staleness wins: an old
    result says nothing about TFMOT head.
    """
    runs = [r for r in runs if r.outcome != ConvergenceRun.Outcome.SKIPPED]
    if not runs:
        return TestState(State.NO_RUNS, False, 0.0, None, None)
    alert = False
    last_good: ConvergenceRun | None = None
    first_bad: ConvergenceRun | None = None
    candidate_bad: ConvergenceRun | None = None
    previous_good: ConvergenceRun | None = None
    reds = greens = 0
    for run in runs:
        if run.is_green:
            greens, reds = greens + 1, 0
            if alert and greens >= 2:
                alert, first_bad = False, None
            if not alert:
                previous_good = run
            candidate_bad = None
        else:
            reds, greens = reds + 1, 0
            if reds == 1:
                candidate_bad = run
            if not alert and reds >= 2:
                alert, first_bad, last_good = True, candidate_bad, previous_good
    flip = _flip_rate([r.is_green for r in runs[-FLAKY_WINDOW:]])
    latest = runs[-1]
    if (now - latest.started_at).total_seconds() > 2 * cadence_hours * 3600:
        state = State.STALE
    elif alert:
        state = State.FAILING
    elif flip >= FLAKY_RATE:
        state = State.FLAKY
    else:
        state = State.PASSING
    return TestState(
        state, alert, round(flip, 3), last_good if alert else None, first_bad if alert else None
    )


TEST_FIELDS = [
    "state",
    "alert_open",
    "flip_rate",
    "last_good_run",
    "first_bad_run",
    "last_run",
    "state_since",
    "recent",
    "benefit_regressed",
]
# Runs read per test: the strip and trends (30), the flaky window (14) and room to find
# the last good run of an alert up to two months old at a nightly cadence.
HISTORY = max(RECENT, FLAKY_WINDOW) * 2


def _apply_state(
    test: ConvergenceTest, runs: list[ConvergenceRun], targets: list, now: datetime
) -> None:
    """Set a test's state, recent strip and its targets' margins from its runs (oldest
    first), in memory; the callers save in bulk."""
    computed = convergence_state_compute(runs, test.cadence_hours, now)
    previous = test.state
    test.state, test.alert_open, test.flip_rate = (
        computed.state,
        computed.alert_open,
        computed.flip_rate,
    )
    test.last_good_run, test.first_bad_run = computed.last_good, computed.first_bad
    test.last_run = runs[-1] if runs else None
    if previous != test.state or test.state_since is None:
        test.state_since = now
    test.recent = [
        {
            "id": r.pk,
            "o": r.outcome,
            "at": r.started_at.isoformat(),
            "sha": r.tfmot_sha[:12],
            "i": r.internal,
        }
        for r in runs[-RECENT:]
    ]
    regressed = False
    for target in targets:
        values = [r.metrics[target.metric] for r in runs if target.metric in r.metrics][-RECENT:]
        target.trend = values
        target.latest_value = values[-1] if values else None
        target.regressed = target.latest_value is not None and target.misses(target.latest_value)
        regressed = regressed or target.regressed
    test.benefit_regressed = regressed


def convergence_state_update(test: ConvergenceTest, now: datetime | None = None) -> ConvergenceTest:
    """Recompute and store one test's state, recent strip and benefit margins."""
    now = now or timezone.now()
    runs = list(reversed(test.runs.order_by("-started_at", "-id")[:HISTORY]))
    targets = list(test.targets.all())
    _apply_state(test, runs, targets, now)
    BenefitTarget.objects.bulk_update(targets, ["trend", "latest_value", "regressed"])
    test.save()
    return test


def convergence_states_refresh(now: datetime | None = None, batch: int = 300) -> int:
    """Recompute every test's state (staleness moves with the clock), a batch of tests at
    a time: one query reads the latest runs of the whole batch (a window function), and
    the tests and targets are written back in bulk."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    now = now or timezone.now()
    ids = list(ConvergenceTest.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        tests = list(ConvergenceTest.objects.filter(pk__in=chunk).prefetch_related("targets"))
        ranked = ConvergenceRun.objects.filter(test_id__in=chunk).annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("test_id")],
                order_by=[F("started_at").desc(), F("id").desc()],
            )
        )
        runs_by_test: dict[int, list] = {}
        fields = ("id", "test_id", "started_at", "outcome", "tfmot_sha", "internal", "metrics")
        for run in (
            ranked.filter(rank__lte=HISTORY).only(*fields).order_by("test_id", "started_at", "id")
        ):
            runs_by_test.setdefault(run.test_id, []).append(run)
        targets = []
        for test in tests:
            test_targets = list(test.targets.all())
            _apply_state(test, runs_by_test.get(test.pk, []), test_targets, now)
            targets += test_targets
        with transaction.atomic():
            ConvergenceTest.objects.bulk_update(tests, TEST_FIELDS)
            BenefitTarget.objects.bulk_update(targets, ["trend", "latest_value", "regressed"])
    bump_data_version()
    return len(ids)


# --- ingestion: one path for Actions artifacts, the upload API and the command ---------


@dataclass
class IngestResult:
    created: int
    duplicates: int
    tests: list[str]


def _resolve_tests(records: list[RunRecord]) -> dict[str, ConvergenceTest]:
    """Map each record's test reference to a registered test, or refuse the whole file."""
    tests = list(ConvergenceTest.objects.select_related("technique"))
    by_full = {f"{t.technique.slug}/{t.name}": t for t in tests}
    by_name: dict[str, list[ConvergenceTest]] = {}
    for t in tests:
        by_name.setdefault(t.name, []).append(t)
    resolved, unknown = {}, []
    for record in records:
        test = by_full.get(record.test)
        if (
            test is None
            and len(by_name.get(record.test.rsplit("/", 1)[-1], [])) == 1
            and "/" not in record.test
        ):
            test = by_name[record.test][0]
        if test is None:
            unknown.append(record.test)
        else:
            resolved[record.test] = test
    if unknown:
        raise ResultsError(
            "Unknown convergence test(s): "
            + ", ".join(sorted(set(unknown))[:10])
            + ". Name tests as <technique-slug>/<test-name>, as registered in the portal."
        )
    return resolved


def results_ingest(
    records: list[RunRecord], source: str, internal: bool = False, now: datetime | None = None
) -> IngestResult:
    """Store runs (idempotent on source + external id) and update the tests' states.

    All or nothing: an unknown test anywhere in the file rejects the whole file.
    """
    now = now or timezone.now()
    tests = _resolve_tests(records)
    with transaction.atomic():
        runs = []
        for record in records:
            key = (
                record.external_id
                or hashlib.sha256(
                    f"{record.test}|{record.started_at}|{record.tfmot_sha}|{record.outcome}".encode()
                ).hexdigest()[:40]
            )
            runs.append(
                ConvergenceRun(
                    test=tests[record.test],
                    started_at=record.started_at or now,
                    tfmot_sha=record.tfmot_sha,
                    tf_version=record.tf_version,
                    python_version=record.python_version,
                    outcome=record.outcome,
                    metrics=record.metrics,
                    source=source,
                    external_id=key,
                    log_url=record.log_url,
                    internal=internal,
                )
            )
        before = ConvergenceRun.objects.count()
        ConvergenceRun.objects.bulk_create(runs, ignore_conflicts=True)
        created = ConvergenceRun.objects.count() - before
        touched = {t.pk: t for t in tests.values()}.values()
        for test in touched:
            convergence_state_update(test, now)
        bump_data_version()
    return IngestResult(created, len(runs) - created, sorted(str(t) for t in touched))


# --- culprit range -----------------------------------------------------------------------


def culprit_range_fetch(test: ConvergenceTest, client=None) -> CulpritRange | None:
    """Commits and merged PRs between the alert's last good and first bad run."""
    if not (test.alert_open and test.last_good_run and test.first_bad_run):
        return None
    base, head = test.last_good_run.tfmot_sha, test.first_bad_run.tfmot_sha
    if not base or not head:
        return None
    culprit, _ = CulpritRange.objects.get_or_create(test=test, base_sha=base, head_sha=head)
    if culprit.fetched_at and not culprit.error:
        return culprit
    try:
        client = client or GitHubClient()
        comparison = client.compare(base, head)
    except GitHubError as error:  # the page shows the error, keeps the SHAs
        culprit.error = fit(CulpritRange, "error", error)
        culprit.save(update_fields=["error"])
        return culprit
    culprit.commits = [
        {
            "sha": c["sha"],
            "message": (c.get("commit", {}).get("message") or "").splitlines()[0][:200]
            if c.get("commit")
            else "",
            "author": (c.get("author") or {}).get("login", ""),
            "url": c.get("html_url", ""),
        }
        for c in comparison.commits
    ]
    culprit.pull_requests = [
        {
            "number": p["number"],
            "title": p.get("title", "")[:200],
            "url": p.get("html_url", ""),
            "merged_at": p.get("merged_at"),
        }
        for p in comparison.merged_pull_requests
    ]
    culprit.fetched_at, culprit.error = timezone.now(), ""
    culprit.save()
    return culprit


# --- release gate -------------------------------------------------------------------


@dataclass
class Readiness:
    sha: str
    ready: bool
    tests: list[dict]

    @property
    def blockers(self) -> list[dict]:
        return [t for t in self.tests if not t["green"]]


def release_readiness(sha: str) -> Readiness:
    """Every convergence test of every launched technique green at this commit?"""
    sha = sha.strip().lower()
    tests = list(
        ConvergenceTest.objects.filter(
            technique__stage=Stage.LAUNCHED, kind=ConvergenceTest.Kind.CONVERGENCE
        ).select_related("technique")
    )
    at_sha: dict[int, ConvergenceRun] = {}
    if sha:
        for sha_run in ConvergenceRun.objects.filter(
            test__in=tests, tfmot_sha__startswith=sha
        ).order_by("started_at"):
            at_sha[sha_run.test_id] = sha_run  # the latest run at that commit wins
    rows = []
    for test in tests:
        run = at_sha.get(test.pk)
        if run is None:
            reason = "no run at this commit"
        elif not run.is_green:
            reason = f"{run.get_outcome_display().lower()} at this commit"
        else:
            reason = ""
        rows.append(
            {
                "test": str(test),
                "technique": test.technique.name,
                "green": run is not None and run.is_green,
                "reason": reason,
                "run_at": run.started_at.isoformat() if run else None,
                "log_url": run.log_url if run and not run.internal else "",
            }
        )
    return Readiness(sha, bool(sha) and all(r["green"] for r in rows), rows)

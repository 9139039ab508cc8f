"""Convergence workflows: one ingestion path, per-test state, culprit ranges, release gate."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from adherence.services import evaluation_request
from ci_status import selectors as ci_selectors
from ci_status.community import path_matches
from convergence.changepoints import change_points_detect
from convergence.models import (
    FLAKY_RATE,
    FLAKY_WINDOW,
    BenefitTarget,
    BisectionStep,
    CIToken,
    ConvergenceRun,
    ConvergenceTest,
    CulpritRange,
    State,
)
from convergence.parsers import ResultsError, RunRecord, parse_results
from convergence.permissions import internal_visibility
from convergence.presenters import visible_strip
from github import GitHubClient, GitHubError
from techniques.cache import bump_data_version
from techniques.models import Stage, Technique
from techniques.text import fit

logger = logging.getLogger(__name__)
RECENT = 30
BATCH = 500  # runs per INSERT statement


# --- state (after TestGrid) ------------------------------------------------------------


@dataclass
class TestState:
    state: str
    alert_open: bool
    flip_rate: float
    last_good: ConvergenceRun | None
    first_bad: ConvergenceRun | None
    # When the current state began: the first bad run of an open alert, the moment the
    # latest run went stale, the first run of the current green streak.
    since: datetime | None = None
    # The run whose time ``since`` derives from (None: no run, or the clock).
    since_run: ConvergenceRun | None = None


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
    green_streak_start: ConvergenceRun | None = None
    alert = False
    last_good: ConvergenceRun | None = None
    first_bad: ConvergenceRun | None = None
    candidate_bad: ConvergenceRun | None = None
    previous_good: ConvergenceRun | None = None
    reds = greens = 0
    for run in runs:
        if run.is_green:
            green_streak_start = green_streak_start if greens else run
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
    stale_at = latest.started_at + timedelta(hours=2 * cadence_hours)
    since, since_run = None, None
    if now > stale_at:
        state, since, since_run = State.STALE, stale_at, latest
    elif alert and first_bad is not None:  # an open alert always has its first bad run
        state, since, since_run = State.FAILING, first_bad.started_at, first_bad
    elif flip >= FLAKY_RATE:
        state, since_run = State.FLAKY, latest  # since the run that made it flaky
    else:
        state = State.PASSING
        if greens and green_streak_start:
            since, since_run = green_streak_start.started_at, green_streak_start
    return TestState(
        state,
        alert,
        round(flip, 3),
        last_good if alert else None,
        first_bad if alert else None,
        since,
        since_run,
    )


TEST_FIELDS = [
    "state",
    "alert_open",
    "flip_rate",
    "last_good_run",
    "first_bad_run",
    "last_run",
    "state_since",
    "failing_since",
    "recent",
    "benefit_regressed",
    "state_internal",
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
    test.failing_since = computed.first_bad.started_at if computed.first_bad else None
    if computed.since:
        test.state_since = computed.since
    elif previous != test.state or test.state_since is None:
        test.state_since = now
    test.state_internal = any(
        run is not None and run.internal
        for run in (computed.since_run, computed.last_good, computed.first_bad)
    )
    test.recent = [
        {
            "id": r.pk,
            "o": r.outcome,
            "at": r.started_at.isoformat(),
            "sha": r.tfmot_sha[:12],
            "i": r.internal,
            "log": r.log_url,
            "miss": _misses(r, targets),
        }
        for r in runs[-RECENT:]
    ]
    regressed = False
    public_runs = [r for r in runs if not r.internal]
    for target in targets:
        _apply_figures(target, runs, "")
        _apply_figures(target, public_runs, "public_")
        regressed = regressed or target.regressed
    test.benefit_regressed = regressed


def _misses(run: ConvergenceRun, targets: list) -> list[str]:
    """The documented figures this run misses, in words ("top1_accuracy 75.1% vs
    documented at least 76.1% ± 0.5"): what a grid cell says on hover."""
    return [
        f"{target.metric} {run.metrics[target.metric]:g}{target.unit} vs documented "
        f"{target.get_comparator_display()} {target.documented_value:g}{target.unit}"
        f" ± {target.tolerance:g}"
        for target in targets
        if isinstance(run.metrics.get(target.metric), int | float)
        and target.misses(run.metrics[target.metric])
    ]


def _apply_figures(target: BenefitTarget, runs: list, prefix: str) -> None:
    """Set a target's trend, latest value and regression (fields named with ``prefix``)
    from ``runs``: all of them for the full figures, the public ones for the public."""
    measured = [r for r in runs if target.metric in r.metrics][-RECENT:]
    values = [r.metrics[target.metric] for r in measured]
    latest = values[-1] if values else None
    missed = latest is not None and target.misses(latest)
    setattr(target, f"{prefix}trend", values)
    setattr(target, f"{prefix}trend_runs", [r.pk for r in measured])
    setattr(target, f"{prefix}latest_value", latest)
    setattr(target, f"{prefix}regressed", missed)
    setattr(target, f"{prefix}regressed_since", _regressed_since(target, runs) if missed else None)


def _regressed_since(target: BenefitTarget, runs: list) -> datetime | None:
    """The start of the first run of the current streak of runs that miss the target."""
    since = None
    for run in reversed(runs):
        value = run.metrics.get(target.metric)
        if value is None:
            continue
        if not target.misses(value):
            break
        since = run.started_at
    return since


TARGET_FIELDS = [
    "trend",
    "trend_runs",
    "public_trend_runs",
    "latest_value",
    "regressed",
    "regressed_since",
    "public_trend",
    "public_latest_value",
    "public_regressed",
    "public_regressed_since",
]


def convergence_state_update(test: ConvergenceTest, now: datetime | None = None) -> ConvergenceTest:
    """Recompute and store one test's state, recent strip and benefit margins."""
    now = now or timezone.now()
    runs = list(reversed(test.runs.order_by("-started_at", "-id")[:HISTORY]))
    targets = list(test.targets.all())
    _apply_state(test, runs, targets, now)
    BenefitTarget.objects.bulk_update(targets, TARGET_FIELDS)
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
        fields = (
            "id",
            "test_id",
            "started_at",
            "outcome",
            "tfmot_sha",
            "internal",
            "metrics",
            "log_url",
        )
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
            BenefitTarget.objects.bulk_update(targets, TARGET_FIELDS)
    bump_data_version(registry=False, app="convergence")
    return len(ids)


# --- ingestion: one path for Actions artifacts, the upload API and the command ---------


@dataclass
class IngestResult:
    created: int
    duplicates: int
    tests: list[str]


def _resolve_tests(records: list[RunRecord]) -> dict[str, ConvergenceTest]:
    """Map each record's test reference to a registered test, or refuse the whole file.
    Only the tests whose name a record could mean are read ("<slug>/<name>" or a bare
    name; a slug holds no "/"), so an ingestion's cost does not grow with the registry."""
    refs = {record.test for record in records}
    names = refs | {ref.split("/", 1)[-1] for ref in refs}
    tests = list(ConvergenceTest.objects.filter(name__in=names).select_related("technique"))
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


def run_key(record: RunRecord) -> str:
    """The idempotency key of a run: the source's id, else a digest of everything the
    record says, so runs that differ in anything (metrics included) stay distinct while
    the same file uploaded twice is stored once."""
    if record.external_id:
        return record.external_id
    described = json.dumps(
        {
            **dataclasses.asdict(record),
            "started_at": record.started_at.isoformat() if record.started_at else None,
        },
        sort_keys=True,
    )
    return "sha256:" + hashlib.sha256(described.encode()).hexdigest()


def _insert_new(runs: list[ConvergenceRun]) -> list[int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the rows this statement created,
    whatever other uploads commit at the same time (PostgreSQL and SQLite alike)."""
    if not runs:
        return []
    meta = ConvergenceRun._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        f.get_db_prep_save(getattr(run, f.attname), connection) for run in runs for f in fields
    ]
    # Identifiers come from the model's metadata, values are parameters.
    table, columns = quote(meta.db_table), ", ".join(quote(str(f.column)) for f in fields)
    values, pk = ", ".join([row] * len(runs)), quote(str(meta.pk.column))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING RETURNING {pk}"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def results_ingest(
    records: list[RunRecord],
    source: str,
    internal: bool = False,
    now: datetime | None = None,
    token: CIToken | None = None,
) -> IngestResult:
    """Store runs (idempotent on source + visibility + key) and update the tests' states.

    All or nothing: an unknown test anywhere in the file rejects the whole file, and a
    test outside the uploading token's scope refuses it (PermissionDenied). The created
    count comes from the rows the insert returned, not from counting the table.
    """
    now = now or timezone.now()
    tests = _resolve_tests(records)
    if token is not None:
        refused = token.refused_tests({t.pk: t for t in tests.values()}.values())
        if refused:
            raise PermissionDenied(
                f"The token '{token.name}' may not upload results for "
                + ", ".join(sorted(str(t) for t in refused)[:10])
                + ": ask the TFMOT team to add the technique or its owner group to the token."
            )
    runs = [
        ConvergenceRun(
            test=tests[record.test],
            started_at=record.started_at or now,
            tfmot_sha=record.tfmot_sha,
            tf_version=record.tf_version,
            python_version=record.python_version,
            outcome=record.outcome,
            metrics=record.metrics,
            source=source,
            external_id=run_key(record),
            log_url=record.log_url,
            internal=internal,
        )
        for record in records
    ]
    # One order for every upload (test, key): concurrent uploads of the same runs wait
    # for each other instead of deadlocking on the unique index or the tests' rows.
    runs.sort(key=lambda run: (run.test_id, run.external_id))
    with transaction.atomic():
        created = [
            pk for i in range(0, len(runs), BATCH) for pk in _insert_new(runs[i : i + BATCH])
        ]
        touched = sorted({t.pk: t for t in tests.values()}.values(), key=lambda t: t.pk)
        for test in touched:
            convergence_state_update(test, now)
        change_points_detect(created, now)  # only the series that received new runs
        technique_ids = {test.technique_id for test in touched}
        bump_data_version(registry=False, app="convergence", techniques=technique_ids)
        evaluation_request(technique_ids)  # gaps follow the runs
    return IngestResult(len(created), len(runs) - len(created), sorted(str(t) for t in touched))


# --- results in a workflow run's artifacts -------------------------------------------------
ARTIFACT_PREFIX = "convergence"
# The workflows whose runs carry results (by name; the ci-green rule leaves them out).
CONVERGENCE_WORKFLOWS = ("convergence", "Convergence tests", "convergence-tests")


def actions_run_records(client, run_id: int, head_sha: str, html_url: str) -> list[RunRecord]:
    """The results in a workflow run's ``convergence*`` artifacts (zips of JSON or JUnit
    files), keyed by the run (``<run id>:<test>``) and defaulting to its commit and page:
    what the nightly ingestion stores and what a bisection reads back."""
    records: list[RunRecord] = []
    artifacts = [a for a in client.run_artifacts(run_id) if a["name"].startswith(ARTIFACT_PREFIX)]
    for artifact in artifacts:
        try:
            archive = zipfile.ZipFile(io.BytesIO(client.download_artifact(artifact["id"])))
        except zipfile.BadZipFile as error:
            raise ResultsError(f"Artifact {artifact['name']} is not a zip file.") from error
        for name in archive.namelist():
            for record in parse_results(archive.read(name), filename=name):
                record.external_id = f"{run_id}:{record.external_id or record.test}"
                record.tfmot_sha = record.tfmot_sha or head_sha
                record.log_url = record.log_url or html_url
                records.append(record)
    return records


def bisection_run_ids() -> list[int]:
    """Workflow runs that a bisection dispatched (the nightly ingestion leaves them)."""
    found = BisectionStep.objects.filter(run_id__isnull=False).values_list("run_id", flat=True)
    return [run_id for run_id in found if run_id is not None]


def actions_results_ingest(client: GitHubClient | None = None, limit: int = 50) -> dict:
    """Store the results in the artifacts of the latest synced convergence workflow runs
    (each run once; ingestion is idempotent on its key anyway). Runs that a bisection
    dispatched report to their bisection, not to the test's history."""
    candidates = ci_selectors.completed_runs(CONVERGENCE_WORKFLOWS, limit)
    # Read only the stored keys of these runs ("<run id>:<test>"), never every run's.
    prefixes = Q(pk__in=[])
    for ci_run in candidates:
        prefixes |= Q(external_id__startswith=f"{ci_run.run_id}:")
    done = ConvergenceRun.objects.filter(prefixes, source=ConvergenceRun.Source.ACTIONS)
    done_runs = {key.split(":", 1)[0] for key in done.values_list("external_id", flat=True)}
    done_runs |= {str(run_id) for run_id in bisection_run_ids()}
    client = client or GitHubClient()
    summary = {"runs": 0, "stored": 0, "rejected": 0}
    for ci_run in candidates:
        if str(ci_run.run_id) in done_runs:
            continue
        try:
            records = actions_run_records(client, ci_run.run_id, ci_run.head_sha, ci_run.html_url)
            if records:
                summary["stored"] += results_ingest(records, ConvergenceRun.Source.ACTIONS).created
        except (GitHubError, ResultsError) as error:
            logger.warning("Workflow run %s: results not ingested: %s", ci_run.run_id, error)
            summary["rejected"] += 1
            continue
        summary["runs"] += 1
    return summary


# --- culprit range -----------------------------------------------------------------------


def _short_path(path: str) -> str:
    """quantization/keras/quantize.py for .../python/core/quantization/keras/quantize.py."""
    return path.split("/python/core/", 1)[-1]


def culprit_rank(pulls: list[dict], files: dict[int, list[str]], globs: list[str]) -> list[dict]:
    """The range's merged PRs, most likely culprit first: by how many of their changed
    files lie in the technique's paths, then the most recently merged. Each PR says why
    ("changes quantization/keras/quantize.py") or that it does not touch the technique."""
    ranked = []
    for order, pull in enumerate(pulls):
        changed = files.get(pull["number"])
        touching = [f for f in changed or [] if any(path_matches(f, g) for g in globs)]
        if changed is None:
            reason = "changed files unknown"
        elif touching:
            shown = ", ".join(_short_path(f) for f in touching[:3])
            more = f" and {len(touching) - 3} more" if len(touching) > 3 else ""
            reason = f"changes {shown}{more}"
        else:
            reason = "does not touch the technique's paths"
        ranked.append({**pull, "overlap": len(touching), "reason": reason, "_order": order})
    ranked.sort(key=lambda p: (p["merged_at"] or "", p["_order"]), reverse=True)
    ranked.sort(key=lambda p: -p["overlap"])
    for pull in ranked:
        del pull["_order"]
    return ranked


def culprit_range_fetch(
    test: ConvergenceTest, client=None, raise_transient: bool = False
) -> CulpritRange | None:
    """Commits and merged PRs between the alert's last good and first bad run."""
    if not (test.alert_open and test.last_good_run and test.first_bad_run):
        return None
    base, head = test.last_good_run.tfmot_sha, test.first_bad_run.tfmot_sha
    if not base or not head:
        return None
    return culprit_range_between(test, base, head, client, raise_transient)


def culprit_range_between(
    test: ConvergenceTest, base: str, head: str, client=None, raise_transient: bool = False
) -> CulpritRange:
    """The range ``base..head`` of ``test`` (stored once; fetched again after an error):
    its commits, each with the merged PR that brought it, and the PRs ranked. With
    ``raise_transient``, an error that says GitHub is not answering now (unreachable,
    5xx, rate limit) is stored and raised, for a caller with more ranges to fetch."""
    culprit, _ = CulpritRange.objects.get_or_create(test=test, base_sha=base, head_sha=head)
    if culprit.fetched_at and not culprit.error:
        return culprit
    try:
        client = client or GitHubClient(test.technique.repository_name)
        comparison = client.compare(base, head)
    except GitHubError as error:  # the page shows the error, keeps the SHAs
        culprit.error = fit(CulpritRange, "error", error)
        culprit.save(update_fields=["error"])
        if raise_transient and error.transient:
            raise
        return culprit
    culprit.commits = [
        {
            "sha": c["sha"],
            "message": (c.get("commit", {}).get("message") or "").splitlines()[0][:200]
            if c.get("commit")
            else "",
            "author": (c.get("author") or {}).get("login", ""),
            "url": c.get("html_url", ""),
            "pr": next((p["number"] for p in comparison.pull_requests.get(c["sha"], [])), None),
        }
        for c in comparison.commits
    ]
    pulls = [
        {
            "number": p["number"],
            "title": p.get("title", "")[:200],
            "url": p.get("html_url", ""),
            "merged_at": p.get("merged_at"),
            "author": (p.get("user") or {}).get("login", ""),
        }
        for p in comparison.merged_pull_requests
    ]
    try:
        files = {
            p["number"]: [f["filename"] for f in client.pull_files(p["number"])] for p in pulls
        }
    except GitHubError as error:  # ranked without files: recency alone
        logger.warning("PR files unavailable for %s: %s", culprit, error)
        files = {}
    culprit.pull_requests = culprit_rank(pulls, files, test.technique.path_globs or [])
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


def release_readiness(sha: str, user=None) -> Readiness:
    """Every launched technique has a convergence test, and none blocks a release at
    this commit (``ConvergenceTest.release_blocker``: no run there, a red run there, an
    open alert, a stale test), judged on the runs ``user`` may see (None: the public).
    A hidden internal failure shows only as "an internal failure is open", never with
    its commit or time."""
    sha = sha.strip().lower()
    tests = list(
        ConvergenceTest.objects.filter(
            technique__stage=Stage.LAUNCHED, kind=ConvergenceTest.Kind.CONVERGENCE
        )
        .select_related("technique", "last_good_run", "first_bad_run")
        .order_by("technique__name", "name")
    )
    at_sha: dict[int, ConvergenceRun] = {}
    if sha:
        for sha_run in (
            ConvergenceRun.objects.visible_to(user)
            .filter(test__in=tests, tfmot_sha__startswith=sha)
            .order_by("started_at", "id")
        ):
            at_sha[sha_run.test_id] = sha_run  # the latest run at that commit wins
    sees_internal = internal_visibility(user)
    rows: list[dict] = [
        {
            "test": "",
            "technique": technique.name,
            "technique_slug": technique.slug,
            "green": False,
            "reason": "no convergence test",
            "conditions": [],
            "run_at": None,
            "log_url": "",
            "internal_failure_open": False,
        }
        for technique in Technique.objects.filter(stage=Stage.LAUNCHED)
        .exclude(convergence_tests__kind=ConvergenceTest.Kind.CONVERGENCE)
        .order_by("name")
    ]
    for test in tests:
        run = at_sha.get(test.pk) if sha else None
        visible = sees_internal(test.technique_id)
        alert_hidden = not visible and any(
            r is not None and r.internal for r in (test.last_good_run, test.first_bad_run)
        )
        reason = test.release_blocker(run, alert_hidden=alert_hidden)
        rows.append(
            {
                "test": str(test),
                "technique": test.technique.name,
                "technique_slug": test.technique.slug,
                "green": not reason,
                "reason": reason,
                "conditions": [str(c) for c in test.conditions],
                "run_at": run.started_at.isoformat() if run else None,
                "log_url": run.log_url if run else "",
                "internal_failure_open": not visible
                and visible_strip(test, show_internal=False)[1],
            }
        )
    return Readiness(sha, bool(sha) and all(r["green"] for r in rows), rows)

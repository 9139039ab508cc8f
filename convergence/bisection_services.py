"""Bisections: start one per alert, dispatch the runs the plan asks for, read their
results back, verify the culprit, open its revert and follow it (docs/bisection.md).

The search itself is ``convergence.bisection`` (plain functions); this module keeps its
state in the database (``Bisection``, ``BisectionStep``, ``Revert``) and talks to GitHub
through the one client. ``bisections_advance`` is what the beat task and the ingestion
path run: idempotent, and each bisection is advanced under a row lock, so two workers
never dispatch the same run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from convergence import bisection as algo
from convergence.models import (
    Bisection,
    BisectionStep,
    ChangePoint,
    ConvergenceRun,
    ConvergenceTest,
    CulpritRange,
    Revert,
)
from convergence.parsers import ResultsError
from convergence.permissions import OPEN_REVERT
from convergence.services import (
    actions_run_records,
    bisection_run_ids,
    culprit_range_between,
    culprit_range_fetch,
)
from github import GitHubClient, GitHubError
from techniques.cache import bump_data_version
from techniques.text import fit, inert

logger = logging.getLogger(__name__)
OUT = (BisectionStep.Status.DISPATCHED, BisectionStep.Status.RUNNING)
# A dispatched run is looked for among the runs created from this long before the dispatch
# (clocks differ a little between the portal and GitHub).
CLOCK_SLACK = timedelta(seconds=30)


class Clients:
    """One GitHub client per repository for one pass (tests pass a factory)."""

    def __init__(self, factory=None):
        self.factory = factory or (lambda repo: GitHubClient(repo))
        self.made: dict[str, GitHubClient] = {}
        self.refs: dict[str, str] = {}

    def __call__(self, repo: str) -> GitHubClient:
        if repo not in self.made:
            self.made[repo] = self.factory(repo)
        return self.made[repo]

    def ref(self, repo: str) -> str:
        """The branch the workflow runs from: BISECTION_REF, else the default branch."""
        if settings.BISECTION_REF:
            return settings.BISECTION_REF
        if repo not in self.refs:
            self.refs[repo] = self(repo).repository().get("default_branch") or "main"
        return self.refs[repo]


# --- start -----------------------------------------------------------------------------
def _range_commits(culprit: CulpritRange) -> list[dict]:
    """The range's commits (oldest first) with their PR and its rank (files it touches)."""
    pulls = {p["number"]: p for p in culprit.pull_requests}
    commits = []
    for commit in culprit.commits:
        pull = pulls.get(commit.get("pr")) if commit.get("pr") else None
        commits.append(
            {
                "sha": commit["sha"],
                "message": commit.get("message", ""),
                "url": commit.get("url", ""),
                "author": commit.get("author", ""),
                "pr": pull["number"] if pull else None,
                "pr_url": pull.get("url", "") if pull else "",
                "pr_title": pull.get("title", "") if pull else "",
                "pr_author": pull.get("author", "") if pull else "",
                "rank": pull.get("overlap", 0) if pull else 0,
                "reason": pull.get("reason", "") if pull else "no merged PR",
            }
        )
    return commits


def bisection_start_for_alert(test: ConvergenceTest, clients: Clients) -> Bisection | None:
    """The bisection of the test's open alert (one per alert), started once its culprit
    range is known; None when there is nothing to bisect."""
    culprit = culprit_range_fetch(
        test, client=clients(test.technique.repository_name), raise_transient=True
    )
    if culprit is None or culprit.error or not culprit.commits:
        return None
    existing = Bisection.objects.filter(
        test=test,
        trigger=Bisection.Trigger.RED_STREAK,
        range_base=culprit.base_sha,
        range_head=culprit.head_sha,
    ).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Bisection.objects.create(
                test=test,
                trigger=Bisection.Trigger.RED_STREAK,
                culprit_range=culprit,
                repository=test.technique.repository_name,
                range_base=culprit.base_sha,
                range_head=culprit.head_sha,
                commits=_range_commits(culprit),
                internal=test.state_internal,
            )
    except IntegrityError:  # another worker started it first
        return Bisection.objects.filter(
            test=test, range_base=culprit.base_sha, range_head=culprit.head_sha
        ).first()


def bisection_start_for_change_point(point: ChangePoint, clients: Clients) -> Bisection | None:
    """The bisection of a regression change point: from the last run of the series before
    the shift to the change point's commit."""
    before = (
        ConvergenceRun.objects.filter(
            test=point.test,
            started_at__lt=point.run_started_at,
            metrics__has_key=point.metric,
            internal=point.internal,
        )
        .exclude(tfmot_sha="")
        .order_by("-started_at", "-id")
        .first()
    )
    if before is None or not point.sha or before.tfmot_sha == point.sha:
        return None
    test = point.test
    if _red_streak_covers(test, point.sha):
        return None  # the red streak's bisection is the search for this commit already
    culprit = culprit_range_between(
        test, before.tfmot_sha, point.sha, clients(test.technique.repository_name), True
    )
    if culprit.error or not culprit.commits:
        return None
    try:
        with transaction.atomic():
            return Bisection.objects.create(
                test=test,
                trigger=Bisection.Trigger.CHANGE_POINT,
                change_point=point,
                culprit_range=culprit,
                repository=test.technique.repository_name,
                range_base=culprit.base_sha,
                range_head=culprit.head_sha,
                commits=_range_commits(culprit),
                metric=point.metric,
                before_mean=point.before_mean,
                after_mean=point.after_mean,
                internal=point.internal,
            )
    except IntegrityError:
        return Bisection.objects.filter(change_point=point).first()


def _red_streak_covers(test: ConvergenceTest, sha: str) -> bool:
    """Whether a red streak's bisection of ``test`` searches a range holding ``sha``: a
    break that fails the test and shifts its metric at once is one alert, one search."""
    ranges = Bisection.objects.filter(test=test, trigger=Bisection.Trigger.RED_STREAK)
    return any(c["sha"] == sha for b in ranges.only("commits") for c in b.commits)


def bisections_start(clients: Clients) -> int:
    """A bisection for each open alert and regression change point that has none; returns
    how many started. When GitHub is not answering (unreachable, 5xx, rate limit), the
    pass starts no other: each range would wait through the client's retries, holding a
    worker process for minutes; the next pass tries again."""
    before = Bisection.objects.count()
    alerts = ConvergenceTest.objects.filter(alert_open=True).select_related(
        "technique", "last_good_run", "first_bad_run"
    )
    points = ChangePoint.objects.filter(regression=True, bisection__isnull=True).select_related(
        "test__technique"
    )
    starts: list[tuple[Any, Callable[[Any, Clients], Bisection | None]]]
    starts = [(test, bisection_start_for_alert) for test in alerts]
    starts += [(point, bisection_start_for_change_point) for point in points]
    for subject, start in starts:
        try:
            start(subject, clients)
        except GitHubError as error:
            logger.warning("Bisection of %s not started: %s", subject, error)
            if error.transient:
                break
    return Bisection.objects.count() - before


# --- results -----------------------------------------------------------------------------
def step_verdict(bisection: Bisection, outcome: str, metrics: dict) -> str:
    """A run's verdict: for a red streak its outcome; for a change point its metric,
    judged by ``bisection.metric_is_bad``."""
    if outcome in {ConvergenceRun.Outcome.ERROR, ConvergenceRun.Outcome.SKIPPED, ""}:
        return BisectionStep.Verdict.FLAKY
    if bisection.trigger == Bisection.Trigger.CHANGE_POINT:
        value = metrics.get(bisection.metric)
        if value is None or bisection.before_mean is None or bisection.after_mean is None:
            return BisectionStep.Verdict.FLAKY
        bad = algo.metric_is_bad(float(value), bisection.before_mean, bisection.after_mean)
        return BisectionStep.Verdict.BAD if bad else BisectionStep.Verdict.GOOD
    if outcome in ConvergenceRun.RED:
        return BisectionStep.Verdict.BAD
    return BisectionStep.Verdict.GOOD


def _known_results(bisection: Bisection) -> dict[str, list[algo.Verdict]]:
    """Results the test already has inside the range (nightly runs, uploads): never
    dispatched again. Then the search steps' verdicts."""
    shas = [c["sha"] for c in bisection.commits]
    results: dict[str, list[algo.Verdict]] = {}
    runs = ConvergenceRun.objects.filter(test_id=bisection.test_id, tfmot_sha__in=shas).exclude(
        outcome=ConvergenceRun.Outcome.SKIPPED
    )
    if not bisection.internal:
        runs = runs.filter(internal=False)
    for run in runs.only("tfmot_sha", "outcome", "metrics").order_by("started_at"):
        verdict = step_verdict(bisection, run.outcome, run.metrics)
        if verdict != BisectionStep.Verdict.FLAKY:
            results.setdefault(run.tfmot_sha, []).append(algo.Verdict(verdict))
    for step in bisection.steps.all():
        if step.purpose == BisectionStep.Purpose.SEARCH and step.verdict:
            results.setdefault(step.sha, []).append(algo.Verdict(step.verdict))
    return results


def _find_run(step: BisectionStep, runs: list[dict], claimed: set[int], others: set[str]):
    """The workflow run a dispatch created: among workflow_dispatch runs created since
    the dispatch, the one whose title (the workflow's run-name) names the commit, else
    the oldest that nobody claimed and that names no other commit being tested."""
    fresh = [r for r in runs if r["id"] not in claimed]
    named = [r for r in fresh if step.sha in (r.get("display_title") or "")]
    pool = named or [
        r for r in fresh if not any(sha in (r.get("display_title") or "") for sha in others)
    ]
    return min(pool, key=lambda r: (r.get("created_at") or "", r["id"])) if pool else None


def _poll_steps(bisection: Bisection, clients: Clients, now: datetime) -> str:
    """Find the runs of dispatched steps and read the results of completed ones. Returns
    why the bisection must stop ("" to go on)."""
    client = clients(bisection.repository)
    workflow, _, _ = bisection.test.dispatch_settings()
    out = [s for s in bisection.steps.all() if s.status in OUT]
    if not out:
        return ""
    timeout = timedelta(seconds=settings.BISECTION_RUN_TIMEOUT_SECONDS)
    if any(s.run_id is None for s in out):
        since = min(s.dispatched_at for s in out if s.run_id is None) - CLOCK_SLACK
        runs = client.workflow_dispatch_runs(workflow, since)
        claimed = set(bisection_run_ids())
        for step in sorted((s for s in out if s.run_id is None), key=lambda s: s.dispatched_at):
            others = {s.sha for s in out if s.sha != step.sha}
            run = _find_run(step, runs, claimed, others)
            if run is None:
                continue
            claimed.add(run["id"])
            step.run_id, step.run_url = run["id"], run.get("html_url", "")
            step.status = BisectionStep.Status.RUNNING
            step.save(update_fields=["run_id", "run_url", "status"])
    for step in out:
        if step.run_id is not None:
            run = client.workflow_run(step.run_id)
            if run.get("status") == "completed":
                _read_result(bisection, step, client, run, now)
                continue
        if now - step.dispatched_at > timeout:
            step.status, step.finished_at = BisectionStep.Status.NO_RESULT, now
            step.note = fit(BisectionStep, "note", f"no result within {_hours(timeout)}")
            step.save(update_fields=["status", "finished_at", "note"])
            return (
                f"The run at {step.sha[:7]} never reported within {_hours(timeout)}"
                + ("" if step.run_id else " (GitHub never started it)")
                + "."
            )
    return ""


def _hours(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds} s"


def _read_result(bisection, step, client, run: dict, now: datetime) -> None:
    test_name = str(bisection.test)
    try:
        records = actions_run_records(
            client, step.run_id, step.sha, run.get("html_url", step.run_url)
        )
    except (GitHubError, ResultsError) as error:
        records, step.note = [], fit(BisectionStep, "note", f"results unreadable: {error}")
    mine = [r for r in records if r.test in {test_name, bisection.test.name}]
    record = next((r for r in mine if r.tfmot_sha.startswith(step.sha[:7])), None) or (
        mine[0] if mine else None
    )
    if record is None:
        step.outcome = ConvergenceRun.Outcome.ERROR
        step.note = step.note or fit(
            BisectionStep, "note", f"run {run.get('conclusion') or 'ended'} without results"
        )
    else:
        step.outcome, step.metrics = record.outcome, record.metrics
    step.verdict = step_verdict(bisection, step.outcome, step.metrics)
    step.status, step.finished_at = BisectionStep.Status.DONE, now
    step.save()


# --- advance -----------------------------------------------------------------------------
def _slots(repository: str) -> int:
    """Runs this repository may still start (BISECTION_MAX_CONCURRENT minus those out)."""
    out = BisectionStep.objects.filter(bisection__repository=repository, status__in=OUT).count()
    return max(settings.BISECTION_MAX_CONCURRENT - out, 0)


def _finish(bisection: Bisection, state: str, reason: str, now: datetime, **fields) -> None:
    bisection.state, bisection.finished_at = state, now
    bisection.reason = fit(Bisection, "reason", reason)
    for key, value in fields.items():
        setattr(bisection, key, value)
    bisection.save()


def _unclaimed_runs(bisection: Bisection, client, workflow: str) -> list[dict]:
    """Runs of the workflow, created since the bisection was last stored, whose title
    names its test and that no step claims: asked for by a pass whose worker died
    before it stored them (GitHub has the run, the database rolled the step back)."""
    since = bisection.updated_at - CLOCK_SLACK
    claimed = set(bisection_run_ids())
    test = str(bisection.test)
    return [
        run
        for run in client.workflow_dispatch_runs(workflow, since)
        if run["id"] not in claimed and test in (run.get("display_title") or "")
    ]


def _adopt(bisection: Bisection, sha: str, purpose: str, attempt: int, runs: list[dict], now):
    """The step of an unclaimed run at ``sha`` (removed from ``runs``), or None."""
    run = next((r for r in runs if sha in (r.get("display_title") or "")), None)
    if run is None:
        return None
    runs.remove(run)
    created = run.get("created_at")
    return BisectionStep.objects.create(
        bisection=bisection,
        sha=sha,
        purpose=purpose,
        attempt=attempt,
        run_id=run["id"],
        run_url=run.get("html_url", ""),
        status=BisectionStep.Status.RUNNING,
        dispatched_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else now,
    )


def _dispatch(bisection: Bisection, shas, purpose: str, clients: Clients, now) -> str:
    """Dispatch the test at each commit, unless a run that a killed worker asked for is
    there already (that run becomes the step); returns why GitHub refused ("" when it
    did not)."""
    client = clients(bisection.repository)
    workflow, sha_input, test_input = bisection.test.dispatch_settings()
    try:
        unclaimed = _unclaimed_runs(bisection, client, workflow)
    except GitHubError:  # no workflow, or GitHub away: the dispatch itself will say
        unclaimed = []
    for sha in shas:
        attempt = 1 + bisection.steps.filter(sha=sha, purpose=purpose).count()
        if _adopt(bisection, sha, purpose, attempt, unclaimed, now):
            bisection.runs_dispatched += 1
            continue
        try:
            client.dispatch_workflow(
                workflow,
                clients.ref(bisection.repository),
                {sha_input: sha, test_input: str(bisection.test)},
            )
        except GitHubError as error:
            return f"GitHub refused to run {workflow} at {sha[:7]}: {error}"
        BisectionStep.objects.create(
            bisection=bisection, sha=sha, purpose=purpose, attempt=attempt, dispatched_at=now
        )
        bisection.runs_dispatched += 1
    bisection.save(update_fields=["runs_dispatched", "updated_at"])
    return ""


def bisection_advance(bisection: Bisection, clients: Clients, now: datetime | None = None) -> str:
    """One move of one bisection: poll its runs, then do what the plan says. Runs under a
    row lock (another worker skips it meanwhile). Returns its state."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Bisection.objects.select_for_update(skip_locked=True)
            .select_related("test__technique")
            .filter(
                pk=bisection.pk, state__in=[Bisection.State.RUNNING, Bisection.State.CULPRIT_FOUND]
            )
            .first()
        )
        if locked is None:
            return bisection.state
        bisection = locked
        try:
            stop = _poll_steps(bisection, clients, now)
        except GitHubError as error:  # GitHub is away: try again on the next pass
            logger.warning("Bisection %s: runs not read: %s", bisection.pk, error)
            return bisection.state
        if stop:
            _finish(bisection, Bisection.State.INCONCLUSIVE, stop, now)
            return bisection.state
        steps = list(bisection.steps.all())
        shas = [c["sha"] for c in bisection.commits]
        verification: dict[str, list[algo.Verdict]] = {}
        for step in steps:
            if step.purpose == BisectionStep.Purpose.VERIFY and step.verdict:
                verification.setdefault(step.sha, []).append(algo.Verdict(step.verdict))
        plan = algo.plan(
            shas,
            _known_results(bisection),
            pending=[s.sha for s in steps if s.status in OUT],
            base=bisection.range_base,
            rank={c["sha"]: c.get("rank", 0) for c in bisection.commits},
            dispatched=bisection.runs_dispatched,
            slots=_slots(bisection.repository),
            verification=verification,
        )
        if plan.culprit and not bisection.culprit_sha:
            commit = next(c for c in bisection.commits if c["sha"] == plan.culprit)
            bisection.culprit_sha, bisection.culprit_parent_sha = plan.culprit, plan.parent
            bisection.culprit_pr = commit.get("pr")
            bisection.culprit_pr_url = commit.get("pr_url", "")
            bisection.culprit_pr_author = commit.get("pr_author", "")[:39]
            bisection.culprit_why = fit(Bisection, "culprit_why", _why(bisection, commit))
            bisection.state = Bisection.State.CULPRIT_FOUND
            bisection.save()
        if plan.action == algo.Action.DISPATCH:
            slots = _slots(bisection.repository)
            if slots <= 0:
                return bisection.state  # the repository's cap: next pass
            purpose = BisectionStep.Purpose.VERIFY if plan.culprit else BisectionStep.Purpose.SEARCH
            refused = _dispatch(bisection, plan.commits[:slots], purpose, clients, now)
            if refused:
                _finish(bisection, Bisection.State.INCONCLUSIVE, refused, now)
        elif plan.action == algo.Action.VERIFIED:
            _finish(bisection, Bisection.State.VERIFIED, "", now, verified=True)
        elif plan.action == algo.Action.UNVERIFIED:
            _finish(bisection, Bisection.State.INCONCLUSIVE, plan.reason, now, verified=False)
        elif plan.action == algo.Action.INCONCLUSIVE:
            _finish(bisection, Bisection.State.INCONCLUSIVE, plan.reason, now)
    bump_data_version(registry=False, app="convergence", techniques=[bisection.test.technique_id])
    if bisection.state == Bisection.State.VERIFIED:
        _after_verified(bisection, clients)
    return bisection.state


def _why(bisection: Bisection, commit: dict) -> str:
    """Why this commit: the runs that isolate it, and what its PR changes."""
    parent = bisection.culprit_parent_sha[:7] or "the range's base"
    what = f"the test fails at {commit['sha'][:7]} and passes at its parent {parent}"
    if bisection.trigger == Bisection.Trigger.CHANGE_POINT:
        what = (
            f"{bisection.metric} is nearer {bisection.after_mean:g} (after the shift) at "
            f"{commit['sha'][:7]} and nearer {bisection.before_mean:g} at its parent {parent}"
        )
    if commit.get("pr"):
        return f"{what}; PR #{commit['pr']} {commit.get('reason') or ''}".strip()
    return what


def bisections_advance(clients: Clients | None = None, now: datetime | None = None) -> dict:
    """Start bisections for new alerts, advance every running one, follow open reverts."""
    clients = clients or Clients()
    started = bisections_start(clients)
    running = list(
        Bisection.objects.filter(
            state__in=[Bisection.State.RUNNING, Bisection.State.CULPRIT_FOUND]
        ).order_by("created_at")
    )
    states: dict[str, int] = {}
    for bisection in running:
        state = bisection_advance(bisection, clients, now)
        states[state] = states.get(state, 0) + 1
    for bisection in Bisection.objects.filter(state=Bisection.State.VERIFIED, reverts__isnull=True):
        _after_verified(bisection, clients)
    followed = reverts_follow(clients, now)
    return {"started": started, "advanced": len(running), "states": states, "reverts": followed}


# --- the revert ----------------------------------------------------------------------------
def auto_revert_allowed(bisection: Bisection) -> bool:
    """The technique's auto_revert, else the AUTO_REVERT setting."""
    own = bisection.test.technique.auto_revert
    return settings.AUTO_REVERT if own is None else own


def _after_verified(bisection: Bisection, clients: Clients) -> None:
    if bisection.culprit_pr and auto_revert_allowed(bisection):
        try:
            revert_open(bisection, None, clients=clients, automatic=True)
        except ValidationError as error:
            logger.info("Bisection %s: no automatic revert: %s", bisection.pk, error)


def revert_text(bisection: Bisection) -> tuple[str, str]:
    """The revert PR's title and body: the test, the failing and passing runs, the
    bisection page and the owners; every quoted text through ``inert``."""
    test = bisection.test
    commit = bisection.culprit_commit or {}
    steps = [s for s in bisection.steps.all() if s.purpose == BisectionStep.Purpose.VERIFY]
    failing = next((s for s in steps if s.sha == bisection.culprit_sha), None)
    passing = next((s for s in steps if s.sha == bisection.culprit_parent_sha), None)
    group = test.technique.owner_group
    owners = [m.github_login for m in group.active_maintainers] if group else []
    url = settings.PORTAL_BASE_URL + bisection.get_absolute_url()
    title = f'Revert "{commit.get("pr_title") or bisection.culprit_sha[:7]}"'
    lines = [
        f"This reverts #{bisection.culprit_pr}, which the tfmot-portal bisection of the "
        f"convergence test `{inert(str(test))}` found and verified as the culprit.",
        "",
        f"- Failing run at {bisection.culprit_sha[:12]}: {failing.run_url if failing else 'n/a'}",
        f"- Passing run at its parent {bisection.culprit_parent_sha[:12]}: "
        f"{passing.run_url if passing else 'n/a'}",
        f"- Why: {inert(bisection.culprit_why)}",
        f"- Bisection: {url}",
        f"- Owners ({inert(group.name) if group else 'no owner group'}): "
        + (", ".join(f"`{inert(login)}`" for login in owners) or "none listed"),
        "",
        "Merge this revert to make the test pass again, or close it and fix forward.",
    ]
    return fit(Bisection, "reason", title)[:256], "\n".join(lines)


def revert_open(
    bisection: Bisection, user, clients: Clients | None = None, automatic: bool = False
) -> Revert:
    """Open the revert of a verified culprit PR (GraphQL ``revertPullRequest``, a
    draft), comment on the culprit PR and tell its owners and author. Staff only, unless
    ``automatic``; never two reverts for one culprit (a unique row, claimed first)."""
    if not automatic:
        OPEN_REVERT.check(user, bisection)
    if bisection.state != Bisection.State.VERIFIED or not bisection.culprit_pr:
        raise ValidationError("Only a verified culprit PR can be reverted.")
    clients = clients or Clients()
    with transaction.atomic():
        revert = (
            Revert.objects.select_for_update()
            .filter(repository=bisection.repository, culprit_pr=bisection.culprit_pr)
            .first()
        )
        if revert is not None and revert.state != Revert.State.FAILED:
            raise ValidationError(
                f"PR #{bisection.culprit_pr} has a revert already"
                + (f": {revert.url}" if revert.url else " (being opened).")
            )
        if revert is None:
            try:
                with transaction.atomic():
                    revert = Revert.objects.create(
                        repository=bisection.repository,
                        culprit_pr=bisection.culprit_pr,
                        bisection=bisection,
                        opened_by=user if user is not None and user.is_authenticated else None,
                        automatic=automatic,
                    )
            except IntegrityError:
                raise ValidationError(f"PR #{bisection.culprit_pr} has a revert already.") from None
        else:
            revert.state, revert.error, revert.bisection = Revert.State.OPENING, "", bisection
            revert.save()
    client = clients(bisection.repository)
    title, body = revert_text(bisection)
    try:
        pull = client.pull_request(bisection.culprit_pr)
        opened = client.revert_pull_request(pull["node_id"], title, body, draft=True)
    except GitHubError as error:
        revert.state, revert.error = Revert.State.FAILED, fit(Revert, "error", error)
        revert.save(update_fields=["state", "error"])
        bump_data_version(registry=False, app="convergence")
        raise ValidationError(f"GitHub did not open the revert: {error}") from error
    revert.state, revert.number, revert.url = Revert.State.OPEN, opened["number"], opened["url"]
    revert.save(update_fields=["state", "number", "url"])
    bump_data_version(registry=False, app="convergence")
    _announce(bisection, revert, client)
    return revert


def _announce(bisection: Bisection, revert: Revert, client) -> None:
    """Comment on the culprit PR; email the owners and the PR's author; the chat webhook."""
    test = bisection.test
    url = settings.PORTAL_BASE_URL + bisection.get_absolute_url()
    author = bisection.culprit_pr_author
    comment = (
        (f"@{author} " if author else "")
        + f"the convergence test `{inert(str(test))}` fails from this PR on (bisected and "
        f"verified by tfmot-portal: {url}). A revert is open: {revert.url}"
    )
    try:
        client.comment_issue(bisection.culprit_pr, comment)
    except GitHubError as error:
        logger.warning("Comment on #%s failed: %s", bisection.culprit_pr, error)
    group = test.technique.owner_group
    recipients = group.contact_emails() if group else []
    if author and group:
        recipients += [
            m.email for m in group.maintainers.all() if m.github_login == author and m.email
        ]
    subject = f"[tfmot-portal] Revert opened for {test}: PR #{bisection.culprit_pr}"
    text = (
        f"The bisection of {test} found PR #{bisection.culprit_pr} ({bisection.culprit_pr_url}) "
        f"and verified it.\nWhy: {bisection.culprit_why}\nRevert: {revert.url}\n"
        f"Bisection: {url}\n"
    )
    if recipients:
        send_mail(subject, text, None, sorted(set(recipients)), fail_silently=True)
    if settings.GAP_WEBHOOK_URL:
        try:
            requests.post(
                settings.GAP_WEBHOOK_URL,
                json=chat_payload(subject.removeprefix("[tfmot-portal] "), text, url),
                timeout=5,
            )
        except requests.RequestException as error:
            logger.warning("Chat webhook failed: %s", error)


def chat_payload(title: str, text: str, url: str) -> dict:
    """The chat webhook's body in GAP_WEBHOOK_FORMAT (json, slack or google_chat)."""
    fmt = settings.GAP_WEBHOOK_FORMAT
    if fmt == "json":
        return {"event": "bisection.revert_opened", "title": title, "text": text, "url": url}

    def escape(value: str) -> str:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    message = f"*{escape(title)}*\n{escape(text)}<{url}|Open the bisection in tfmot-portal>"
    if fmt == "slack":
        return {
            "text": message,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message}}],
        }
    return {"text": message}


def reverts_follow(clients: Clients, now: datetime | None = None) -> int:
    """Follow open reverts: merged or closed on GitHub; once merged, the alert closes
    when the test passes again (two green runs), and the gap resolves with it."""
    now = now or timezone.now()
    changed = 0
    for revert in Revert.objects.filter(
        Q(state=Revert.State.OPEN) | Q(state=Revert.State.MERGED, closed_alert_at__isnull=True)
    ).select_related("bisection__test"):
        if revert.state == Revert.State.OPEN and revert.number:
            try:
                pull = clients(revert.repository).pull_request(revert.number)
            except GitHubError as error:
                logger.warning("Revert #%s not read: %s", revert.number, error)
                continue
            if pull.get("merged_at"):
                revert.state = Revert.State.MERGED
                revert.merged_at = datetime.fromisoformat(pull["merged_at"].replace("Z", "+00:00"))
            elif pull.get("state") == "closed":
                revert.state = Revert.State.CLOSED
            else:
                continue
        test = revert.bisection.test
        if revert.state == Revert.State.MERGED and not test.alert_open:
            revert.closed_alert_at = now
        revert.save()
        changed += 1
    if changed:
        bump_data_version(registry=False, app="convergence")
    return changed

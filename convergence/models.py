"""Convergence tests on TF Model Garden tasks, their runs, benefit targets and CI tokens.

Policy: docs official-models.md ("excluding trivial models and tasks such as MNIST";
"ensuring the test continues to pass with tf-nightly at TFMOT head"; "For any TFMOT
release, all these tests must pass").
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from techniques.models import OwnerGroup, Technique

TRIVIAL_TASKS = ("mnist", "fashion-mnist", "fashion_mnist", "cifar10", "toy")


@cache
def model_garden_families() -> dict[str, dict]:
    """Model Garden families from demo_data/official_models.json (MNIST is not in it)."""
    path = settings.BASE_DIR / "demo_data" / "official_models.json"
    return {entry["family"]: entry for entry in json.loads(path.read_text())}


class State(models.TextChoices):
    PASSING = "passing"
    FAILING = "failing"
    FLAKY = "flaky"
    STALE = "stale"
    NO_RUNS = "no_runs", "No runs yet"


# Flaky: a flip rate of 20 % or more over the last 14 runs (``services._flip_rate``).
FLAKY_WINDOW = 14
FLAKY_RATE = 0.2


class ConvergenceTestQuerySet(models.QuerySet):
    """The tests ``ConvergenceTest.failing`` and ``flaky`` pick, as queries."""

    def failing(self):
        return self.filter(alert_open=True)

    def flaky(self):
        return self.filter(flip_rate__gte=FLAKY_RATE)

    def needing_attention(self):
        """Tests with any condition (``ConvergenceTest.conditions``): not plainly passing."""
        return self.filter(
            models.Q(alert_open=True)
            | models.Q(flip_rate__gte=FLAKY_RATE)
            | ~models.Q(state=State.PASSING)
        )


class ConvergenceTest(models.Model):
    technique_pages = "technique"  # only its technique's page

    class Kind(models.TextChoices):
        CONVERGENCE = "convergence"
        TRAINING_SPEED = "training_speed", "Training speed"

    class Location(models.TextChoices):
        OFFICIAL_MODELS = "official_models", "TF Official Models"
        FORK = "fork", "Fork of Official Models"

    technique = models.ForeignKey(
        Technique, on_delete=models.CASCADE, related_name="convergence_tests"
    )
    name = models.SlugField(max_length=120, help_text="Unique per technique; results name it.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CONVERGENCE)
    model_family = models.CharField(max_length=120, help_text="A TF Model Garden family.")
    task = models.CharField(max_length=200)
    location = models.CharField(
        max_length=20, choices=Location.choices, default=Location.OFFICIAL_MODELS
    )
    config_path = models.CharField(max_length=300, blank=True)
    cadence_hours = models.PositiveIntegerField(default=24, help_text="24 = nightly.")
    # Bisection re-runs (docs/bisection.md): the workflow that runs this test on demand
    # and the names of its inputs; empty: BISECTION_WORKFLOW, BISECTION_SHA_INPUT and
    # BISECTION_TEST_INPUT.
    bisect_workflow = models.CharField(
        max_length=200, blank=True, help_text="Workflow file (e.g. convergence.yml) or id."
    )
    bisect_sha_input = models.CharField(max_length=100, blank=True)
    bisect_test_input = models.CharField(max_length=100, blank=True)
    # Precomputed state (services.convergence_state_update), so pages never scan run history.
    state = models.CharField(max_length=10, choices=State.choices, default=State.NO_RUNS)
    state_since = models.DateTimeField(null=True, blank=True)
    alert_open = models.BooleanField(default=False)
    # While an alert is open: its first bad run's start, the one "failing since" figure
    # that the rules judge and every page shows.
    failing_since = models.DateTimeField(null=True, blank=True)
    flip_rate = models.FloatField(default=0)
    benefit_regressed = models.BooleanField(default=False)
    last_run = models.ForeignKey(
        "ConvergenceRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_good_run = models.ForeignKey(
        "ConvergenceRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_bad_run = models.ForeignKey(
        "ConvergenceRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recent = models.JSONField(
        default=list, blank=True, help_text="Last 30 runs, newest last (for the grid)."
    )
    # Whether the state's dates (``state_since``, ``failing_since``) or the alert's runs
    # come from an internal run: then only viewers who may see internal results see them.
    state_internal = models.BooleanField(default=False)

    objects = ConvergenceTestQuerySet.as_manager()

    class Meta:
        ordering = ["technique__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["technique", "name"], name="unique_test_name_per_technique"
            )
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.technique.slug}/{self.name}"

    def clean(self):
        text = f"{self.model_family} {self.task}".lower()
        if any(word in text for word in TRIVIAL_TASKS):
            raise ValidationError(
                {
                    "task": "Trivial tasks such as MNIST are excluded by the policy: pick a real TF Model Garden task."
                }
            )
        if self.model_family not in model_garden_families():
            known = ", ".join(sorted(model_garden_families()))
            raise ValidationError(
                {"model_family": f"Not a TF Model Garden family. Known families: {known}."}
            )

    def dispatch_settings(self) -> tuple[str, str, str]:
        """The workflow that re-runs this test, and its commit and test input names."""
        return (
            self.bisect_workflow or settings.BISECTION_WORKFLOW,
            self.bisect_sha_input or settings.BISECTION_SHA_INPUT,
            self.bisect_test_input or settings.BISECTION_TEST_INPUT,
        )

    @property
    def cadence_label(self) -> str:
        return {24: "nightly", 168: "weekly"}.get(
            self.cadence_hours, f"every {self.cadence_hours} h"
        )

    def dates_shown(self, show_internal: bool) -> bool:
        """May a viewer (``show_internal``: see ``convergence.permissions``) see when the
        state began, the alert's runs and its culprit range? Not when they come from an
        internal run the viewer may not see: then only the state itself is shown."""
        return show_internal or not self.state_internal

    # --- the one definition of "failing", "flaky" and "blocks a release" -------------
    # Every page and rule that counts tests reads these (the staff landing, the matrix
    # through the rules, the technique page, /ci/, /releases/); none compares ``state``
    # or ``alert_open`` itself. ``state`` is the single word a row is sorted and
    # filtered by; a test can be more than one of these at once (stale with an open
    # alert, failing and flaky), and every page names each.

    @property
    def failing(self) -> bool:
        """An open alert: two consecutive red runs, not yet mended by two green ones.
        A stale test whose alert is open is still failing."""
        return self.alert_open

    @property
    def flaky(self) -> bool:
        """Flips between green and red in 20 % or more of its recent runs (failure
        streaks of three or more excluded), whatever its state."""
        return self.flip_rate >= FLAKY_RATE

    @property
    def stale(self) -> bool:
        """No run within twice its cadence, as of the last state update."""
        return self.state == State.STALE

    @property
    def conditions(self) -> list[State]:
        """What is wrong with the test, most urgent first (failing, flaky, stale, no
        runs); empty when it passes. Each page shows every one of them."""
        return [
            condition
            for condition, holds in (
                (State.FAILING, self.failing),
                (State.FLAKY, self.flaky),
                (State.STALE, self.stale),
                (State.NO_RUNS, self.state == State.NO_RUNS),
            )
            if holds
        ]

    @property
    def conditions_text(self) -> str:
        """The conditions in words ("failing, flaky"), "passing" when there is none."""
        return ", ".join(str(c.label).lower() for c in self.conditions) or "passing"

    def release_blocker(self, run: ConvergenceRun | None, alert_hidden: bool = False) -> str:
        """Why this test blocks a release at a commit whose latest run (that the viewer
        may see) is ``run``; "" when it does not. The policy: "For any TFMOT release,
        all these tests must pass" at the release commit. Not passed: no run at the
        commit, a red run there, an open alert that began at or before the commit's run
        (``alert_hidden``: its runs are internal and hidden from the viewer), or a stale
        test, whose last result says nothing of the code released."""
        if run is None:
            return "no run at this commit"
        if run.outcome in ConvergenceRun.RED:
            return f"{run.get_outcome_display().lower()} at this commit"
        if self.failing:
            first_bad = self.first_bad_run
            if alert_hidden:
                return "an internal failure is open"
            if first_bad is None or run.started_at >= first_bad.started_at:
                since = f" since {first_bad.started_at:%Y-%m-%d}" if first_bad else ""
                return f"failing{since}"
        if self.stale:
            return "stale: no run within twice its cadence"
        return ""

    def is_stale(self, now=None) -> bool:
        now = now or timezone.now()
        if not self.last_run_id or not self.last_run:
            return True
        return (now - self.last_run.started_at).total_seconds() > 2 * self.cadence_hours * 3600


class Better(models.TextChoices):
    """Which way a metric improves: what makes a shift in its run history a regression."""

    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


def is_worse(better: str | None, before: float, after: float) -> bool:
    """Whether the shift from ``before`` to ``after`` goes the metric's worse way (never,
    when no one said which way is better)."""
    if better == Better.HIGHER:
        return after < before
    if better == Better.LOWER:
        return after > before
    return False


class MetricDirection(models.Model):
    """Which way a metric without a benefit target improves (training step time: lower),
    so that a shift in its runs can be judged a regression. A benefit target's comparator
    says it for its own metric and wins over this setting."""

    test = models.ForeignKey(
        ConvergenceTest, on_delete=models.CASCADE, related_name="metric_directions"
    )
    metric = models.CharField(max_length=80, help_text="As the results name it, e.g. step_time_ms.")
    better = models.CharField(max_length=6, choices=Better.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["test", "metric"], name="one_direction_per_metric")
        ]

    def __str__(self) -> str:
        return f"{self.metric}: {self.get_better_display().lower()}"


def metric_directions(test: ConvergenceTest) -> dict[str, str]:
    """Each metric's better direction for ``test``: its settings, then its benefit targets'
    comparators (a target wins). Reads prefetched ``targets`` and ``metric_directions``."""
    directions = {d.metric: d.better for d in test.metric_directions.all()}
    for target in test.targets.all():
        directions[target.metric] = target.better
    return directions


@dataclass(frozen=True)
class TargetFigures:
    latest_value: float | None
    regressed: bool
    regressed_since: datetime | None
    trend: list
    trend_runs: list


class BenefitTarget(models.Model):
    class Comparator(models.TextChoices):
        AT_LEAST = ">=", "at least"
        AT_MOST = "<=", "at most"

    test = models.ForeignKey(ConvergenceTest, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(max_length=80, help_text="e.g. top1_accuracy, package_size_mb")
    comparator = models.CharField(
        max_length=2, choices=Comparator.choices, default=Comparator.AT_LEAST
    )
    documented_value = models.FloatField()
    tolerance = models.FloatField(
        default=0, help_text="How far below (or above) the documented value is still fine."
    )
    unit = models.CharField(max_length=20, blank=True)
    doc_url = models.URLField(blank=True, help_text="The page that claims this benefit.")
    doc_source = models.CharField(max_length=300, blank=True)
    # Precomputed on ingestion: the latest value and whether it misses the target.
    latest_value = models.FloatField(null=True, blank=True)
    regressed = models.BooleanField(default=False)
    # While regressed: the first run of the current streak of runs missing the target.
    regressed_since = models.DateTimeField(null=True, blank=True)
    trend = models.JSONField(default=list, blank=True, help_text="Last 30 values, oldest first.")
    # The runs of ``trend``'s values, in the same order (the charts mark change points).
    trend_runs = models.JSONField(default=list, blank=True)
    # The same figures from public runs only, computed in the same pass: what viewers who
    # may not see internal results read (``figures``).
    public_latest_value = models.FloatField(null=True, blank=True)
    public_regressed = models.BooleanField(default=False)
    public_regressed_since = models.DateTimeField(null=True, blank=True)
    public_trend = models.JSONField(default=list, blank=True)
    public_trend_runs = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["test", "metric"], name="one_target_per_metric")
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.comparator} {self.documented_value}{self.unit}"

    @property
    def better(self) -> str:
        """At least the documented value: higher is better; at most: lower is."""
        return Better.HIGHER if self.comparator == self.Comparator.AT_LEAST else Better.LOWER

    def clean(self):
        if self.tolerance < 0:
            raise ValidationError({"tolerance": "The tolerance cannot be negative."})

    def figures(self, show_internal: bool) -> TargetFigures:
        """The figures a viewer reads: all runs' for those who may see internal results
        (``convergence.permissions``), public runs' for everyone else."""
        if show_internal:
            return TargetFigures(
                self.latest_value,
                self.regressed,
                self.regressed_since,
                self.trend,
                self.trend_runs,
            )
        return TargetFigures(
            self.public_latest_value,
            self.public_regressed,
            self.public_regressed_since,
            self.public_trend,
            self.public_trend_runs,
        )

    @property
    def regressed_internally(self) -> bool:
        """Misses the target only through internal results: public figures are fine."""
        return self.regressed and not self.public_regressed

    def margin(self, value: float) -> float:
        """How far the value is on the good side of the documented value (negative: worse)."""
        return (
            value - self.documented_value
            if self.comparator == ">="
            else self.documented_value - value
        )

    def misses(self, value: float) -> bool:
        return self.margin(value) < -self.tolerance - 1e-9


def _visible_to(queryset, user, technique: str = "test__technique"):
    """``queryset`` without the internal rows ``user`` may not see (see
    ``ConvergenceRunQuerySet.visible_to``); ``technique`` is the path to the technique."""
    if user is not None and user.is_authenticated and user.is_staff:
        return queryset
    owned = (
        Technique.objects.owned_by(user).values("pk")
        if user is not None
        else Technique.objects.none().values("pk")
    )
    return queryset.filter(models.Q(internal=False) | models.Q(**{f"{technique}__in": owned}))


class ConvergenceRunQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The runs ``user`` may see: internal (Google-only) runs only for staff and the
        technique's owners (``convergence.permissions.can_see_internal``, per technique).
        Everyone else learns at most that an internal failure is open, never the commit or
        the time of an internal run: every page, the JSON and the API read runs through
        this."""
        return _visible_to(self, user)


class ConvergenceRun(models.Model):
    """One run of a convergence test: from a nightly workflow's artifact or the upload API."""

    class Outcome(models.TextChoices):
        PASSED = "passed"
        FAILED = "failed"
        ERROR = "error"
        SKIPPED = "skipped"

    # The outcomes that break the test (a skipped run neither breaks nor mends it).
    RED = frozenset({Outcome.FAILED, Outcome.ERROR})

    class Source(models.TextChoices):
        ACTIONS = "actions", "GitHub Actions"
        UPLOAD = "upload", "Upload API"
        COMMAND = "command", "Management command"
        DEMO = "demo", "Demo data"

    test = models.ForeignKey(ConvergenceTest, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    tfmot_sha = models.CharField(max_length=40, blank=True)
    tf_version = models.CharField(
        max_length=60, blank=True, help_text="e.g. tf-nightly 2.21.0.dev20261122"
    )
    python_version = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    metrics = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=200, help_text="Idempotency key from the source.")
    log_url = models.URLField(max_length=500, blank=True)
    internal = models.BooleanField(
        default=False, help_text="From Google-internal CI: not shown to the public."
    )

    objects = ConvergenceRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The internal flag is part of the key: a public upload never makes an
            # internal run with the same key a duplicate (nor the other way round).
            models.UniqueConstraint(
                fields=["test", "source", "internal", "external_id"],
                name="run_once_per_source_and_visibility",
            )
        ]
        indexes = [
            models.Index(fields=["test", "-started_at"]),
            models.Index(fields=["tfmot_sha"]),
            # Recent runs of every test (compat-matrix); newest first with a tie-break
            # on id, as the runs API pages them (runs of a night share their start).
            models.Index(fields=["started_at", "id"], name="convergence_run_started_id"),
        ]

    def __str__(self) -> str:
        return f"{self.test} {self.outcome} at {self.started_at:%Y-%m-%d}"

    @property
    def is_green(self) -> bool:
        return self.outcome == self.Outcome.PASSED


class CulpritRange(models.Model):
    """Commits between the alert's last good and first bad run (GitHub compare API)."""

    test = models.ForeignKey(
        ConvergenceTest, on_delete=models.CASCADE, related_name="culprit_ranges"
    )
    base_sha = models.CharField(max_length=40)
    head_sha = models.CharField(max_length=40)
    commits = models.JSONField(default=list, blank=True)  # [{sha, message, author, url}]
    pull_requests = models.JSONField(default=list, blank=True)  # [{number, title, url, merged_at}]
    fetched_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["test", "base_sha", "head_sha"], name="one_range_per_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.base_sha[:7]}..{self.head_sha[:7]}"

    @property
    def likely_culprit(self) -> dict | None:
        """The PR that changes the most files in the technique's paths, the most recent
        on a tie (``pull_requests`` is stored ranked); None when no PR touches them."""
        first = self.pull_requests[0] if self.pull_requests else None
        return first if first and first.get("overlap") else None

    @property
    def none_touches_technique(self) -> bool:
        return bool(self.pull_requests) and self.likely_culprit is None


class ChangePointQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Change points found on series with internal runs only for staff and the
        technique's owners, as the runs themselves."""
        return _visible_to(self, user)

    def open_regressions(self):
        """Regressions no later shift has brought back: each is an alert."""
        return self.filter(regression=True, resolved_at__isnull=True)


class ChangePoint(models.Model):
    """A persistent, statistically significant shift in one metric's run history.

    ``run`` is the first run after the shift (its commit is where the shift begins);
    ``before_mean`` and ``after_mean`` are the means of the segments on either side.
    A regression is a shift in the metric's worse direction (the benefit target's
    comparator, or the test's ``MetricDirection``). Found incrementally on ingestion by
    ``convergence.changepoints``. Public change points come from public runs only;
    ``internal`` ones are shifts that only the series with internal runs shows.
    """

    technique_pages = "test.technique"  # only its test's technique's page

    test = models.ForeignKey(
        ConvergenceTest, on_delete=models.CASCADE, related_name="change_points"
    )
    metric = models.CharField(max_length=80)
    run = models.ForeignKey("ConvergenceRun", on_delete=models.CASCADE, related_name="+")
    sha = models.CharField(max_length=40, blank=True)
    run_started_at = models.DateTimeField()
    before_mean = models.FloatField()
    after_mean = models.FloatField()
    change_percent = models.FloatField()
    significance = models.FloatField(help_text="p-value of the shift (lower: more certain).")
    regression = models.BooleanField(default=False)
    internal = models.BooleanField(
        default=False, help_text="Found on a series with internal runs: not shown to the public."
    )
    detected_at = models.DateTimeField(default=timezone.now)
    # When a later shift of the same series brought the metric back at least halfway to
    # where it was: the regression's alert closes.
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ChangePointQuerySet.as_manager()

    class Meta:
        ordering = ["-run_started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["test", "metric", "run", "internal"], name="one_change_point_per_run"
            )
        ]
        indexes = [models.Index(fields=["test", "metric", "-run_started_at"])]

    def __str__(self) -> str:
        return f"{self.test} {self.metric} {self.change_percent:+.1f}% at {self.sha[:7]}"

    @property
    def is_open(self) -> bool:
        return self.regression and self.resolved_at is None

    def recovered_by(self, later: ChangePoint) -> bool:
        """Whether ``later`` (a shift after this one, same series) brings the metric back at
        least halfway to its level before this regression."""
        halfway = (self.before_mean + self.after_mean) / 2
        return not is_worse(
            Better.HIGHER if self.after_mean < self.before_mean else Better.LOWER,
            halfway,
            later.after_mean,
        )


class Bisection(models.Model):
    """The search for the culprit of one alert (a red streak or a regression change
    point) by re-running the test at commits of its range (``convergence.bisection``).

    Everything the search knows is stored here and in its steps, so a worker restart
    loses nothing; ``convergence.bisection_services`` advances it.
    """

    technique_pages = "test.technique"  # only its test's technique's page

    class Trigger(models.TextChoices):
        RED_STREAK = "red_streak", "Red streak"
        CHANGE_POINT = "change_point", "Change point"

    class State(models.TextChoices):
        RUNNING = "running"
        CULPRIT_FOUND = "culprit_found", "Culprit found"
        VERIFIED = "verified"
        INCONCLUSIVE = "inconclusive"

    FINISHED = frozenset({State.VERIFIED, State.INCONCLUSIVE})

    test = models.ForeignKey(ConvergenceTest, on_delete=models.CASCADE, related_name="bisections")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    change_point = models.OneToOneField(
        ChangePoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="bisection"
    )
    culprit_range = models.ForeignKey(
        CulpritRange, null=True, blank=True, on_delete=models.SET_NULL, related_name="bisections"
    )
    repository = models.CharField(max_length=140, help_text="owner/name the runs run in.")
    range_base = models.CharField(max_length=40, help_text="The last good commit.")
    range_head = models.CharField(max_length=40, help_text="The first bad commit.")
    # [{sha, message, url, pr, pr_url, pr_title, rank, reason}], oldest first.
    commits = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    reason = models.CharField(max_length=500, blank=True)
    culprit_sha = models.CharField(max_length=40, blank=True)
    culprit_parent_sha = models.CharField(max_length=40, blank=True)
    culprit_pr = models.PositiveIntegerField(null=True, blank=True)
    culprit_pr_url = models.URLField(max_length=300, blank=True)
    culprit_pr_author = models.CharField(max_length=39, blank=True)
    culprit_why = models.CharField(max_length=500, blank=True)
    verified = models.BooleanField(null=True, blank=True)
    # A change point's judge: a re-run is bad when ``metric`` lies nearer ``after_mean``.
    metric = models.CharField(max_length=80, blank=True)
    before_mean = models.FloatField(null=True, blank=True)
    after_mean = models.FloatField(null=True, blank=True)
    internal = models.BooleanField(
        default=False, help_text="Its range comes from internal runs: not shown to the public."
    )
    runs_dispatched = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One bisection per alert: per red streak (its range) and per change point.
            models.UniqueConstraint(
                fields=["test", "range_base", "range_head"],
                condition=models.Q(trigger="red_streak"),
                name="one_bisection_per_red_streak",
            ),
        ]
        indexes = [models.Index(fields=["state", "repository"])]

    def __str__(self) -> str:
        return f"{self.test} {self.range_base[:7]}..{self.range_head[:7]}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("convergence:bisection", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def culprit_commit(self) -> dict | None:
        return next((c for c in self.commits if c["sha"] == self.culprit_sha), None)


class BisectionStep(models.Model):
    """One run of the test at one commit, dispatched through GitHub Actions."""

    technique_pages = "bisection.test.technique"  # only its test's technique's page

    class Purpose(models.TextChoices):
        SEARCH = "search"
        VERIFY = "verify", "Verification"

    class Status(models.TextChoices):
        DISPATCHED = "dispatched"  # the dispatch was accepted; its run not found yet
        RUNNING = "running"  # its workflow run is known
        DONE = "done"  # its result is read
        NO_RESULT = "no_result", "No result"  # the run never reported (or had no result)

    class Verdict(models.TextChoices):
        GOOD = "good"
        BAD = "bad"
        FLAKY = "flaky"

    bisection = models.ForeignKey(Bisection, on_delete=models.CASCADE, related_name="steps")
    sha = models.CharField(max_length=40)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.SEARCH)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DISPATCHED)
    dispatched_at = models.DateTimeField(default=timezone.now)
    run_id = models.BigIntegerField(null=True, blank=True)
    run_url = models.URLField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=ConvergenceRun.Outcome.choices, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["dispatched_at", "id"]
        constraints = [
            # A workflow run answers for one step only.
            models.UniqueConstraint(
                fields=["run_id"], condition=models.Q(run_id__isnull=False), name="one_step_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sha[:7]} {self.purpose} #{self.attempt}"


class Revert(models.Model):
    """The revert PR opened for a culprit PR: one per culprit, whatever the tests."""

    class State(models.TextChoices):
        OPENING = "opening"  # claimed; the mutation is under way
        OPEN = "open"
        MERGED = "merged"
        CLOSED = "closed"
        FAILED = "failed"  # GitHub refused; ``error`` says why (staff may try again)

    repository = models.CharField(max_length=140)
    culprit_pr = models.PositiveIntegerField()
    bisection = models.ForeignKey(Bisection, on_delete=models.CASCADE, related_name="reverts")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPENING)
    number = models.PositiveIntegerField(null=True, blank=True)
    url = models.URLField(max_length=300, blank=True)
    draft = models.BooleanField(default=True)
    error = models.CharField(max_length=500, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    merged_at = models.DateTimeField(null=True, blank=True)
    closed_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "culprit_pr"], name="one_revert_per_culprit"
            )
        ]

    def __str__(self) -> str:
        return f"revert of #{self.culprit_pr} ({self.state})"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CIToken(models.Model):
    """A per-CI-system token for the upload API: shown once, stored hashed, revocable."""

    name = models.CharField(max_length=100, help_text="Which CI system uses it.")
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    may_upload_internal = models.BooleanField(
        default=False, help_text="Google-internal CI: its results are internal."
    )
    # Scope: the techniques whose results the token may upload.
    all_techniques = models.BooleanField(
        default=False, help_text="May upload results for every technique (the TFMOT team's CI)."
    )
    groups = models.ManyToManyField(
        OwnerGroup,
        blank=True,
        related_name="ci_tokens",
        help_text="May upload results for the techniques these groups own.",
    )
    techniques = models.ManyToManyField(
        Technique,
        blank=True,
        related_name="ci_tokens",
        help_text="May upload results for these techniques.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls,
        name: str,
        user=None,
        internal: bool = False,
        *,
        all_techniques: bool = False,
        groups=(),
        techniques=(),
    ) -> tuple[CIToken, str]:
        """Create a token; the clear text is returned once and never stored. Without
        ``all_techniques``, ``groups`` or ``techniques`` it may upload nothing."""
        token = cls(
            name=name, created_by=user, may_upload_internal=internal, all_techniques=all_techniques
        )
        clear = token.set_new_secret()
        token.save()
        token.groups.set(groups)
        token.techniques.set(techniques)
        return token, clear

    def set_new_secret(self) -> str:
        """Give the (unsaved) token a new secret; returns the clear text, kept nowhere."""
        clear = "tfmot_" + secrets.token_urlsafe(32)
        self.prefix, self.token_hash = clear[:12], _hash(clear)
        return clear

    def refused_tests(self, tests) -> list:
        """The tests (of ``tests``) whose technique is outside this token's scope."""
        if self.all_techniques:
            return []
        technique_ids = set(self.techniques.values_list("pk", flat=True))
        group_ids = set(self.groups.values_list("pk", flat=True))
        return [
            test
            for test in tests
            if test.technique_id not in technique_ids
            and test.technique.owner_group_id not in group_ids
        ]

    @classmethod
    def authenticate(cls, clear: str) -> CIToken | None:
        token = cls.objects.filter(token_hash=_hash(clear or ""), revoked_at__isnull=True).first()
        if token:
            cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token

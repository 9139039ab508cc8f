"""Change points on every metric series: persistent, significant shifts in a test's runs.

Each (test, metric) has a public series (public runs only) and, where internal runs
exist, a series of all its runs. E-Divisive means with a permutation test (MongoDB's
``signal-processing-algorithms``) finds the shifts of a series over its most recent
``WINDOW`` measured runs. Detection is incremental: an ingestion re-examines only the
series that received new runs, so its cost does not grow with the runs stored.
``docs/change-points.md`` explains the choices and the figures.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Q
from django.utils import timezone
from signal_processing_algorithms.determinism import deterministic_numpy_random
from signal_processing_algorithms.energy_statistics.energy_statistics import (
    e_divisive,
    get_energy_statistics_and_probabilities,
)

from convergence.models import (
    ChangePoint,
    ConvergenceRun,
    ConvergenceTest,
    is_worse,
    metric_directions,
)

# The most recent measured runs a detection reads per series: two months of nightlies.
WINDOW = 60
# Runs on either side of a change point (and between two of them): a shift must last,
# a single outlier is not one.
MIN_SEGMENT = 5
# The permutation test's level: the share of pure-noise windows in which a detection
# reports a shift (its false-positive rate), and the permutations that test it.
PVALUE = 0.01
PERMUTATIONS = 199
# The permutations are drawn from a fixed seed: the same runs give the same change points.
SEED = 20260326
# Outcomes whose metrics do not describe the code: a crashed or skipped run.
UNMEASURED = frozenset({ConvergenceRun.Outcome.ERROR, ConvergenceRun.Outcome.SKIPPED})
RUN_FIELDS = ("id", "test_id", "started_at", "tfmot_sha", "internal", "outcome", "metrics")


@dataclass(frozen=True)
class Shift:
    """A change point of a series: ``index`` is the first value after the shift."""

    index: int
    before_mean: float
    after_mean: float
    significance: float  # the permutation test's p-value of the two segments

    @property
    def change_percent(self) -> float:
        if self.before_mean == 0:
            return math.copysign(100.0, self.after_mean - self.before_mean)
        return (self.after_mean - self.before_mean) / abs(self.before_mean) * 100


def shifts_find(values: Sequence[float]) -> list[Shift]:
    """The persistent, significant shifts of ``values`` (oldest first), in order.

    E-Divisive splits the series where the two sides' distributions differ most and
    keeps a split only when fewer than ``PVALUE`` of the permuted series split as well;
    splits closer than ``MIN_SEGMENT`` values to an end or to a stronger split are
    dropped. Each shift carries the means of its neighbouring segments and the p-value
    of those two segments' permutation test.
    """
    if len(values) < 2 * MIN_SEGMENT:
        return []
    series = np.asarray(values, dtype=float)
    with deterministic_numpy_random(SEED):
        found = e_divisive(series, pvalue=PVALUE, permutations=PERMUTATIONS)
    kept: list[int] = []
    for index in found:  # the strongest first
        if MIN_SEGMENT <= index <= len(series) - MIN_SEGMENT and all(
            abs(index - other) >= MIN_SEGMENT for other in kept
        ):
            kept.append(index)
    kept.sort()
    bounds = [0, *kept, len(series)]
    shifts = []
    for k, index in enumerate(kept):
        before, after = series[bounds[k] : index], series[index : bounds[k + 2]]
        with deterministic_numpy_random(SEED):
            tested = get_energy_statistics_and_probabilities(
                before, after, permutations=PERMUTATIONS
            )
        shifts.append(
            Shift(
                index,
                float(before.mean()),
                float(after.mean()),
                # The library counts the permutations at least as extreme over n + 1;
                # counting the observed split too, the p-value is never 0.
                min(1.0, tested.t_pvalue + 1 / (PERMUTATIONS + 1)),
            )
        )
    return shifts


def _value(run: ConvergenceRun, metric: str) -> float | None:
    value = run.metrics.get(metric) if isinstance(run.metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def numeric_metrics(metrics) -> set[str]:
    """The names of a run's metrics that hold a finite number."""
    if not isinstance(metrics, dict):
        return set()
    return {
        name
        for name, value in metrics.items()
        if not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    }


@dataclass
class _Series:
    test: ConvergenceTest
    metric: str
    internal: bool
    runs: list[ConvergenceRun]  # measured runs of the window, oldest first
    values: list[float]

    @classmethod
    def of(cls, test, metric, internal, runs) -> _Series:
        measured = [
            (run, value)
            for run in runs
            if run.outcome not in UNMEASURED and (value := _value(run, metric)) is not None
        ][-WINDOW:]
        return cls(test, metric, internal, [r for r, _ in measured], [v for _, v in measured])

    def position(self, started_at: datetime) -> int:
        """The index of the first measured run at or after ``started_at``."""
        return bisect.bisect_left([r.started_at for r in self.runs], started_at)

    def covers(self, point: ChangePoint) -> bool:
        return bool(self.runs) and point.run_started_at >= self.runs[0].started_at


STORED_FIELDS = (
    "run_id",
    "sha",
    "run_started_at",
    "before_mean",
    "after_mean",
    "change_percent",
    "significance",
    "regression",
)


def _nearest(series, candidates, shift: Shift, run, matched) -> ChangePoint | None:
    """The stored change point that ``shift`` is (a better estimate of): the one at its
    run, else the nearest within ``MIN_SEGMENT`` runs that moved the same way."""
    rising = shift.after_mean > shift.before_mean

    def distance(point: ChangePoint) -> int:
        return abs(series.position(point.run_started_at) - shift.index)

    near = [
        p
        for p in candidates
        if p.pk not in matched
        and (
            p.run_id == run.pk
            or ((p.after_mean > p.before_mean) == rising and distance(p) <= MIN_SEGMENT)
        )
    ]
    return min(near, key=lambda p: (p.run_id != run.pk, distance(p)), default=None)


def _update(series: _Series, stored: list[ChangePoint], better, now, skip=()) -> list[ChangePoint]:
    """Store the series' shifts: a shift near a stored change point of the same direction
    refines it (same row), any other is new; ``skip`` holds positions already shown by
    the public series. Returns the series' change points, oldest first."""
    mine = [p for p in stored if p.metric == series.metric and p.internal == series.internal]
    in_window = [p for p in mine if series.covers(p)]
    matched: set[int] = set()
    for shift in shifts_find(series.values):
        run = series.runs[shift.index]
        point = _nearest(series, in_window, shift, run, matched)
        if point is None:
            if any(abs(shift.index - s) < MIN_SEGMENT for s in skip):
                continue
            point = ChangePoint(
                test=series.test, metric=series.metric, internal=series.internal, detected_at=now
            )
            mine.append(point)
        found = (
            run.pk,
            run.tfmot_sha,
            run.started_at,
            shift.before_mean,
            shift.after_mean,
            round(shift.change_percent, 4),
            round(shift.significance, 6),
            is_worse(better, shift.before_mean, shift.after_mean),
        )
        if point.pk is None or found != tuple(getattr(point, f) for f in STORED_FIELDS):
            for name, value in zip(STORED_FIELDS, found, strict=True):
                setattr(point, name, value)
            point.save()
        matched.add(point.pk)
    mine.sort(key=lambda p: p.run_started_at)
    _resolve(mine)
    return mine


def _resolve(points: list[ChangePoint]) -> None:
    """Close each open regression that a later shift of its series brought back."""
    for i, point in enumerate(points):
        if not point.regression:
            if point.resolved_at is not None:
                point.resolved_at = None
                point.save(update_fields=["resolved_at"])
            continue
        recovery = next((later for later in points[i + 1 :] if point.recovered_by(later)), None)
        resolved_at = recovery.run_started_at if recovery else None
        if resolved_at != point.resolved_at:
            point.resolved_at = resolved_at
            point.save(update_fields=["resolved_at"])


def _window(test: ConvergenceTest, public_only: bool) -> list[ConvergenceRun]:
    runs = test.runs.only(*RUN_FIELDS).order_by("-started_at", "-id")
    if public_only:
        runs = runs.filter(internal=False)
    # Room for runs without the metric (errors, skips, other metrics' jobs).
    return list(reversed(runs[: WINDOW * 2]))


def change_points_detect(run_ids: Iterable[int], now: datetime | None = None) -> int:
    """Find and store the change points of the series that the runs ``run_ids`` (just
    stored) extend: a public run extends its metrics' public series and the series of
    all runs, an internal run the latter only. Safe to run twice: the same runs give the
    same change points, refined in place, never duplicated. Returns how many series
    were examined."""
    now = now or timezone.now()
    ids = list(run_ids)
    if not ids:
        return 0
    touched: dict[int, dict[bool, set[str]]] = {}
    for test_id, internal, metrics in ConvergenceRun.objects.filter(pk__in=ids).values_list(
        "test_id", "internal", "metrics"
    ):
        names = numeric_metrics(metrics)
        if names:
            by_visibility = touched.setdefault(test_id, {False: set(), True: set()})
            by_visibility[True] |= names
            if not internal:
                by_visibility[False] |= names
    examined = 0
    tests = ConvergenceTest.objects.filter(pk__in=touched).prefetch_related(
        "targets", "metric_directions"
    )
    for test in tests:
        metrics = touched[test.pk]
        directions = metric_directions(test)
        every = _window(test, public_only=False)
        has_internal = any(run.internal for run in every)
        public = _window(test, public_only=True) if has_internal else every
        names = metrics[False] | (metrics[True] if has_internal else set())
        oldest = min((runs[0].started_at for runs in (every, public) if runs), default=now)
        stored = list(
            ChangePoint.objects.filter(test=test, metric__in=names).filter(
                Q(run_started_at__gte=oldest) | Q(regression=True, resolved_at__isnull=True)
            )
        )
        public_points: dict[str, list[ChangePoint]] = {}
        for metric in sorted(metrics[False]):
            series = _Series.of(test, metric, False, public)
            public_points[metric] = _update(series, stored, directions.get(metric), now)
            examined += 1
        if not has_internal:
            continue
        for metric in sorted(metrics[True]):
            series = _Series.of(test, metric, True, every)
            # A shift that the public series shows already is not repeated as internal.
            shown_publicly = public_points.get(metric) or [
                p for p in stored if p.metric == metric and not p.internal
            ]
            skip = [series.position(p.run_started_at) for p in shown_publicly if series.covers(p)]
            _update(series, stored, directions.get(metric), now, skip=skip)
            examined += 1
    return examined

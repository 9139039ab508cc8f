"""A technique's health level: severity-weighted points of its open gaps, growing with age.

    points = sum over the gaps that count (open or acknowledged; waived ones do not)
             of  WEIGHT[severity] x AGE_FACTOR[days failing]

    WEIGHT      high 10, medium 3, low 1
    AGE_FACTOR  x1 under 30 days, x2 from 30 to 90 days, x3 beyond 90 days
                (days failing count from the gap's ``since``, when the violation began;
                from when the portal noticed it when the rule could not date it)

    level       0 points Healthy · 1-9 Minor gaps · 10-29 Needs attention · 30+ In trouble

Levels (as OpsLevel's) rather than an averaged 0-10 score (as OpenSSF Scorecard's): an
average over twenty checks dilutes one red convergence test into 9.5/10, while the
policy treats it as urgent; a level names what to do (nothing, fix when convenient, plan
a fix, escalate) and one high-severity gap alone already leaves "Healthy". The weights
put a red convergence test (high) at ten missing release notes (low), and the age factor
makes a gap left for a quarter weigh three times a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from adherence.engine import Severity
from techniques.models import HealthLevel

WEIGHT = {Severity.HIGH: 10, Severity.MEDIUM: 3, Severity.LOW: 1}
AGE_STEPS = ((90, 3), (30, 2), (0, 1))  # (at least N days failing, factor)
LEVELS = ((30, HealthLevel.TROUBLE), (10, HealthLevel.ATTENTION), (1, HealthLevel.MINOR))
MEANING = {
    HealthLevel.HEALTHY: "every checked duty is met (or waived)",
    HealthLevel.MINOR: "1 to 9 points: fix when convenient",
    HealthLevel.ATTENTION: "10 to 29 points: plan a fix",
    HealthLevel.TROUBLE: "30 points or more: escalate to the TFMOT team",
    HealthLevel.UNKNOWN: "the rules have not run for this technique yet",
}


def age_factor(days: int) -> int:
    return next(factor for at_least, factor in AGE_STEPS if days >= at_least)


def gap_points(severity: str, days_failing: int) -> int:
    return WEIGHT.get(Severity(severity), WEIGHT[Severity.MEDIUM]) * age_factor(days_failing)


def level_for(points: int) -> HealthLevel:
    return next((level for at_least, level in LEVELS if points >= at_least), HealthLevel.HEALTHY)


def health_compute(gaps: Iterable, now: datetime) -> tuple[HealthLevel, int]:
    """Level and points from a technique's gaps (those that no longer count are skipped)."""
    points = 0
    for gap in gaps:
        if not gap.counts:
            continue
        start = gap.since or gap.opened_at
        points += gap_points(gap.severity, max((now - start).days, 0))
    return level_for(points), points

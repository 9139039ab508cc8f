"""Reads of adherence for pages: health, duty summaries, the matrix, the trend.

Pages read stored rule results, gaps and health; nothing here evaluates a rule.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from django.db.models import Count, Q
from django.utils import timezone

from adherence import engine
from adherence.models import Gap, RuleResult
from techniques.duties import DUTIES
from techniques.models import HealthLevel, Technique
from techniques.selectors import filter_by_technique


@dataclass
class DutySummary:
    met: list
    failing: list
    not_checked: list

    @property
    def checked(self) -> int:
        return len(self.met) + len(self.failing)


def duty_summary(technique) -> DutySummary:
    """Which duties of the technique's TOS are met, from the latest rule results.

    A duty is met when every rule behind it that applies passes (waived gaps count as
    met for the public summary, which never shows waiver reasons); duties no rule
    checks, or whose rules are all N/A, are "not checked".
    """
    statuses = dict(RuleResult.objects.filter(technique=technique).values_list("rule_id", "status"))
    waived = set(
        Gap.objects.filter(technique=technique, state=Gap.State.WAIVED).values_list(
            "rule_id", flat=True
        )
    )
    met, failing, not_checked = [], [], []
    for duty in DUTIES:
        if not duty.applies(technique):
            continue
        rule_statuses = [
            engine.Status.PASS if rule_id in waived else statuses.get(rule_id)
            for rule_id in duty.rules
        ]
        applicable = [s for s in rule_statuses if s in (engine.Status.PASS, engine.Status.FAIL)]
        if not applicable:
            not_checked.append(duty)
        elif engine.Status.FAIL in applicable:
            failing.append(duty)
        else:
            met.append(duty)
    return DutySummary(met, failing, not_checked)


def gap_close_times(technique=None) -> dict:
    """Median days from a gap's opening to its resolution, over the closed gaps (the
    weekly open counts are ``adherence.trend.open_gaps_per_week``)."""
    closed = Gap.objects.filter(resolved_at__isnull=False)
    if technique is not None:
        closed = closed.filter(technique=technique)
    durations = [
        (r - o).total_seconds() / 86400
        for o, r in closed.values_list("opened_at", "resolved_at")[:10000]
        if r is not None
    ]
    return {
        "median_days_to_close": statistics.median(durations) if durations else None,
        "closed": len(durations),
    }


class Shown(StrEnum):
    """What a matrix cell or a duty's rule line shows: the rule's latest result, or that
    its gap is waived, or that it was never evaluated."""

    PASS = engine.Status.PASS.value
    FAIL = engine.Status.FAIL.value
    NA = engine.Status.NA.value
    WAIVED = "waived"
    UNKNOWN = "unknown"


def shown(result_status: str | None, gap: Gap | None) -> Shown:
    """What to show for a rule: a waived gap shows as waived, an open one as failing,
    else the stored result (a rule never evaluated is unknown)."""
    if gap is not None:
        return Shown.WAIVED if gap.state == Gap.State.WAIVED else Shown.FAIL
    if result_status is None:
        return Shown.UNKNOWN
    if result_status in (engine.Status.FAIL, engine.Status.NA):
        return Shown(result_status)
    return Shown.PASS


@dataclass
class Cell:
    """One (technique, rule) cell; templates format it (adherence template tags)."""

    rule_id: str
    status: Shown
    summary: str
    gap: Gap | None = None
    days_failing: int | None = None  # from the gap's since; None when undated
    # A pass with a word of caution from its rule (``caution`` in the evidence, e.g.
    # "flaky": a flaky test says so wherever it is counted).
    caution: str = ""


@dataclass
class MatrixRow:
    technique: Technique
    cells: list[Cell]
    open_gaps: int
    oldest_gap: datetime | None  # when the longest-standing violation began
    shown: list[Cell] = field(default_factory=list)  # the cells of the columns shown


class _Result(NamedTuple):
    status: str
    summary: str
    caution: str | None = None


def _cell(rule_id: str, result, gap: Gap | None, now: datetime) -> Cell:
    summary = result.summary if result else (gap.summary if gap else "Not evaluated yet.")
    status = shown(result.status if result else None, gap)
    days = gap.days_failing(now) if gap and status == Shown.FAIL else None
    caution = (result.caution or "") if result and status == Shown.PASS else ""
    return Cell(rule_id, status, summary, gap, days, str(caution))


def matrix_techniques(filters: dict, user):
    """The techniques the matrix filters select (TOS, group, stage, the viewer's own)."""
    techniques = Technique.objects.select_related("owner_group").order_by("name")
    return filter_by_technique(techniques, filters, user)


def adherence_matrix(
    techniques, severity: str = "", sort: str = "name", now: datetime | None = None
) -> tuple[list[str], list[MatrixRow]]:
    """Technique-by-rule cells from stored results and gaps: two queries in all."""
    now = now or timezone.now()
    techniques = list(techniques)
    ids = [t.pk for t in techniques]
    rule_ids = [r.id for r in engine.RULES.values() if not severity or r.severity == severity]
    # Tuples, not model instances: a page reads 50 x 22 of them.
    results = {
        (technique_id, rule_id): _Result(status, summary, caution)
        for technique_id, rule_id, status, summary, caution in RuleResult.objects.filter(
            technique_id__in=ids, rule_id__in=rule_ids
        ).values_list("technique_id", "rule_id", "status", "summary", "evidence__caution")
    }
    gaps = {
        (g.technique_id, g.rule_id): g
        for g in Gap.objects.unresolved()
        .filter(technique_id__in=ids, rule_id__in=rule_ids)
        .only(
            "id",
            "technique_id",
            "rule_id",
            "state",
            "summary",
            "since",
            "opened_at",
            "resolved_at",
            "waived_until",
        )
    }
    rows = []
    for technique in techniques:
        cells = [
            _cell(
                rule_id,
                results.get((technique.pk, rule_id)),
                gaps.get((technique.pk, rule_id)),
                now,
            )
            for rule_id in rule_ids
        ]
        failing = [c.gap for c in cells if c.status == Shown.FAIL and c.gap]
        starts = [g.since or g.opened_at for g in failing]
        rows.append(MatrixRow(technique, cells, len(failing), min(starts) if starts else None))
    if sort == "health":
        # The stored health level: most points first (unknown health last), then name.
        rows.sort(
            key=lambda r: (
                r.technique.health_level == HealthLevel.UNKNOWN,
                -r.technique.health_points,
                -r.open_gaps,
                r.technique.name,
            )
        )
    elif sort == "most":
        rows.sort(key=lambda r: (-r.open_gaps, r.technique.name))
    elif sort == "oldest":
        rows.sort(key=lambda r: (r.oldest_gap is None, r.oldest_gap or now, r.technique.name))
    return rule_ids, rows


# --- for other apps (the reviews' evidence) ------------------------------------------


def rules_have_run(technique: Technique) -> bool:
    return RuleResult.objects.filter(technique=technique).exists()


def rule_result(technique: Technique, rule_id: str) -> RuleResult | None:
    return RuleResult.objects.filter(technique=technique, rule_id=rule_id).first()


def unresolved_gaps(technique: Technique) -> list[Gap]:
    return list(Gap.objects.unresolved().filter(technique=technique).order_by("opened_at"))


def gaps_resolved_since(technique: Technique, start: datetime) -> int:
    return Gap.objects.filter(technique=technique, resolved_at__gte=start).count()


def open_gap_counts() -> list[int]:
    """Each technique's number of open gaps (the metrics read it)."""
    return list(
        Technique.objects.annotate(
            n=Count("gaps", filter=Q(gaps__state=Gap.State.OPEN))
        ).values_list("n", flat=True)
    )


def open_gaps_by_severity() -> list[tuple[str, int]]:
    """(severity, open gaps) pairs, by severity (the metrics read them)."""
    return list(
        Gap.objects.filter(state=Gap.State.OPEN)
        .values_list("severity")
        .annotate(n=Count("id"))
        .order_by("severity")
    )

"""Reads of adherence for pages: health, duty summaries, the matrix, the trend.

Pages read stored rule results, gaps and health; nothing here evaluates a rule.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from django.db.models import Count, F, Q
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
    # Duties none of whose rules binds in the technique's stage (most, before launch),
    # each with when it binds: [(duty, "from launch")].
    not_binding: list = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.met) + len(self.failing)


def duty_summary(technique) -> DutySummary:
    """Which duties of the technique's TOS are met, from the latest rule results.

    A duty is met when every rule behind it that applies passes (waived gaps count as
    met for the public summary, which never shows waiver reasons); duties no rule
    checks, or whose rules are all N/A, are "not checked", and duties none of whose rules
    binds in the technique's stage (most of them, before launch) are "not binding".
    """
    statuses = dict(RuleResult.objects.filter(technique=technique).values_list("rule_id", "status"))
    waived = set(
        Gap.objects.filter(technique=technique, state=Gap.State.WAIVED).values_list(
            "rule_id", flat=True
        )
    )
    met, failing, not_checked, not_binding = [], [], [], []
    for duty in DUTIES:
        if not duty.applies(technique):
            continue
        rules = [engine.RULES[rule_id] for rule_id in duty.rules if rule_id in engine.RULES]
        if rules and not any(rule.binds_in(technique.stage) for rule in rules):
            not_binding.append((duty, rules[0].binding_stages))
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
    return DutySummary(met, failing, not_checked, not_binding)


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
    due: date | None = None  # the gap's due date (its own, else its campaign's)


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
    due = getattr(gap, "due", None) if gap else None
    return Cell(rule_id, status, summary, gap, days, str(caution), due)


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
            "acknowledged_at",
            "waived_until",
        )
        .with_due()
        .annotate(assignee_login=F("remediation__assignee__github_login"))
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


# --- remediation: campaigns, their burn-down, the waiver requests ----------------------


@dataclass
class CampaignProgress:
    campaign: object
    open: int
    done: int

    @property
    def total(self) -> int:
        return self.open + self.done


def _campaign_spans(campaigns) -> dict[int, list[tuple]]:
    """Per campaign, its items as (since or opened_at, resolved_at): one query for all."""
    campaigns = list(campaigns)
    if not campaigns:
        return {}
    earliest = min(c.created_at for c in campaigns)
    rows = (
        Gap.objects.filter(rule_id__in={c.rule_id for c in campaigns})
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=earliest))
        .values_list("rule_id", "technique__tos_level", "since", "opened_at", "resolved_at")
    )
    spans: dict[int, list[tuple]] = {c.pk: [] for c in campaigns}
    for rule_id, level, since, opened_at, resolved_at in rows:
        for c in campaigns:
            if (
                c.rule_id == rule_id
                and (not c.tos_level or c.tos_level == level)
                and (resolved_at is None or resolved_at >= c.created_at)
            ):
                spans[c.pk].append((since or opened_at, resolved_at))
    return spans


def campaigns_progress(campaigns) -> list[CampaignProgress]:
    """Each campaign with its open and done items, in one query for them all."""
    campaigns = list(campaigns)
    spans = _campaign_spans(campaigns)
    return [
        CampaignProgress(
            c,
            sum(1 for _, resolved in spans[c.pk] if resolved is None),
            sum(1 for _, resolved in spans[c.pk] if resolved is not None),
        )
        for c in campaigns
    ]


def _moments(start: datetime, end: datetime, most: int = 27) -> list[datetime]:
    """Evenly spaced moments from ``start`` to ``end``: days, or weeks for a long span."""
    from datetime import timedelta

    span = max(end - start, timedelta(0))
    step = timedelta(days=1) if span <= timedelta(days=most) else timedelta(weeks=1)
    moments: list[datetime] = []
    at = start
    while at < end and len(moments) < 400:
        moments.append(at)
        at += step
    return [*moments, end]


def campaign_burndown(campaign, now: datetime | None = None) -> list[tuple[datetime, int, int]]:
    """(moment, open items, done items) from the campaign's start to now: an item is open
    from its gap's ``since`` (else when the portal noticed it) to its resolution, and
    done from then. One query."""
    now = now or timezone.now()
    spans = _campaign_spans([campaign])[campaign.pk]
    points = []
    for at in _moments(campaign.created_at, max(now, campaign.created_at)):
        open_ = sum(1 for start, end in spans if start <= at and (end is None or end > at))
        done = sum(1 for _, end in spans if end is not None and end <= at)
        points.append((at, open_, done))
    return points


def campaign_items(campaign):
    """The campaign's gaps for its page: open first (oldest violation first), then done."""
    return (
        campaign.gaps()
        .with_due()
        .select_related("technique__owner_group", "remediation__assignee")
        .defer("evidence", "links", "acknowledge_note", "waiver_reason")
        .order_by(F("resolved_at").desc(nulls_first=True), F("since").asc(nulls_last=True), "pk")
    )


def pending_waiver_requests():
    """Waiver requests waiting for the team (on gaps not resolved since), oldest first."""
    from adherence.models import WaiverRequest

    return (
        WaiverRequest.objects.filter(status=WaiverRequest.Status.PENDING)
        .exclude(gap__state=Gap.State.RESOLVED)
        .select_related("gap__technique", "requested_by")
        .order_by("requested_at", "pk")
    )


def rule_history(rule_id: str, weeks: int = 26, now: datetime | None = None) -> dict:
    """How many techniques met a rule at the end of each of the last ``weeks`` weeks:
    counted over the techniques the rule applies to today (its latest result passes or
    fails); a technique fails it from its gap's ``since`` (else when the portal noticed
    it) to its resolution. Two queries."""
    from datetime import timedelta

    now = now or timezone.now()
    applicable = set(
        RuleResult.objects.filter(
            rule_id=rule_id, status__in=[engine.Status.PASS, engine.Status.FAIL]
        ).values_list("technique_id", flat=True)
    )
    start = now - timedelta(weeks=weeks)
    spans = [
        (technique_id, since or opened_at, resolved_at)
        for technique_id, since, opened_at, resolved_at in Gap.objects.filter(
            rule_id=rule_id, technique_id__in=applicable
        )
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .values_list("technique_id", "since", "opened_at", "resolved_at")
    ]
    moments = [start + timedelta(weeks=week) for week in range(1, weeks)] + [now]
    points = []
    for at in moments:
        failing = {t for t, begin, end in spans if begin <= at and (end is None or end > at)}
        points.append((at, len(applicable) - len(failing), len(failing)))
    return {"applicable": len(applicable), "points": points}


def rule_failing_gaps(rule_id: str):
    """The unresolved gaps of a rule, the longest-standing first, with their due dates."""
    return (
        Gap.objects.unresolved()
        .filter(rule_id=rule_id)
        .with_due()
        .select_related("technique__owner_group", "remediation__assignee")
        .defer("evidence", "links", "acknowledge_note", "waiver_reason")
        .order_by(F("since").asc(nulls_last=True), "opened_at", "pk")
    )

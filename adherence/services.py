"""Workflows of adherence: evaluate every rule, keep gaps, acknowledge, waive, notify."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from adherence import engine
from adherence.models import Gap, GapEvent, Notification, RuleResult
from adherence.permissions import can_acknowledge, can_waive
from techniques.cache import bump_data_version
from techniques.duties import DUTIES
from techniques.models import Technique
from techniques.text import fit

logger = logging.getLogger(__name__)
MAX_NOTE = 2000


@dataclass
class EvaluationSummary:
    techniques: int
    results: int
    opened: list[Gap]
    resolved: int
    expired: list[Gap]


def _techniques():
    return list(Technique.objects.select_related("owner_group").order_by("pk"))


@transaction.atomic
def gaps_evaluate(now: datetime | None = None) -> EvaluationSummary:
    """Evaluate every rule for every technique; open, update, resolve and expire gaps.

    Safe to run twice: results are upserted on (technique, rule) and a gap changes only
    when the rule's outcome does.
    """
    now = now or timezone.now()
    techniques = _techniques()
    results = engine.evaluate(techniques, now)
    by_id = {t.pk: t for t in techniques}

    RuleResult.objects.bulk_create(
        [
            RuleResult(
                technique_id=technique_id,
                rule_id=rule_id,
                status=str(result.status),
                summary=fit(Gap, "summary", result.summary),
                evidence=result.evidence,
                links=result.links,
                since=result.since,
                evaluated_at=now,
            )
            for (technique_id, rule_id), result in results.items()
        ],
        update_conflicts=True,
        unique_fields=["technique", "rule_id"],
        update_fields=["status", "summary", "evidence", "links", "since", "evaluated_at"],
    )

    unresolved = {(g.technique_id, g.rule_id): g for g in Gap.objects.unresolved()}
    new_gaps, events, changed, expired = [], [], [], []
    resolved = 0
    for (technique_id, rule_id), result in results.items():
        gap = unresolved.get((technique_id, rule_id))
        failing = result.status == engine.Status.FAIL
        if failing and gap is None:
            new_gaps.append(
                Gap(
                    technique_id=technique_id,
                    rule_id=rule_id,
                    severity=str(engine.RULES[rule_id].severity),
                    summary=fit(Gap, "summary", result.summary),
                    evidence=result.evidence,
                    links=result.links,
                    since=result.since,
                    opened_at=now,
                )
            )
        elif failing and gap is not None:
            if gap.state == Gap.State.WAIVED and gap.waived_until and gap.waived_until < now.date():
                gap.state = Gap.State.OPEN
                events.append(GapEvent(gap=gap, kind=GapEvent.Kind.WAIVER_EXPIRED, at=now))
                expired.append(gap)
                changed.append(gap)
            gap_since_changed = gap.since != result.since
            gap.since = result.since
            if gap_since_changed and gap not in changed:
                changed.append(gap)
            if (
                gap.summary != fit(Gap, "summary", result.summary)
                or gap.evidence != result.evidence
            ):
                gap.summary, gap.evidence, gap.links = (
                    fit(Gap, "summary", result.summary),
                    result.evidence,
                    result.links,
                )
                events.append(
                    GapEvent(
                        gap=gap,
                        kind=GapEvent.Kind.EVIDENCE,
                        at=now,
                        summary=gap.summary,
                        evidence=gap.evidence,
                    )
                )
                if gap not in changed:
                    changed.append(gap)
        elif gap is not None:
            gap.state, gap.resolved_at = Gap.State.RESOLVED, now
            events.append(
                GapEvent(
                    gap=gap,
                    kind=GapEvent.Kind.RESOLVED,
                    at=now,
                    summary=fit(Gap, "summary", result.summary),
                )
            )
            changed.append(gap)
            resolved += 1

    Gap.objects.bulk_create(new_gaps)
    events += [
        GapEvent(
            gap=gap, kind=GapEvent.Kind.OPENED, at=now, summary=gap.summary, evidence=gap.evidence
        )
        for gap in new_gaps
    ]
    Gap.objects.bulk_update(
        changed, ["state", "resolved_at", "summary", "evidence", "links", "since"]
    )
    GapEvent.objects.bulk_create(events)
    bump_data_version()
    for gap in new_gaps + expired:
        gap.technique = by_id[gap.technique_id]
    transaction.on_commit(lambda: gaps_notify(new_gaps, expired))
    return EvaluationSummary(len(techniques), len(results), new_gaps, resolved, expired)


@transaction.atomic
def gap_acknowledge(gap: Gap, user, note: str, now: datetime | None = None) -> Gap:
    if not can_acknowledge(user, gap):
        raise PermissionDenied(
            "Only the technique's owners or the TFMOT team can acknowledge a gap."
        )
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what you will do about it (a note is required)."})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"Keep the note under {MAX_NOTE} characters."})
    if gap.state != Gap.State.OPEN:
        raise ValidationError(
            f"Only an open gap can be acknowledged; this one is {gap.get_state_display().lower()}."
        )
    now = now or timezone.now()
    gap.state, gap.acknowledged_by, gap.acknowledged_at, gap.acknowledge_note = (
        Gap.State.ACKNOWLEDGED,
        user,
        now,
        note,
    )
    gap.save()
    GapEvent.objects.create(gap=gap, kind=GapEvent.Kind.ACKNOWLEDGED, at=now, by=user, note=note)
    return gap


@transaction.atomic
def gap_waive(gap: Gap, user, reason: str, until: date | None, now: datetime | None = None) -> Gap:
    if not can_waive(user):
        raise PermissionDenied("Only the TFMOT team can waive a gap.")
    now = now or timezone.now()
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "A waiver needs a reason."
    elif len(reason) > MAX_NOTE:
        errors["reason"] = f"Keep the reason under {MAX_NOTE} characters."
    if until is None:
        errors["until"] = "A waiver needs an end date."
    elif until <= now.date():
        errors["until"] = "The end date must be in the future."
    if errors or until is None:
        raise ValidationError(errors)
    if gap.state == Gap.State.RESOLVED:
        raise ValidationError("This gap is resolved; there is nothing to waive.")
    gap.state, gap.waived_by, gap.waived_at, gap.waiver_reason, gap.waived_until = (
        Gap.State.WAIVED,
        user,
        now,
        reason,
        until,
    )
    gap.save()
    GapEvent.objects.create(
        gap=gap,
        kind=GapEvent.Kind.WAIVED,
        at=now,
        by=user,
        note=f"{reason} (until {until.isoformat()})",
    )
    return gap


# --- notifications -----------------------------------------------------------------


def _claim(key: str) -> Notification | None:
    """Record the notification first; a second attempt for the same key gets None."""
    try:
        with transaction.atomic():
            return Notification.objects.create(key=key)
    except IntegrityError:
        return None


def gaps_notify(opened: list[Gap], expired: list[Gap]) -> int:
    """Email the owner group (and the webhook) once per opened gap or expired waiver."""
    sent = 0
    for gap, kind in [(g, "opened") for g in opened] + [(g, "waiver-expired") for g in expired]:
        key = f"gap-{gap.pk}-{kind}-{gap.waived_until or ''}"
        notification = _claim(key)
        if notification is None:
            continue
        rule = engine.RULES.get(gap.rule_id)
        title = rule.title if rule else gap.rule_id
        what = "A gap opened" if kind == GapEvent.Kind.OPENED else "A waiver expired"
        url = settings.PORTAL_BASE_URL + gap.get_absolute_url()
        recipients = gap.technique.owner_group.contact_emails() if gap.technique.owner_group else []
        if recipients:
            send_mail(
                f"[tfmot-portal] {what}: {gap.technique.name} — {title}",
                f"{what} for {gap.technique.name}.\n\nDuty check: {title}\n{gap.summary}\n\nDetails: {url}\n",
                None,
                recipients,
                fail_silently=True,
            )
        notification.recipients = ", ".join(recipients)
        notification.webhook_status = _post_webhook(gap, kind, title, url)
        notification.save(update_fields=["recipients", "webhook_status"])
        sent += 1
    return sent


def _post_webhook(gap: Gap, kind: str, title: str, url: str) -> str:
    if not settings.GAP_WEBHOOK_URL:
        return ""
    payload = {
        "event": f"gap.{kind}",
        "technique": gap.technique.slug,
        "rule": gap.rule_id,
        "title": title,
        "severity": gap.severity,
        "summary": gap.summary,
        "opened_at": gap.opened_at.isoformat(),
        "url": url,
    }
    try:
        response = requests.post(settings.GAP_WEBHOOK_URL, json=payload, timeout=5)
        return f"HTTP {response.status_code}"
    except requests.RequestException as error:
        logger.warning("Gap webhook failed: %s", error)
        return f"failed: {type(error).__name__}"


def digest_send(now: datetime | None = None) -> bool:
    """The weekly digest of open gaps for the TFMOT team; once per ISO week."""
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    notification = _claim(f"digest-{year}-W{week:02d}")
    if notification is None:
        return False
    staff = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    gaps = list(Gap.objects.open().select_related("technique").order_by("opened_at")[:200])
    lines = [
        f"- {g.technique.name}: {g.rule_id} ({g.get_state_display().lower()}, {g.days_open(now)} days) "
        f"{settings.PORTAL_BASE_URL}{g.get_absolute_url()}"
        for g in gaps
    ]
    body = f"{len(gaps)} open gaps.\n\n" + (
        "\n".join(lines) or "No open gaps: every checked duty is met."
    )
    if staff:
        send_mail(
            f"[tfmot-portal] Weekly adherence digest, {year}-W{week:02d}",
            body,
            None,
            staff,
            fail_silently=True,
        )
    notification.recipients = ", ".join(staff)
    notification.save(update_fields=["recipients"])
    return True


# --- read models for pages -----------------------------------------------------------


def health_by_technique(techniques) -> dict[int, dict]:
    """Health at a glance per technique, in two queries whatever their number."""
    ids = [t.pk for t in techniques]
    evaluated = set(
        RuleResult.objects.filter(technique_id__in=ids)
        .values_list("technique_id", flat=True)
        .distinct()
    )
    open_counts = dict(
        Gap.objects.open()
        .filter(technique_id__in=ids)
        .values_list("technique_id")
        .annotate(n=Count("id"))
    )
    health = {}
    for technique_id in ids:
        count = open_counts.get(technique_id, 0)
        if technique_id not in evaluated:
            health[technique_id] = {"status": "unknown", "open_gaps": 0, "label": "not checked yet"}
        elif count:
            health[technique_id] = {
                "status": "gaps",
                "open_gaps": count,
                "label": f"{count} open gap{'s' if count > 1 else ''}",
            }
        else:
            health[technique_id] = {
                "status": "healthy",
                "open_gaps": 0,
                "label": "all checked duties met",
            }
    return health


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
            "pass" if rule_id in waived else statuses.get(rule_id) for rule_id in duty.rules
        ]
        applicable = [s for s in rule_statuses if s in ("pass", "fail")]
        if not applicable:
            not_checked.append(duty)
        elif "fail" in applicable:
            failing.append(duty)
        else:
            met.append(duty)
    return DutySummary(met, failing, not_checked)


def gap_trend(weeks: int = 26, technique=None, now: datetime | None = None) -> dict:
    """Gaps open at the end of each of the last ``weeks`` weeks, and time to close."""
    now = now or timezone.now()
    start = now - timedelta(weeks=weeks)
    gaps = Gap.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
    if technique is not None:
        gaps = gaps.filter(technique=technique)
    spans = list(gaps.values_list("opened_at", "resolved_at"))
    points = []
    for week in range(weeks + 1):
        at = start + timedelta(weeks=week)
        points.append((at, sum(1 for o, r in spans if o <= at and (r is None or r > at))))
    closed = Gap.objects.filter(resolved_at__isnull=False)
    if technique is not None:
        closed = closed.filter(technique=technique)
    durations = [
        (r - o).total_seconds() / 86400
        for o, r in closed.values_list("opened_at", "resolved_at")[:10000]
        if r is not None
    ]
    return {
        "points": points,
        "median_days_to_close": statistics.median(durations) if durations else None,
        "closed": len(durations),
    }


@dataclass
class Cell:
    rule_id: str
    status: str  # pass | fail | waived | na | unknown
    text: str
    summary: str
    gap: Gap | None = None


@dataclass
class MatrixRow:
    technique: Technique
    cells: list[Cell]
    open_gaps: int
    oldest_gap: datetime | None


def adherence_matrix(
    techniques, severity: str = "", sort: str = "name", now: datetime | None = None
) -> tuple[list[str], list[MatrixRow]]:
    """Technique-by-rule cells from stored results and gaps: three queries in all."""
    now = now or timezone.now()
    techniques = list(techniques)
    ids = [t.pk for t in techniques]
    rule_ids = [r.id for r in engine.RULES.values() if not severity or r.severity == severity]
    results = {
        (r.technique_id, r.rule_id): r
        for r in RuleResult.objects.filter(technique_id__in=ids, rule_id__in=rule_ids).only(
            "technique_id", "rule_id", "status", "summary"
        )
    }
    gaps = {
        (g.technique_id, g.rule_id): g
        for g in Gap.objects.unresolved()
        .filter(technique_id__in=ids, rule_id__in=rule_ids)
        .only("id", "technique_id", "rule_id", "state", "opened_at", "waived_until")
    }
    rows = []
    for technique in techniques:
        cells, open_gaps, oldest = [], 0, None
        for rule_id in rule_ids:
            result = results.get((technique.pk, rule_id))
            gap = gaps.get((technique.pk, rule_id))
            if gap and gap.state == Gap.State.WAIVED:
                cell = Cell(
                    rule_id,
                    "waived",
                    "~ waived",
                    f"Waived until {gap.waived_until:%Y-%m-%d}. "
                    + (result.summary if result else ""),
                    gap,
                )
            elif gap:
                days = (now - gap.opened_at).days
                cell = Cell(
                    rule_id, "fail", f"✗ {days}d", result.summary if result else gap.summary, gap
                )
                open_gaps += 1
                oldest = min(oldest, gap.opened_at) if oldest else gap.opened_at
            elif result is None:
                cell = Cell(rule_id, "unknown", "?", "Not evaluated yet.")
            elif result.status == "na":
                cell = Cell(rule_id, "na", "N/A", result.summary)
            elif result.status == "fail":
                cell = Cell(rule_id, "fail", "✗", result.summary)
            else:
                cell = Cell(rule_id, "pass", "✓", result.summary)
            cells.append(cell)
        rows.append(MatrixRow(technique, cells, open_gaps, oldest))
    if sort == "most":
        rows.sort(key=lambda r: (-r.open_gaps, r.technique.name))
    elif sort == "oldest":
        rows.sort(key=lambda r: (r.oldest_gap is None, r.oldest_gap or now, r.technique.name))
    return rule_ids, rows

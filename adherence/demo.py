"""Demo adherence: evaluate every rule, then some history (acknowledged, waived, resolved)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from adherence import engine
from adherence.models import Campaign, Gap, GapEvent, Remediation, WaiverRequest
from adherence.services import (
    gap_acknowledge,
    gap_waive,
    gaps_evaluate,
    remediation_set,
    waiver_request_submit,
)
from techniques.models import Technique, TOSLevel


def _closed_gap(now) -> None:
    """A gap the pruning owners closed last quarter: the trend and median time to close."""
    if not Gap.objects.filter(rule_id="api-tests", technique__slug="pruning").exists():
        resolved = now - timedelta(days=95)
        past = Gap.objects.create(
            technique_id=_technique_id("pruning"),
            rule_id="api-tests",
            severity=engine.Severity.MEDIUM,
            state=Gap.State.RESOLVED,
            summary="Comprehensive public API testing was not confirmed.",
            opened_at=now - timedelta(days=120),
            resolved_at=resolved,
        )
        GapEvent.objects.bulk_create(
            [
                GapEvent(
                    gap=past, kind=GapEvent.Kind.OPENED, at=past.opened_at, summary=past.summary
                ),
                GapEvent(gap=past, kind=GapEvent.Kind.RESOLVED, at=resolved, summary="Confirmed."),
            ]
        )


def load(stdout=None) -> dict:
    now = timezone.now()
    _closed_gap(now)
    summary = gaps_evaluate()
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["alice", "bob", "carol"])
    }
    open_gaps = list(
        Gap.objects.open()
        .select_related("technique__owner_group")
        .order_by("technique__slug", "rule_id")
    )
    acknowledged = waived = 0
    for gap in open_gaps:
        owners = (
            {m.github_login for m in gap.technique.owner_group.maintainers.all()}
            if gap.technique.owner_group
            else set()
        )
        if (
            gap.state == Gap.State.OPEN
            and "alice" in owners
            and not acknowledged
            and "alice" in users
        ):
            gap_acknowledge(
                gap, users["alice"], "We are on it: a fix is planned for the next release."
            )
            acknowledged += 1
        elif gap.state == Gap.State.OPEN and "bob" in owners and not waived and "carol" in users:
            gap_waive(
                gap,
                users["carol"],
                "Arm ML Tooling is staffing up; agreed at the last TFMOT sync.",
                (now + timedelta(days=60)).date(),
            )
            waived += 1
    _remediation(now, users)
    counts = {"rules evaluated": summary.results, "open gaps": Gap.objects.open().count()}
    if stdout:
        stdout.write(f"adherence: {counts}")
    return counts


def _remediation(now, users) -> None:
    """A campaign started eight weeks ago (with an item done three weeks ago, for its
    burn-down), one gap due soon, one overdue, and one waiver request waiting."""
    if Campaign.objects.exists() or "carol" not in users:
        return
    carol = users["carol"]
    Campaign.objects.create(
        title="Every production technique has a training speed test",
        rule_id="training-speed-test",
        tos_level=TOSLevel.PRODUCTION,
        due_on=max(
            (now + timedelta(days=30)).date(),
            now.date().replace(month=3, day=31, year=now.year + 1),
        ),
        created_by=carol,
        created_at=now - timedelta(weeks=8),
    )
    production = Technique.objects.filter(tos_level=TOSLevel.PRODUCTION).order_by("pk")
    done_on = production.exclude(gaps__rule_id="training-speed-test").first()
    if done_on is not None:
        resolved = now - timedelta(weeks=3)
        fixed = Gap.objects.create(
            technique=done_on,
            rule_id="training-speed-test",
            severity=engine.Severity.MEDIUM,
            state=Gap.State.RESOLVED,
            summary="No training speed test.",
            since=now - timedelta(weeks=12),
            opened_at=now - timedelta(weeks=10),
            resolved_at=resolved,
        )
        GapEvent.objects.bulk_create(
            [
                GapEvent(gap=fixed, kind=GapEvent.Kind.OPENED, at=fixed.opened_at),
                GapEvent(gap=fixed, kind=GapEvent.Kind.RESOLVED, at=resolved),
            ]
        )
    alices = list(
        Gap.objects.open()
        .filter(technique__owner_group__maintainers__github_login="alice")
        .exclude(rule_id="training-speed-test")
        .select_related("technique__owner_group")
        .order_by("technique__slug", "rule_id")
    )
    for gap, days in zip(alices[:2], (21, -4), strict=False):
        assignee = gap.technique.owner_group.maintainers.filter(github_login="alice").first()
        if days > 0:
            remediation_set(
                gap, carol, (now + timedelta(days=days)).date(), assignee, "Next release."
            )
        else:  # set a month ago, now past its date
            Remediation.objects.create(
                gap=gap,
                due_on=(now + timedelta(days=days)).date(),
                assignee=assignee,
                set_by=carol,
                set_at=now - timedelta(days=30),
            )
    asked = [g for g in alices[2:] if g.state == Gap.State.OPEN]
    if asked and "alice" in users and not WaiverRequest.objects.exists():
        waiver_request_submit(
            asked[0],
            users["alice"],
            "The benchmark runner moves to new hardware in January; we re-baseline then.",
            (now + timedelta(days=45)).date(),
        )


def _technique_id(slug: str) -> int:
    return Technique.objects.values_list("pk", flat=True).get(slug=slug)

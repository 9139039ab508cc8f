"""Demo adherence: evaluate every rule, then some history (acknowledged, waived, resolved)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from adherence import engine
from adherence.models import Gap, GapEvent
from adherence.services import gap_acknowledge, gap_waive, gaps_evaluate
from techniques.models import Technique


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
    counts = {"rules evaluated": summary.results, "open gaps": Gap.objects.open().count()}
    if stdout:
        stdout.write(f"adherence: {counts}")
    return counts


def _technique_id(slug: str) -> int:
    return Technique.objects.values_list("pk", flat=True).get(slug=slug)

"""Rule review-due: an accepted review for the current half-year by its due date."""

from __future__ import annotations

from adherence.engine import BOTH, Result, Severity, register_facts, register_rule
from reviews.models import Review, ReviewCycle
from techniques.models import Stage


@register_facts("reviews_current")
def load_reviews(techniques, now):
    year, half = ReviewCycle.for_day(now.date())
    due = ReviewCycle.bounds(year, half)[1]
    status = dict(
        Review.objects.filter(
            cycle__year=year, cycle__half=half, technique_id__in=[t.pk for t in techniques]
        ).values_list("technique_id", "status")
    )
    return {
        t.pk: {"cycle": f"{year} H{half}", "due": due, "status": status.get(t.pk)}
        for t in techniques
    }


@register_rule(
    id="review-due",
    title="Semi-annual review accepted on time",
    applies_to=BOTH,
    stages=(Stage.LAUNCHED, Stage.DEPRECATING, Stage.IN_DEVELOPMENT),
    severity=Severity.MEDIUM,
    source="Semi-annual reviews on benefits and usage, major updates, and TOS adherence",
)
def review_due(technique, facts):
    info = facts.get("reviews_current")
    if not info:
        return Result.not_applicable("No review cycle.")
    cycle, due, status = info["cycle"], info["due"], info["status"]
    if status == Review.Status.ACCEPTED:
        return Result.passed(f"The {cycle} review is accepted.")
    if facts.now.date() <= due:
        state = {
            None: "not started",
            Review.Status.DRAFT: "in draft",
            Review.Status.SUBMITTED: "submitted",
            Review.Status.CHANGES_REQUESTED: "returned for changes",
        }
        return Result.passed(
            f"The {cycle} review is due on {due:%d %B %Y} ({state.get(status, status)})."
        )
    return Result.failed(
        f"The {cycle} review was due on {due:%d %B %Y} and is not accepted ({status or 'not started'}).",
        links=[{"title": "Reviews", "url": "/reviews/"}],
        due=due.isoformat(),
    )

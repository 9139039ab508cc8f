"""Rule review-due: every review is accepted by its cycle's due date, whatever the cycle.

The overdue figure is ``Review.days_overdue`` (one computation): the rule, the review
queue and the technique page's review panel all read it.
"""

from __future__ import annotations

from adherence.engine import Result, day_start, register_facts, register_rule
from reviews.models import Review, ReviewCycle


@register_facts("reviews_due")
def load_reviews(techniques, now):
    """Per technique: its unaccepted reviews past their due date (oldest first) and the
    current cycle's review, in one query."""
    today = now.date()
    year, half = ReviewCycle.for_day(today)
    found: dict[int, dict] = {t.pk: {"overdue": [], "current": None} for t in techniques}
    reviews = (
        Review.objects.filter(technique_id__in=found)
        .select_related("cycle")
        .only("id", "technique_id", "status", "cycle__year", "cycle__half", "cycle__due_date")
        .order_by("cycle__due_date")
    )
    for review in reviews:
        if review.days_overdue(today):
            found[review.technique_id]["overdue"].append(review)
        if (review.cycle.year, review.cycle.half) == (year, half):
            found[review.technique_id]["current"] = review
    return found


STATE = {
    None: "not started",
    "draft": "in draft",
    "submitted": "submitted",
    "changes_requested": "returned for changes",
}


@register_rule("review-due")
def review_due(technique, facts):
    info = facts.get("reviews_due")
    if not info:
        return Result.not_applicable("No review cycle.")
    overdue = info["overdue"]
    if overdue:
        today = facts.now.date()
        oldest = overdue[0]
        return Result.failed(
            "Not accepted past the due date: "
            + "; ".join(
                f"{r.cycle} review due {r.cycle.due_date:%d %B %Y}, {r.days_overdue(today)} days "
                f"overdue ({STATE.get(r.status, r.status)})"
                for r in overdue
            )
            + ".",
            links=[{"title": f"{r.cycle} review", "url": r.get_absolute_url()} for r in overdue],
            # Counted from the due date, as days overdue are: the gap's "failing N days"
            # and the review's "N days overdue" are the same figure.
            since=facts.counts_from(day_start(oldest.cycle.due_date)),
            overdue=[
                {
                    "cycle": str(r.cycle),
                    "due": r.cycle.due_date.isoformat(),
                    "days_overdue": r.days_overdue(today),
                    "status": r.status,
                }
                for r in overdue
            ],
        )
    current = info["current"]
    if current is None:
        return Result.passed("No review is overdue; the current cycle's review is not open yet.")
    if current.status == Review.Status.ACCEPTED:
        return Result.passed(f"The {current.cycle} review is accepted.")
    return Result.passed(
        f"The {current.cycle} review is due on {current.cycle.due_date:%d %B %Y} "
        f"({STATE.get(current.status, current.status)})."
    )

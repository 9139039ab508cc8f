"""The technique page shows the public parts of the last accepted review."""

from reviews.models import Review
from reviews.services import render_markdown
from techniques.panels import Panel, register_panel


def overdue_reviews(technique) -> list[Review]:
    """Reviews past their due date and not accepted (``Review.days_overdue``, the figure
    the review-due rule judges), oldest first."""
    reviews = (
        Review.objects.filter(technique=technique)
        .exclude(status=Review.Status.ACCEPTED)
        .select_related("cycle")
        .order_by("cycle__due_date")
    )
    return [r for r in reviews if r.days_overdue()]


def review_panel(request, technique):
    overdue = overdue_reviews(technique)
    review = (
        Review.objects.filter(technique=technique, status=Review.Status.ACCEPTED)
        .select_related("cycle")
        .order_by("-cycle__year", "-cycle__half")
        .first()
    )
    if review is None:
        return Panel("reviews/_panel.html", {"review": None, "overdue": overdue})
    return Panel(
        "reviews/_panel.html",
        {
            "review": review,
            "overdue": overdue,
            "benefits": render_markdown(review.benefits_usage),
            "updates": render_markdown(review.major_updates),
        },
    )


register_panel(review_panel, order=60)

"""The technique page shows the public parts of the last accepted review."""

from reviews.models import Review
from reviews.services import render_markdown
from techniques.panels import Panel, register_panel


def review_panel(request, technique):
    review = (
        Review.objects.filter(technique=technique, status=Review.Status.ACCEPTED)
        .select_related("cycle")
        .order_by("-cycle__year", "-cycle__half")
        .first()
    )
    if review is None:
        return Panel("reviews/_panel.html", {"review": None})
    return Panel(
        "reviews/_panel.html",
        {
            "review": review,
            "benefits": render_markdown(review.benefits_usage),
            "updates": render_markdown(review.major_updates),
        },
    )


register_panel(review_panel, order=60)

"""Landing-page sections of the reviews: decisions awaited, reviews due and overdue."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from reviews.models import Review
from reviews.selectors import ANSWERS, PENDING
from techniques.landing import Entry, Section, Tone, listed_section, register_landing

SHOWN = 8


def _queue(view: str) -> str:
    return reverse("reviews:queue") + f"?view={view}"


def _staff_section(key, title, reviews, detail, tone, empty) -> Section:
    """A section of the first ``SHOWN`` reviews, each linked to its page with
    ``detail(review)``, counting them all; ``key`` names the section and its queue view."""
    return listed_section(
        key,
        title,
        reviews.defer(*ANSWERS),
        lambda r: Entry(
            f"{r.technique.name} — {r.cycle} review", r.get_absolute_url(), detail(r), tone
        ),
        _queue(key),
        empty,
        SHOWN,
    )


def awaiting_decision(user, owned) -> Section:
    reviews = (
        Review.objects.filter(status=Review.Status.SUBMITTED)
        .select_related("technique", "cycle", "submitted_by")
        .order_by("submitted_at", "technique__name")
    )
    return _staff_section(
        "decide",
        "Reviews awaiting a decision",
        reviews,
        lambda r: (
            f"submitted {timesince(r.submitted_at)} ago by {r.submitted_by}"
            if r.submitted_at
            else "submitted"
        ),
        Tone.WARN,
        "No submitted review waits for a decision.",
    )


def overdue(user, owned) -> Section:
    today = timezone.localdate()
    reviews = (
        Review.objects.filter(status__in=PENDING, cycle__due_date__lt=today)
        .select_related("technique", "cycle")
        .order_by("cycle__due_date", "technique__name")
    )
    return _staff_section(
        "overdue",
        "Reviews overdue",
        reviews,
        lambda r: f"{r.days_overdue(today)} days overdue · {r.get_status_display().lower()}",
        Tone.FAIL,
        "No review is overdue.",
    )


def your_reviews(user, owned) -> Section | None:
    if not owned:
        return None
    today = timezone.localdate()
    reviews = (
        Review.objects.filter(technique__in=owned, status__in=PENDING)
        .select_related("technique", "cycle")
        .defer(*ANSWERS)
        .order_by("cycle__due_date", "technique__name")
    )
    entries = []
    for r in reviews:
        late = r.days_overdue(today)
        detail = (
            f"{late} days overdue (due {r.cycle.due_date:%-d %B %Y})"
            if late
            else f"due {r.cycle.due_date:%-d %B %Y}"
        )
        if r.status == Review.Status.CHANGES_REQUESTED:
            detail += " · changes requested"
        entries.append(
            Entry(
                f"{r.technique.name} — {r.cycle} review",
                reverse("reviews:edit", args=[r.pk]),
                detail,
                Tone.FAIL if late else Tone.WARN,
            )
        )
    return Section(
        "your-reviews",
        "Your reviews to fill in",
        entries,
        _queue("mine"),
        "Every review of your techniques is submitted.",
    )


register_landing(awaiting_decision, audience="staff", order=10)
register_landing(overdue, audience="staff", order=20)
register_landing(your_reviews, audience="owner", order=20)

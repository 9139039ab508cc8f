"""Semi-annual reviews: one per technique per half-year, drafted by owners, decided by TFMOT."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from techniques.models import Technique

MAX_TEXT = 20_000
# The owners' proposal of a TOS change in a review ("" for none).
PROPOSAL_TOS = [
    ("", "No change"),
    ("production", "Move to production TOS"),
    ("research", "Move to research TOS"),
]


class ReviewCycle(models.Model):
    """H1 is due 30 June, H2 31 December; a late review does not shift the cycle."""

    year = models.PositiveIntegerField()
    half = models.PositiveSmallIntegerField(choices=[(1, "H1"), (2, "H2")])
    due_date = models.DateField()

    class Meta:
        ordering = ["-year", "-half"]
        constraints = [models.UniqueConstraint(fields=["year", "half"], name="one_cycle_per_half")]

    def __str__(self) -> str:
        return f"{self.year} H{self.half}"

    @staticmethod
    def bounds(year: int, half: int) -> tuple[date, date]:
        return (
            (date(year, 1, 1), date(year, 6, 30))
            if half == 1
            else (date(year, 7, 1), date(year, 12, 31))
        )

    @property
    def starts_on(self) -> date:
        return self.bounds(self.year, self.half)[0]

    @classmethod
    def for_day(cls, day: date) -> tuple[int, int]:
        return day.year, 1 if day.month <= 6 else 2


class Review(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted"
        ACCEPTED = "accepted"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    class Rating(models.TextChoices):
        MET = "met"
        PARTLY = "partly", "Partly met"
        NOT_MET = "not_met", "Not met"

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="reviews")
    technique = models.ForeignKey(Technique, on_delete=models.CASCADE, related_name="reviews")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    benefits_usage = models.TextField(blank=True, max_length=MAX_TEXT)
    major_updates = models.TextField(blank=True, max_length=MAX_TEXT)
    # {duty_id: {"rating": "met"|"partly"|"not_met", "note": "..."}}
    self_assessment = models.JSONField(default=dict, blank=True)
    proposal_tos = models.CharField(
        max_length=12,
        blank=True,
        choices=PROPOSAL_TOS,
    )
    proposal_maintainers = models.TextField(
        blank=True, max_length=MAX_TEXT, help_text="Maintainers to add or retire."
    )
    proposal_deprecate = models.BooleanField(default=False)
    proposal_notes = models.TextField(blank=True, max_length=MAX_TEXT)
    evidence = models.JSONField(default=dict, blank=True, help_text="Frozen at submission.")
    reviewer_comments = models.JSONField(default=dict, blank=True)  # {section: comment}
    shepherd = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shepherded_reviews",
    )
    version = models.PositiveIntegerField(default=1)  # optimistic locking
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-cycle__year", "-cycle__half", "technique__name"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "technique"], name="one_review_per_cycle")
        ]

    def __str__(self) -> str:
        return f"{self.technique} — {self.cycle}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:detail", args=[self.pk])

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.CHANGES_REQUESTED)

    def days_overdue(self, today: date | None = None) -> int:
        today = today or timezone.localdate()
        if self.status == self.Status.ACCEPTED or today <= self.cycle.due_date:
            return 0
        return (today - self.cycle.due_date).days


# How good a rating is: a rating above the portal's finding is the owners' to explain.
RATING_RANK: dict[str, int] = {
    Review.Rating.NOT_MET: 0,
    Review.Rating.PARTLY: 1,
    Review.Rating.MET: 2,
}


def rates_better(rating: str, finding: str) -> bool:
    """The owners' ``rating`` is better than the portal's ``finding`` (both ratings)."""
    return (
        rating in RATING_RANK
        and finding in RATING_RANK
        and RATING_RANK[rating] > RATING_RANK[finding]
    )


class ReviewTransition(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class ReminderSent(models.Model):
    """One row per reminder event: a reminder is never sent twice."""

    page_data = False  # bookkeeping: no page shows it

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=40)  # due-soon | due-today | overdue-2026-W02 | submitted-1
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "kind"], name="reminder_once")]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.kind}"

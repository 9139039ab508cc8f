"""Demo reviews: the current and previous cycles with every status."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from reviews.models import Review, ReviewTransition
from reviews.services import cycle_for, cycles_ensure, evidence_collect
from techniques.duties import duties_for

TEXT = {
    "pruning": (
        "Pruning remains the most used TFMOT technique: ResNet50 at 50% sparsity keeps "
        "**76.61%** top-1 on ImageNet (dense 76.704%), per the Model Garden pruning project.",
        "- Structural (2:4) sparsity documented\n- PruneForLatencyOnXNNPack policy",
    ),
    "qat": (
        "QAT int8 MobileNetV2 reaches 72.792% top-1 (float 72.782%).",
        "- Collaborative optimization schemes moved to `collab_opts`",
    ),
}


def _assessment(technique, rating="met"):
    return {
        d.id: {"rating": rating, "note": "" if rating == "met" else "Working on it."}
        for d in duties_for(technique)
    }


def _fill(review, shepherd, cycle, status, by, decided_by=None, comments=None) -> None:
    """Bring a demo review, still without transitions, to ``status``."""
    if review is None or review.transitions.exists():
        return
    benefits, updates = TEXT.get(
        review.technique.slug, (f"{review.technique.name} is used by the community.", "")
    )
    review.benefits_usage, review.major_updates = benefits, updates
    # A draft's self-assessment starts empty: the form pre-fills it from the
    # portal's results. Submitted reviews carry the owners' ratings.
    review.self_assessment = {} if status == Review.Status.DRAFT else _assessment(review.technique)
    review.shepherd = shepherd
    if status != Review.Status.DRAFT:
        review.evidence = evidence_collect(review.technique, cycle)
        review.submitted_by, review.submitted_at = by, timezone.now() - timedelta(days=3)
        ReviewTransition.objects.create(
            review=review,
            from_status=Review.Status.DRAFT,
            to_status=Review.Status.SUBMITTED,
            by=by,
        )
    if status in (Review.Status.ACCEPTED, Review.Status.CHANGES_REQUESTED):
        review.decided_by, review.decided_at = decided_by, timezone.now() - timedelta(days=1)
        review.reviewer_comments = comments or {}
        ReviewTransition.objects.create(
            review=review, from_status=Review.Status.SUBMITTED, to_status=status, by=decided_by
        )
    review.status = status
    review.save()


@transaction.atomic
def load(stdout=None) -> dict:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["alice", "bob", "carol", "frank"])
    }
    today = timezone.localdate()
    current = cycles_ensure(today)
    previous = cycle_for(current.starts_on - timedelta(days=1))
    Review.objects.bulk_create(
        [
            Review(cycle=previous, technique=r.technique)
            for r in current.reviews.select_related("technique")
        ],
        ignore_conflicts=True,
    )
    reviews = {
        (r.cycle_id, r.technique.slug): r
        for r in Review.objects.select_related("technique", "cycle")
    }
    carol, alice, bob = users.get("carol"), users.get("alice"), users.get("bob")

    def fill(cycle, slug, status, by, decided_by=None, comments=None):
        review = reviews.get((cycle.pk, slug))
        _fill(review, carol, cycle, status, by, decided_by, comments)

    fill(previous, "pruning", Review.Status.ACCEPTED, alice, carol)
    fill(previous, "weight-clustering", Review.Status.ACCEPTED, bob, carol)
    for slug in ("qat", "pqat", "cqat", "pcqat", "sparsity-preserving-clustering"):
        fill(previous, slug, Review.Status.ACCEPTED, bob if slug != "qat" else alice, carol)
    fill(previous, "qat-n-bit-experimental", Review.Status.ACCEPTED, alice, carol)
    fill(current, "qat", Review.Status.SUBMITTED, alice)
    fill(current, "pruning", Review.Status.DRAFT, alice)
    fill(
        current,
        "weight-clustering",
        Review.Status.CHANGES_REQUESTED,
        bob,
        carol,
        {"benefits_usage": "Add usage figures (downloads, issues) for the period."},
    )
    counts = {"cycles": 2, "reviews": Review.objects.count(), "due": str(current.due_date)}
    if stdout:
        stdout.write(f"reviews: {counts}")
    return counts

"""Reads for the review pages: the queue of what needs the viewer's action, and each
duty's evidence from the portal's own results (the suggested self-assessment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, DateField, F, Q, Value, When
from django.utils import timezone

from adherence import engine
from adherence.models import Gap, RuleResult
from adherence.selectors import Shown, shown
from reviews.models import Review, rates_better
from techniques.duties import Duty, duties_for
from techniques.models import Technique

PENDING = (Review.Status.DRAFT, Review.Status.CHANGES_REQUESTED)
# The owners' answers and the frozen evidence: read on a review's own pages, never in lists.
ANSWERS = (
    "benefits_usage",
    "major_updates",
    "self_assessment",
    "proposal_maintainers",
    "proposal_notes",
    "evidence",
    "reviewer_comments",
)
# The queue's views: (key, label); "action" is what needs the viewer's action.
VIEWS = {
    "action": "Needs your action",
    "overdue": "Overdue",
    "decide": "Awaiting a decision",
    "mine": "Your techniques",
    "cycle": "By cycle",
}


@dataclass
class RuleLine:
    rule_id: str
    title: str
    status: Shown
    summary: str
    links: list = field(default_factory=list)
    gap_url: str = ""


@dataclass
class DutyEvidence:
    """What the portal knows of one duty, and the rating it suggests ("" = none)."""

    rules: list[RuleLine]
    suggestion: str = ""

    @property
    def not_applicable(self) -> bool:
        """Every rule behind the duty finds it N/A (stage, TOS level, opt-in): the owners
        have nothing to rate. A duty no rule checks is theirs to assess, never N/A."""
        return bool(self.rules) and all(r.status == Shown.NA for r in self.rules)

    @property
    def reason(self) -> str:
        failing = [r.title for r in self.rules if r.status == Shown.FAIL]
        if failing:
            return "The portal finds: " + "; ".join(failing) + " not met."
        if any(r.status == Shown.WAIVED for r in self.rules):
            return "A gap is waived by the TFMOT team."
        if self.suggestion == Review.Rating.MET:
            return "Every check the portal runs for this duty passes."
        return ""


def _suggest(statuses: list[Shown]) -> str:
    checked = [s for s in statuses if s in (Shown.PASS, Shown.FAIL, Shown.WAIVED)]
    if not checked:
        return ""
    if all(s == Shown.PASS for s in checked):
        return Review.Rating.MET
    if all(s == Shown.FAIL for s in checked):
        return Review.Rating.NOT_MET
    return Review.Rating.PARTLY


def duty_evidence(technique: Technique) -> dict[str, DutyEvidence]:
    """Per duty of the technique: its rules' latest results, gaps and a suggested
    rating (met when every check passes, not met when all fail, partly otherwise;
    nothing for duties no rule checks). Two queries."""
    results = {r.rule_id: r for r in RuleResult.objects.filter(technique=technique)}
    gaps = {g.rule_id: g for g in Gap.objects.unresolved().filter(technique=technique)}
    evidence = {}
    for duty in duties_for(technique):
        lines = []
        for rule_id in duty.rules:
            rule = engine.RULES.get(rule_id)
            result, gap = results.get(rule_id), gaps.get(rule_id)
            lines.append(
                RuleLine(
                    rule_id,
                    rule.title if rule else rule_id,
                    shown(result.status if result else None, gap),
                    result.summary if result else "Not evaluated yet.",
                    list(result.links) if result else [],
                    gap.get_absolute_url() if gap else "",
                )
            )
        evidence[duty.id] = DutyEvidence(lines, _suggest([line.status for line in lines]))
    return evidence


@dataclass
class Disagreement:
    """A duty the owners rate better than the portal finds it: their rating and note,
    the portal's finding and the rules behind it that do not pass, with their links."""

    duty: Duty
    rating: str
    finding: str
    note: str
    rules: list[RuleLine]


def disagreements(review: Review, evidence: dict[str, DutyEvidence]) -> list[Disagreement]:
    """The duties of the review the owners rate better than the portal's results find
    them (met where the portal finds not met, say), in the duties' order; ``evidence``
    is ``duty_evidence(review.technique)``."""
    found = []
    for duty in duties_for(review.technique):
        entry = review.self_assessment.get(duty.id) or {}
        duty_found = evidence.get(duty.id)
        if duty_found is None or not rates_better(entry.get("rating", ""), duty_found.suggestion):
            continue
        lines = [r for r in duty_found.rules if r.status in (Shown.FAIL, Shown.WAIVED)]
        found.append(
            Disagreement(
                duty, entry["rating"], duty_found.suggestion, str(entry.get("note", "")), lines
            )
        )
    return found


def queue_reviews(user, view: str, cycle=None, status: str = ""):
    """The reviews of one queue view, most overdue first; ``cycle`` for the cycle view."""
    today = timezone.localdate()
    reviews = Review.objects.select_related("technique__owner_group", "shepherd", "cycle").defer(
        *ANSWERS
    )
    owned = Technique.objects.owned_by(user).values("pk")
    if view == "action":
        # Owners: their drafts and returned reviews, due or overdue (cycles exist only
        # from the current one back). The team: submitted reviews and overdue ones.
        needs = Q(technique__in=owned, status__in=PENDING)
        if user.is_staff:
            needs |= Q(status=Review.Status.SUBMITTED)
            needs |= Q(status__in=PENDING, cycle__due_date__lt=today)
        reviews = reviews.filter(needs)
    elif view == "overdue":
        reviews = reviews.filter(status__in=PENDING, cycle__due_date__lt=today)
    elif view == "decide":
        reviews = reviews.filter(status=Review.Status.SUBMITTED)
    elif view == "mine":
        reviews = reviews.filter(technique__in=owned)
    else:
        reviews = reviews.filter(cycle=cycle)
    if status in Review.Status.values:
        reviews = reviews.filter(status=status)
    return reviews.order_by("cycle__due_date", "technique__name")


def queue_ordered(reviews, user, mine: set, overdue_only: bool = False, today=None):
    """The queue's order, in the database (so only a page of reviews is built): for the
    team, reviews awaiting its decision first; then the most overdue; then the viewer's
    own; then by technique. ``overdue_only`` keeps the overdue ones."""
    today = today or timezone.localdate()
    late = ~Q(status=Review.Status.ACCEPTED) & Q(cycle__due_date__lt=today)
    if overdue_only:
        reviews = reviews.filter(late)
    return reviews.annotate(
        awaiting_last=Case(When(status=Review.Status.SUBMITTED, then=Value(0)), default=Value(1))
        if user.is_staff
        else Value(1),
        late_since=Case(
            When(late, then=F("cycle__due_date")), default=Value(None, output_field=DateField())
        ),
        not_mine=Case(When(technique_id__in=mine, then=Value(0)), default=Value(1))
        if mine
        else Value(1),
    ).order_by(
        "awaiting_last",
        F("late_since").asc(nulls_last=True),
        "not_mine",
        "technique__name",
        "cycle__due_date",
        "pk",
    )

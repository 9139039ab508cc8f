"""Review workflows: cycles, drafts with optimistic locking, submission with frozen
evidence, decisions, reminders. Permissions are checked here, so pages and API agree."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from adherence import selectors as adherence_selectors
from adherence.services import evaluation_request
from ci_status import selectors as ci_selectors
from convergence import selectors as convergence_selectors
from reviews.markup import render_markdown  # noqa: F401 (the pages import it from here)
from reviews.models import (
    MAX_TEXT,
    ReminderSent,
    Review,
    ReviewCycle,
    ReviewTransition,
    rates_better,
)
from reviews.permissions import ASSIGN_SHEPHERD, DECIDE, EDIT, SUBMIT
from reviews.selectors import DutyEvidence, duty_evidence
from techniques.cache import bump_data_version
from techniques.duties import duties_for
from techniques.models import Stage, Technique, TOSLevel

REVIEWED_STAGES = (Stage.LAUNCHED, Stage.DEPRECATING, Stage.IN_DEVELOPMENT)
TEXT_FIELDS = ("benefits_usage", "major_updates", "proposal_maintainers", "proposal_notes")
SECTIONS = {
    "benefits_usage": "Benefits and usage",
    "major_updates": "Major updates",
    "self_assessment": "TOS adherence",
    "proposals": "Proposals",
}
DUE_SOON_DAYS = 14


# --- cycles -------------------------------------------------------------------------------


def cycle_for(day: date) -> ReviewCycle:
    year, half = ReviewCycle.for_day(day)
    cycle, _ = ReviewCycle.objects.get_or_create(
        year=year, half=half, defaults={"due_date": ReviewCycle.bounds(year, half)[1]}
    )
    return cycle


def cycles_ensure(today: date | None = None) -> ReviewCycle:
    """The current cycle with one review per technique in a reviewed stage (idempotent)."""
    cycle = cycle_for(today or timezone.localdate())
    techniques = Technique.objects.filter(stage__in=REVIEWED_STAGES).exclude(reviews__cycle=cycle)
    if Review.objects.bulk_create(
        [Review(cycle=cycle, technique=t) for t in techniques], ignore_conflicts=True
    ):
        bump_data_version(registry=False, app="reviews")  # a bulk insert sends no save signal
    return cycle


# --- evidence ----------------------------------------------------------------------------


def _no_data(what: str) -> dict:
    return {"available": False, "note": f"No data: {what}."}


def evidence_collect(technique: Technique, cycle: ReviewCycle, now: datetime | None = None) -> dict:
    """The figures the portal holds for the period; missing data says so, never zero."""
    now = now or timezone.now()
    start = datetime.combine(cycle.starts_on, datetime.min.time(), tzinfo=now.tzinfo)
    end = datetime.combine(
        cycle.due_date + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo
    )
    evidence: dict[str, Any] = {
        "collected_at": now.isoformat(),
        "period": f"{cycle.starts_on} to {cycle.due_date}",
    }

    if adherence_selectors.rules_have_run(technique):
        evidence["gaps"] = {
            "available": True,
            "open": [
                {
                    "rule": g.rule_id,
                    "opened": g.opened_at.date().isoformat(),
                    "since": g.since.date().isoformat() if g.since else None,
                    "state": g.state,
                    "summary": g.summary,
                }
                for g in adherence_selectors.unresolved_gaps(technique)
            ],
            "closed_in_period": adherence_selectors.gaps_resolved_since(technique, start),
        }
        ci = adherence_selectors.rule_result(technique, "ci-green")
        evidence["ci"] = (
            {"available": True, "status": ci.status, "summary": ci.summary}
            if ci
            else _no_data("CI not synced")
        )
    else:
        evidence["gaps"] = _no_data("the adherence rules have not run yet")
        evidence["ci"] = _no_data("the adherence rules have not run yet")

    evidence["community"] = _community(technique, now)
    evidence["convergence"] = _convergence(technique)
    evidence["releases"] = _releases(start, end)
    evidence["merged_prs"] = {"available": True, **ci_selectors.merged_prs(technique, start, end)}
    maintainers = technique.owner_group.maintainers.all() if technique.owner_group else []
    evidence["maintainers"] = (
        {
            "available": True,
            "people": [
                {
                    "login": m.github_login,
                    "status": m.status,
                    "last_activity": m.last_activity_at.date().isoformat()
                    if m.last_activity_at
                    else None,
                }
                for m in maintainers
            ],
        }
        if maintainers
        else _no_data("no maintainer listed")
    )
    return evidence


def _community(technique, now) -> dict:
    figures = ci_selectors.community_figures([technique], now).get(technique.pk)
    if figures is None or not getattr(figures, "synced", True):
        return _no_data("GitHub has not been synced yet")
    data: dict[str, Any] = {"available": True}
    for name in (
        "open_issues",
        "open_prs",
        "unanswered",
        "unanswered_overdue",
        "median_response_days",
        "p90_response_days",
        "prs_waiting",
    ):
        value = getattr(figures, name, None)
        if value is not None:
            data[name] = (
                len(value)
                if isinstance(value, list)
                else round(value, 1)
                if isinstance(value, float)
                else value
            )
    return data


def _convergence(technique) -> dict:
    tests = convergence_selectors.tests_with_targets(technique)
    if not tests:
        return _no_data("no convergence test registered")
    return {
        "available": True,
        "tests": [
            {
                "test": t.name,
                "state": t.state,
                "benefit_regressed": t.benefit_regressed,
                "targets": [
                    {
                        "metric": g.metric,
                        "comparator": g.get_comparator_display(),
                        "unit": g.unit,
                        "tolerance": g.tolerance,
                        "documented": g.documented_value,
                        "latest": g.latest_value,
                        "regressed": g.regressed,
                    }
                    for g in t.targets.all()
                ],
            }
            for t in tests
        ],
    }


def _releases(start, end) -> dict:
    releases = ci_selectors.releases_in_period(start, end)
    if releases is None:
        return _no_data("no release synced from GitHub")
    return {"available": True, "tags": [r["tag"] for r in releases], "listed": releases}


# --- drafts, submission, decisions -------------------------------------------------------


class Conflict(Exception):
    """Someone else saved the review since this version was loaded."""

    def __init__(self, theirs: Review, mine: dict):
        super().__init__("This review was changed by someone else since you opened it.")
        self.theirs, self.mine = theirs, mine


def _clean_draft(technique: Technique, data: dict) -> dict:
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in TEXT_FIELDS:
        value = str(data.get(field, "") or "")
        if len(value) > MAX_TEXT:
            errors[field] = f"Keep this under {MAX_TEXT} characters (it has {len(value)})."
        cleaned[field] = value
    tos = data.get("proposal_tos", "") or ""
    if tos and tos not in TOSLevel.values:
        errors["proposal_tos"] = "Choose production, research or no change."
    cleaned["proposal_tos"] = tos
    cleaned["proposal_deprecate"] = bool(data.get("proposal_deprecate"))
    assessment = {}
    allowed = {d.id for d in duties_for(technique)}
    for duty_id, entry in (data.get("self_assessment") or {}).items():
        if duty_id not in allowed or not isinstance(entry, dict):
            continue
        rating = entry.get("rating", "")
        if rating and rating not in Review.Rating.values:
            errors[f"assessment-{duty_id}"] = "Choose met, partly met or not met."
        note = str(entry.get("note", ""))[:MAX_TEXT]
        assessment[duty_id] = {"rating": rating, "note": note}
    cleaned["self_assessment"] = assessment
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def review_save_draft(review: Review, user, data: dict, version: int) -> Review:
    """Save the owner's draft if nobody saved since ``version`` (optimistic locking)."""
    EDIT.check(user, review)
    cleaned = _clean_draft(review.technique, data)
    updated = Review.objects.filter(pk=review.pk, version=version).update(
        **cleaned, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(Review.objects.get(pk=review.pk), cleaned)
    review.refresh_from_db()
    return review


def _transition(review: Review, to: str, user, note: str = "") -> None:
    ReviewTransition.objects.create(
        review=review, from_status=review.status, to_status=to, by=user, note=note
    )
    review.status = to


def override_problems(duties, assessment: dict, suggestions: dict[str, str]) -> dict:
    """Duties rated better than the portal's results suggest, without a note saying why."""
    problems = {}
    for duty in duties:
        entry = assessment.get(duty.id) or {}
        rating, suggested = entry.get("rating", ""), suggestions.get(duty.id, "")
        if rates_better(rating, suggested) and not str(entry.get("note", "")).strip():
            problems[f"assessment-{duty.id}"] = (
                f"The portal finds '{duty.title}' {Review.Rating(suggested).label.lower()}: "
                f"say in the note why you rate it {Review.Rating(rating).label.lower()}."
            )
    return problems


def rated_duties(technique: Technique, evidence: dict[str, DutyEvidence]) -> list:
    """The duties the owners rate: the technique's, less those the portal finds N/A."""
    return [
        duty
        for duty in duties_for(technique)
        if not (duty.id in evidence and evidence[duty.id].not_applicable)
    ]


def draft_problems(technique: Technique, draft: dict, evidence: dict[str, DutyEvidence]) -> dict:
    """What keeps a draft ({benefits_usage, self_assessment}) from being submitted, one
    entry per part to complete: the one list the form counts, the preview lists and
    submission refuses. ``evidence`` is ``duty_evidence(technique)``: a rating better
    than the portal's results needs a note, and a duty it finds N/A needs no rating."""
    duties = rated_duties(technique, evidence)
    assessment = draft.get("self_assessment") or {}
    suggestions = {key: e.suggestion for key, e in evidence.items()}
    problems = override_problems(duties, assessment, suggestions)
    if not str(draft.get("benefits_usage") or "").strip():
        problems["benefits_usage"] = "Describe the benefits and usage."
    for duty in duties:
        entry = assessment.get(duty.id) or {}
        if f"assessment-{duty.id}" in problems:
            continue
        if entry.get("rating") not in Review.Rating.values:
            problems[f"assessment-{duty.id}"] = f"Assess '{duty.title}'."
        elif entry["rating"] != Review.Rating.MET and not str(entry.get("note", "")).strip():
            problems[f"assessment-{duty.id}"] = f"Say why '{duty.title}' is not fully met."
    return problems


def submission_problems(review: Review, evidence: dict[str, DutyEvidence] | None = None) -> dict:
    """What keeps the stored review from being submitted (``draft_problems``);
    ``evidence`` defaults to the portal's current results for its technique."""
    if evidence is None:
        evidence = duty_evidence(review.technique)
    draft = {"benefits_usage": review.benefits_usage, "self_assessment": review.self_assessment}
    return draft_problems(review.technique, draft, evidence)


@transaction.atomic
def review_submit(review: Review, user, now: datetime | None = None) -> Review:
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("technique__owner_group", "cycle")
        .get(pk=review.pk)
    )
    SUBMIT.check(user, review)
    problems = submission_problems(review)
    if problems:
        raise ValidationError(problems)
    now = now or timezone.now()
    review.evidence = evidence_collect(review.technique, review.cycle, now)
    review.submitted_at, review.submitted_by = now, user
    _transition(review, Review.Status.SUBMITTED, user)
    review.version += 1
    review.save()
    count = review.transitions.filter(to_status=Review.Status.SUBMITTED).count()
    transaction.on_commit(lambda: _notify_shepherd(review, count))
    return review


@transaction.atomic
def review_decide(
    review: Review, user, accept: bool, comments: dict[str, str] | None = None, now=None
) -> Review:
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("technique__owner_group")
        .get(pk=review.pk)
    )
    DECIDE.check(user, review)
    if review.status != Review.Status.SUBMITTED:
        raise ValidationError(
            f"Only a submitted review can be decided; this one is {review.get_status_display().lower()}."
        )
    comments = {
        k: v.strip()[:MAX_TEXT]
        for k, v in (comments or {}).items()
        if k in SECTIONS and v and v.strip()
    }
    if not accept and not comments:
        raise ValidationError(
            {"comments": "Say what should change (a comment on at least one section)."}
        )
    review.reviewer_comments = comments
    review.decided_at, review.decided_by = now or timezone.now(), user
    _transition(
        review,
        Review.Status.ACCEPTED if accept else Review.Status.CHANGES_REQUESTED,
        user,
        "; ".join(comments.values()),
    )
    review.version += 1
    review.save()
    # The semi-annual review rule reads the decision: the technique page shows both at once.
    evaluation_request([review.technique_id], at_once=True)
    return review


def review_assign_shepherd(review: Review, user, shepherd) -> Review:
    ASSIGN_SHEPHERD.check(user, review)
    if shepherd is not None and not shepherd.is_staff:
        raise ValidationError("A shepherd is a member of the TFMOT team.")
    review.shepherd = shepherd
    review.save(update_fields=["shepherd"])
    return review


# --- reminders ---------------------------------------------------------------------------


def _claim(review: Review, kind: str, recipients: list[str]) -> bool:
    try:
        with transaction.atomic():
            ReminderSent.objects.create(review=review, kind=kind, recipients=", ".join(recipients))
        return True
    except IntegrityError:
        return False


def reminders_send(today: date | None = None) -> int:
    """Owners: "due on ..." two weeks before, on the due date, weekly after. Once each."""
    today = today or timezone.localdate()
    sent = 0
    pending = (
        Review.objects.filter(status__in=[Review.Status.DRAFT, Review.Status.CHANGES_REQUESTED])
        .select_related("cycle", "technique__owner_group")
        .prefetch_related("technique__owner_group__maintainers")
    )
    for review in pending:
        due = review.cycle.due_date
        if due - timedelta(days=DUE_SOON_DAYS) <= today < due:
            kind, subject = "due-soon", f"due on {due:%d %B %Y}"
        elif today == due:
            kind, subject = "due-today", f"due today ({due:%d %B %Y})"
        elif today > due:
            year, week, _ = today.isocalendar()
            kind, subject = f"overdue-{year}-W{week:02d}", f"overdue since {due:%d %B %Y}"
        else:
            continue
        recipients = (
            review.technique.owner_group.contact_emails() if review.technique.owner_group else []
        )
        if recipients and _claim(review, kind, recipients):
            send_mail(
                f"[tfmot-portal] {review.cycle} review of {review.technique.name}: {subject}",
                f"The semi-annual review of {review.technique.name} for {review.cycle} is {subject}.\n"
                f"It takes about ten minutes; the evidence is pre-filled.\n",
                None,
                recipients,
                fail_silently=True,
            )
            sent += 1
    return sent


def _notify_shepherd(review: Review, count: int) -> None:
    if not review.shepherd or not review.shepherd.email:
        return
    if _claim(review, f"submitted-{count}", [review.shepherd.email]):
        send_mail(
            f"[tfmot-portal] Review submitted: {review.technique.name} ({review.cycle})",
            f"{review.submitted_by} submitted the {review.cycle} review of {review.technique.name}.\n",
            None,
            [review.shepherd.email],
            fail_silently=True,
        )


# --- history -------------------------------------------------------------------------------


@dataclass
class SectionDiff:
    title: str
    lines: list[tuple[str, str]]  # (kind: "same"|"add"|"del", text)


def review_diff(review: Review, previous: Review | None) -> list[SectionDiff]:
    diffs = []
    for field in ("benefits_usage", "major_updates", "proposal_notes"):
        old = (getattr(previous, field) if previous else "").splitlines()
        new = getattr(review, field).splitlines()
        lines = []
        for line in difflib.ndiff(old, new):
            code, text = line[:2], line[2:]
            if code == "? ":
                continue
            lines.append(({"  ": "same", "+ ": "add", "- ": "del"}[code], text))
        diffs.append(SectionDiff(SECTIONS.get(field, "Proposal notes"), lines))
    return diffs

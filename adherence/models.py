"""Latest rule results and gaps with their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from adherence.engine import Severity
from techniques.models import Maintainer, Technique, TOSLevel


class RuleResult(models.Model):
    """The latest result of one rule for one technique: pages read it, never evaluate."""

    technique_pages = "technique"  # only its technique's page

    technique = models.ForeignKey(Technique, on_delete=models.CASCADE, related_name="rule_results")
    rule_id = models.CharField(max_length=40)
    status = models.CharField(max_length=4)  # pass | fail | na
    summary = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    # When the violation began (failing results): derived from the evidence by the rule.
    since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["technique", "rule_id"], name="one_result_per_rule")
        ]

    def __str__(self) -> str:
        return f"{self.technique_id}/{self.rule_id}: {self.status}"


class GapQuerySet(models.QuerySet):
    def unresolved(self):
        return self.exclude(state=Gap.State.RESOLVED)

    def open(self):
        """Gaps that count against a technique (waived ones do not)."""
        return self.filter(state__in=[Gap.State.OPEN, Gap.State.ACKNOWLEDGED])

    def with_start(self):
        """``began``: when the violation began (``since``), else
        when the portal noticed it (``Gap.start``). Every count of gaps by date (the
        trend, "opened this week") dates them so, as their gap pages do."""
        return self.annotate(began=Coalesce("since", "opened_at"))

    def started_since(self, moment):
        """Gaps whose violation began at or after ``moment``."""
        return self.with_start().filter(began__gte=moment)

    def by_urgency(self):
        """What to act on first: the most severe first, then the oldest (``since``; a gap
        its rule could not date after the dated ones of its severity, by when it was noticed)."""
        rank = Case(
            *(When(severity=s.value, then=Value(i)) for i, s in enumerate(Severity)),
            default=Value(len(Severity)),
            output_field=IntegerField(),
        )
        return self.alias(severity_rank=rank).order_by(
            "severity_rank", F("since").asc(nulls_last=True), "opened_at", "pk"
        )

    def with_due(self):
        """Each gap with ``due``: the due date the team set on it (``Remediation``), else
        the earliest of the campaigns that target it (its rule, its technique's TOS),
        else None. One subquery: any number of gaps and campaigns."""
        campaigns = (
            Campaign.objects.filter(rule_id=OuterRef("rule_id"))
            .filter(Q(tos_level="") | Q(tos_level=OuterRef("technique__tos_level")))
            .order_by("due_on")
            .values("due_on")[:1]
        )
        return self.annotate(due=Coalesce(F("remediation__due_on"), Subquery(campaigns)))

    def overdue(self, today):
        """Unresolved, unwaived gaps whose due date (``with_due``) has passed."""
        return self.open().with_due().filter(due__lt=today)


class Gap(models.Model):
    """One record per (technique, rule) while the rule fails; reopening makes a new one."""

    technique_pages = "technique"  # only its technique's page

    class State(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        WAIVED = "waived"
        RESOLVED = "resolved"

    technique = models.ForeignKey(Technique, on_delete=models.CASCADE, related_name="gaps")
    rule_id = models.CharField(max_length=40)
    severity = models.CharField(max_length=10)
    state = models.CharField(max_length=14, choices=State.choices, default=State.OPEN)
    summary = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    # When the violation began (from the rule's evidence); opened_at is when the portal
    # noticed it. Acknowledging or waiving changes neither.
    since = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_note = models.TextField(blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)
    waiver_reason = models.TextField(blank=True)
    waived_until = models.DateField(null=True, blank=True)

    objects = GapQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["technique", "rule_id"],
                condition=~Q(state="resolved"),
                name="one_unresolved_gap_per_rule",
            )
        ]
        indexes = [
            models.Index(fields=["state", "opened_at"]),
            # The API's order: a page of the newest gaps without sorting them all.
            models.Index(fields=["-opened_at", "-id"], name="gap_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.technique} — {self.rule_id} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("adherence:gap", args=[self.pk])

    def days_open(self, now=None) -> int:
        """Days since the portal noticed the gap (``opened_at``)."""
        end = self.resolved_at or now or timezone.now()
        return (end - self.opened_at).days

    @property
    def start(self):
        """When the violation began (``since``), else when the portal noticed it."""
        return self.since or self.opened_at

    def days_failing(self, now=None) -> int | None:
        """Days since the violation began (``since``); None when the rule could not date it."""
        if self.since is None:
            return None
        end = self.resolved_at or now or timezone.now()
        return max((end - self.since).days, 0)

    @property
    def counts(self) -> bool:
        """Whether the gap counts against the technique (waived and resolved ones do not)."""
        return self.state in (self.State.OPEN, self.State.ACKNOWLEDGED)

    # State changes: each returns the event to record (the caller saves both). None of
    # them touches ``since``: acknowledging or waiving does not change when it began.

    def acknowledge(self, user, note: str, now) -> GapEvent:
        self.state, self.acknowledged_by, self.acknowledged_at, self.acknowledge_note = (
            self.State.ACKNOWLEDGED,
            user,
            now,
            note,
        )
        return GapEvent(gap=self, kind=GapEvent.Kind.ACKNOWLEDGED, at=now, by=user, note=note)

    def waive(self, user, reason: str, until, now) -> GapEvent:
        self.state, self.waived_by, self.waived_at, self.waiver_reason, self.waived_until = (
            self.State.WAIVED,
            user,
            now,
            reason,
            until,
        )
        return GapEvent(
            gap=self,
            kind=GapEvent.Kind.WAIVED,
            at=now,
            by=user,
            note=f"{reason} (until {until.isoformat()})",
        )

    def waiver_expired(self, now) -> bool:
        return self.state == self.State.WAIVED and bool(
            self.waived_until and self.waived_until < now.date()
        )

    def expire_waiver(self, now) -> GapEvent:
        """The waiver's end date has passed: the gap is open again."""
        self.state = self.State.OPEN
        return GapEvent(gap=self, kind=GapEvent.Kind.WAIVER_EXPIRED, at=now)

    def resolve(self, now, summary: str = "") -> GapEvent:
        self.state, self.resolved_at = self.State.RESOLVED, now
        return GapEvent(gap=self, kind=GapEvent.Kind.RESOLVED, at=now, summary=summary)

    def update_evidence(self, summary: str, evidence: dict, links: list, since, now):
        """Take the rule's latest evidence; an event when the summary or figures changed."""
        self.since = since
        if self.summary == summary and self.evidence == evidence:
            return None
        self.summary, self.evidence, self.links = summary, evidence, links
        return GapEvent(
            gap=self, kind=GapEvent.Kind.EVIDENCE, at=now, summary=summary, evidence=evidence
        )


class GapEvent(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened"
        EVIDENCE = "evidence", "Evidence changed"
        ACKNOWLEDGED = "acknowledged"
        WAIVED = "waived"
        WAIVER_EXPIRED = "waiver_expired", "Waiver expired"
        RESOLVED = "resolved"
        DUE_SET = "due_set", "Due date set"
        WAIVER_REQUESTED = "waiver_requested", "Waiver requested"
        WAIVER_REFUSED = "waiver_refused", "Waiver request rejected"

    gap = models.ForeignKey(Gap, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)  # internal: never shown to the public
    summary = models.CharField(max_length=500, blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.gap_id} {self.kind} at {self.at:%Y-%m-%d}"


class Notification(models.Model):
    """What was sent, so that nothing is sent twice (unique on the event key)."""

    page_data = False  # bookkeeping: no page shows it

    key = models.CharField(max_length=200, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True)
    webhook_status = models.CharField(max_length=60, blank=True)

    def __str__(self) -> str:
        return self.key


class Campaign(models.Model):
    """Remediation across techniques: every gap of one rule, present and future, on the
    techniques it targets (every TOS, or one), due by one date ("every production
    technique has a training-speed test by 2027-03-31")."""

    title = models.CharField(max_length=200)
    rule_id = models.CharField(max_length=40)
    tos_level = models.CharField(
        max_length=12, choices=TOSLevel.choices, blank=True, help_text="Blank: every TOS."
    )
    due_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["rule_id", "due_on"])]

    def __str__(self) -> str:
        return f"{self.title} (due {self.due_on:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return reverse("adherence:campaign", args=[self.pk])

    def targets(self, technique) -> bool:
        return not self.tos_level or technique.tos_level == self.tos_level

    def gaps(self):
        """Its items: the gaps of its rule on the techniques it targets that were still
        unresolved when it started or opened since (resolved ones are its done items)."""
        gaps = Gap.objects.filter(rule_id=self.rule_id).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=self.created_at)
        )
        return gaps.filter(technique__tos_level=self.tos_level) if self.tos_level else gaps


class Remediation(models.Model):
    """A due date and an assignee (a maintainer of the owning group) the team set on one
    gap; it wins over a campaign's date. A gap that reopens is a new gap, without one."""

    gap = models.OneToOneField(Gap, on_delete=models.CASCADE, related_name="remediation")
    due_on = models.DateField()
    assignee = models.ForeignKey(
        Maintainer, null=True, blank=True, on_delete=models.SET_NULL, related_name="remediations"
    )
    note = models.CharField(max_length=500, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.gap} due {self.due_on:%Y-%m-%d}"


class WaiverRequest(models.Model):
    """An owner asks the team to waive a gap until a date; staff approve (the gap is
    waived with the request's reason and date) or reject with a comment."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    gap = models.ForeignKey(Gap, on_delete=models.CASCADE, related_name="waiver_requests")
    reason = models.TextField()
    until = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["gap"], condition=Q(status="pending"), name="one_pending_waiver_request"
            )
        ]

    def __str__(self) -> str:
        return f"Waiver of {self.gap} until {self.until:%Y-%m-%d} ({self.status})"


class EvaluationRequest(models.Model):
    """A technique waiting for its rules to be evaluated again (no technique: every
    technique), written in the transaction of the change that asks for it and deleted
    by the evaluation that takes it (``adherence.services.evaluation_request``)."""

    page_data = False  # bookkeeping: no page shows it

    # Not a foreign key: a request never blocks a technique's deletion, and an id that is
    # gone is evaluated as nothing.
    technique_id = models.IntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Evaluate {self.technique_id or 'every technique'}"

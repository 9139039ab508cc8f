"""Technique lifecycle: the contribution process, deprecation, TOS changes, GitHub ownership.

Policy: contributing-technique.md (the contribution steps) and the Development section of
the ownership RFC (introduction, maintenance, deprecation).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from techniques.models import Technique, TOSLevel

# (id, title, required): the contribution process, in its recommended order.
STEPS = [
    ("proposal_rfc", "Proposal RFC with deployment metrics (not only accuracy)", True),
    ("sponsor", "Sponsor matched", True),
    ("design_rfc", "Design RFC (link to its PR)", True),
    ("prototype", "Prototype in a fork of TFMOT", True),
    ("upstreamed", "Code upstreamed into TFMOT", True),
    (
        "convergence_test",
        "Convergence test and example (Official Models or fork, as the Official Models team decides)",
        True,
    ),
    ("overview_page", "Overview page", True),
    ("colab", "Colab example of the most critical path", True),
    ("guide", "Comprehensive guide", True),
    ("api_docs", "API docs", True),
    ("release", "Packaging and release", True),
    ("blog_post", "Collaborative blog post (optional)", False),
]
STEP_TITLES = {key: title for key, title, _ in STEPS}
REQUIRED_STEPS = [key for key, _, required in STEPS if required]


class ContributionStep(models.Model):
    class State(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    technique = models.ForeignKey(
        Technique, on_delete=models.CASCADE, related_name="contribution_steps"
    )
    step = models.CharField(max_length=30, choices=[(k, t) for k, t, _ in STEPS])
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    link = models.URLField(max_length=500, blank=True)
    done_on = models.DateField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["technique", "step"], name="one_step_per_technique")
        ]

    def __str__(self) -> str:
        return f"{self.technique.slug}: {self.step} ({self.state})"

    @property
    def order(self) -> int:
        return [k for k, _, _ in STEPS].index(self.step)

    @property
    def required(self) -> bool:
        return self.step in REQUIRED_STEPS

    @property
    def is_closed(self) -> bool:
        return self.state in (self.State.DONE, self.State.NOT_APPLICABLE)


class Deprecation(models.Model):
    class Reason(models.TextChoices):
        LACK_OF_PEOPLE = "lack_of_people", "Lack of people to maintain it"
        SUPERSEDED = "superseded", "Superseded by another technique"
        OTHER = "other"

    technique = models.OneToOneField(
        Technique, on_delete=models.CASCADE, related_name="deprecation"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    explanation = models.TextField(blank=True, max_length=5000)
    planned_on = models.DateField()
    replacement = models.ForeignKey(
        Technique, null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    call_for_owners = models.BooleanField(
        default=False, help_text="Replacement owners sought publicly."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Deprecation of {self.technique}"


class OwnerInterest(models.Model):
    """ "I can help": a community member offers to own a technique being deprecated."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting moderation"
        APPROVED = "approved", "Listed"
        REJECTED = "rejected", "Not listed"

    deprecation = models.ForeignKey(Deprecation, on_delete=models.CASCADE, related_name="interests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deprecation", "user"], name="one_offer_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.deprecation.technique}"


class TOSChangeRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    technique = models.ForeignKey(Technique, on_delete=models.CASCADE, related_name="tos_requests")
    to_level = models.CharField(max_length=12, choices=TOSLevel.choices)
    justification = models.TextField(max_length=5000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.technique}: to {self.to_level} ({self.status})"


class OwnershipCheck(models.Model):
    """What GitHub says of a technique's owners: triage access and CODEOWNERS lines."""

    technique = models.OneToOneField(
        Technique, on_delete=models.CASCADE, related_name="ownership_check"
    )
    checked_at = models.DateTimeField()
    permissions = models.JSONField(default=dict)  # {login: "triage" | "read" | None}
    missing_in_codeowners = models.JSONField(default=list)  # [{"pattern", "owners"}]
    extra_in_codeowners = models.JSONField(default=list)  # [{"pattern", "owners"}]
    # Whether the repository has a CODEOWNERS file at all (tensorflow/model-optimization
    # has none: its paths are attributed by labels, through .github/labeler.yml).
    has_codeowners = models.BooleanField(default=True)
    error = models.CharField(max_length=500, blank=True)
    # When a check first found what the current one finds (kept while it persists, cleared
    # when it is gone): neither GitHub nor the registry says when access or CODEOWNERS
    # went wrong, so the first check that saw it is the earliest date the portal can show.
    triage_lacking_since = models.DateTimeField(null=True, blank=True)
    codeowners_drift_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.technique} checked {self.checked_at:%Y-%m-%d}"

    # Repository permissions that let a maintainer triage ("Triage access" or more).
    TRIAGE_OR_MORE = frozenset({"triage", "write", "maintain", "admin"})

    @property
    def lacking_triage(self) -> list[str]:
        """The logins whose permission is below triage (None: not a collaborator)."""
        return sorted(
            login
            for login, permission in self.permissions.items()
            if permission not in self.TRIAGE_OR_MORE
        )

    @property
    def drifts(self) -> bool:
        """CODEOWNERS misses the technique's paths or owners, or lists others."""
        return bool(self.missing_in_codeowners or self.extra_in_codeowners)

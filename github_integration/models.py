"""State of the GitHub integration: team syncs, bootstrap proposals, gap issues."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from adherence.models import Gap
from ci_status.models import Issue
from techniques.models import OwnerGroup


class TeamSync(models.Model):
    """The last sync of an owner group's GitHub team (its ETag makes a re-sync a 304)."""

    group = models.OneToOneField(OwnerGroup, on_delete=models.CASCADE, related_name="team_sync")
    team = models.CharField(max_length=100)
    etag = models.CharField(max_length=200, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    members = models.JSONField(default=list, blank=True)  # logins, as GitHub listed them
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.group} ← {self.team}"


class BootstrapProposal(models.Model):
    """Something ``manage.py bootstrap_repository`` proposes; staff confirm or reject it.

    ``kind`` is "group" (an owner group from a CODEOWNERS team or owner set) or
    "technique" (from a ``technique:*`` label); ``key`` identifies it within the
    repository, so running the command again updates only pending proposals.
    """

    class Kind(models.TextChoices):
        GROUP = "group", "Owner group"
        TECHNIQUE = "technique"

    class State(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        REJECTED = "rejected"

    repository = models.CharField(max_length=140)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_slug = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["repository", "kind", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "kind", "key"], name="one_proposal_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}: {self.kind} {self.key} ({self.state})"


class GapIssue(models.Model):
    """The GitHub issue of a gap. The row is written *before* the issue is created
    (``number`` empty), so a worker that dies in between leaves a trace: the next run
    looks for the issue by the marker in its body instead of creating a second one."""

    gap = models.OneToOneField(Gap, on_delete=models.CASCADE, related_name="github_issue")
    repository = models.CharField(max_length=140)
    marker = models.CharField(max_length=80, unique=True)
    # The random part of the marker: an issue is found again only by the portal's own
    # account and this secret, which no page shows (docs/security.md, "Gap issues").
    secret = models.CharField(max_length=32, blank=True)
    number = models.PositiveIntegerField(null=True, blank=True)
    url = models.URLField(blank=True)
    state = models.CharField(max_length=10, choices=Issue.State.choices, default=Issue.State.OPEN)
    body_hash = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"gap {self.gap_id} → {self.repository}#{self.number or '?'}"

"""What the outside world says: GitHub issues, PRs, comments, labels, releases, CI runs,
and what each sync did. Rows are upserted on natural keys, so a re-run never duplicates
and a sync that dies half-way keeps every page it wrote."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.timesince import timesince


class RepositoryQuerySet(models.QuerySet):
    def primary(self):
        """The repository the techniques live in (settings.GITHUB_REPOSITORY)."""
        return self.filter(full_name__iexact=settings.GITHUB_REPOSITORY)


class Repository(models.Model):
    technique_pages = False  # no technique's own page reads it (the figures do)
    full_name = models.CharField(max_length=140, unique=True, help_text="owner/name")
    default_branch = models.CharField(max_length=100, default="master")
    html_url = models.URLField(blank=True)
    api_url = models.URLField(blank=True, help_text="The API base the last sync used.")
    # Where the synced rows come from: the API base and the token's identity. Sync
    # positions and ETags are only valid for that source (see services.source_switch).
    source = models.CharField(max_length=300, blank=True)
    # The registry as the stored community figures last saw it (community.Registry).
    community_fingerprint = models.CharField(max_length=64, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The DB-row sync lock (used when the broker is not Redis): who holds it, until when.
    lock_owner = models.CharField(max_length=100, blank=True)
    lock_until = models.DateTimeField(null=True, blank=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]


class SyncCursor(models.Model):
    """Where the last sync of one resource stopped: ETag of its first page, ``since``."""

    page_data = False  # bookkeeping of the sync: no page shows it

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="cursors")
    resource = models.CharField(max_length=40)
    url = models.CharField(max_length=500, blank=True, help_text="First page's URL")
    etag = models.CharField(max_length=200, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=40, blank=True)
    requests = models.PositiveIntegerField(default=0, help_text="Requests spent, in total")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "resource"], name="unique_cursor")
        ]
        ordering = ["repository", "resource"]

    def __str__(self) -> str:
        return f"{self.repository} {self.resource}"


class Label(models.Model):
    technique_pages = False  # no technique's own page reads it (the figures do)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=10, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="unique_label")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Issue(models.Model):
    """An issue or a pull request (GitHub numbers them in one sequence)."""

    technique_pages = False  # no technique's own page reads it (the figures do)

    class Kind(models.TextChoices):
        ISSUE = "issue"
        PR = "pr", "Pull request"

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField()
    github_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    title = models.CharField(max_length=500)
    body_excerpt = models.TextField(blank=True, help_text="First 2,000 characters")
    state = models.CharField(max_length=10, choices=State.choices)
    labels = models.JSONField(default=list, blank=True)
    author = models.CharField(max_length=60, blank=True)
    author_is_bot = models.BooleanField(default=False)
    author_association = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    draft = models.BooleanField(default=False)
    html_url = models.URLField(max_length=300, blank=True)
    # Filled from comments and reviews by ci_status.community (bots and the author
    # excluded): the first response by anyone (CHAOSS), and by a maintainer of the
    # techniques the item belongs to.
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_by = models.CharField(max_length=60, blank=True)
    first_maintainer_response_at = models.DateTimeField(null=True, blank=True)
    first_maintainer_response_by = models.CharField(max_length=60, blank=True)
    maintainer_reviewed = models.BooleanField(default=False)
    from_maintainer = models.BooleanField(
        default=False, help_text="Opened by a maintainer of its techniques: needs no answer"
    )
    review_given = models.BooleanField(default=False)
    approved_by = models.JSONField(default=list, blank=True)
    files = models.JSONField(null=True, blank=True, help_text="Paths a PR touches (synced)")
    # The issue's updated_at when its reviews and files were last fetched.
    details_synced_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="unique_issue_number")
        ]
        indexes = [
            models.Index(fields=["repository", "state", "kind"]),
            models.Index(fields=["repository", "updated_at"]),
            models.Index(fields=["repository", "merged_at"]),
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class Comment(models.Model):
    """A comment or a review on an issue/PR: what "first response" is computed from."""

    technique_pages = False  # no technique's own page reads it (the figures do)

    class Kind(models.TextChoices):
        COMMENT = "comment"
        REVIEW = "review"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="comments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    github_id = models.BigIntegerField()
    issue_number = models.PositiveIntegerField()
    author = models.CharField(max_length=60, blank=True)
    author_is_bot = models.BooleanField(default=False)
    author_association = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=30, blank=True, help_text="Reviews: APPROVED, ...")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    html_url = models.URLField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "kind", "github_id"], name="unique_comment"
            )
        ]
        indexes = [models.Index(fields=["repository", "issue_number", "created_at"])]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} by {self.author} on #{self.issue_number}"


class Tombstone(models.Model):
    """An issue or comment deleted on GitHub (or an issue transferred away): its row goes,
    so every page and figure stays as it was, and its tombstone stays, so that an event
    about it from before the deletion (a late "opened" or "created", or the same signed
    body again under another delivery id) is refused instead of bringing it back. GitHub never reuses an
    issue number or a comment id, so nothing new is ever refused."""

    class Kind(models.TextChoices):
        ISSUE = "issue"  # an issue or PR, by number
        COMMENT = "comment"  # an issue comment, by its GitHub id

    page_data = False  # no page shows it; the deletion itself bumps the data version

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tombstones")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.BigIntegerField(help_text="The issue's number or the comment's GitHub id.")
    deleted_at = models.DateTimeField(
        help_text="When the portal learnt of the deletion (or the object's last update, if later)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "kind", "key"], name="unique_tombstone")
        ]

    def __str__(self) -> str:
        return f"deleted {self.kind} {self.key}"


class ItemTechnique(models.Model):
    """An issue or PR and a technique it belongs to (``via`` label or paths), or that it
    may belong to (``via`` mention: an unlabeled item naming the technique)."""

    technique_pages = False  # no technique's own page reads it (the figures do)

    class Via(models.TextChoices):
        LABEL = "label"
        PATHS = "paths"
        MENTION = "mention"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="technique_links")
    technique = models.ForeignKey(
        "techniques.Technique", on_delete=models.CASCADE, related_name="github_items"
    )
    via = models.CharField(max_length=8, choices=Via.choices)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "technique"], name="unique_item_technique")
        ]
        indexes = [models.Index(fields=["technique", "via"])]

    def __str__(self) -> str:
        return f"{self.issue_id} -> {self.technique_id} ({self.via})"


class CommunityFigures(models.Model):
    """A technique's community figures, recomputed when its items change.

    Waiting items are stored whole (open items only: a few dozen); whether one is
    overdue depends on the clock, so readers derive it (``selectors.community_figures``).
    """

    technique_pages = "technique"  # only its technique's page

    technique = models.OneToOneField(
        "techniques.Technique", on_delete=models.CASCADE, related_name="community"
    )
    computed_at = models.DateTimeField()
    open_issues = models.PositiveIntegerField(default=0)
    open_prs = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    median_response_hours = models.FloatField(null=True, blank=True)
    p90_response_hours = models.FloatField(null=True, blank=True)
    maintainer_responded = models.PositiveIntegerField(default=0)
    median_maintainer_response_hours = models.FloatField(null=True, blank=True)
    p90_maintainer_response_hours = models.FloatField(null=True, blank=True)
    unanswered = models.JSONField(default=list, blank=True)
    prs_waiting = models.JSONField(default=list, blank=True)
    unlabeled = models.JSONField(default=list, blank=True)
    excluded_by_tos = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "community figures"

    def __str__(self) -> str:
        return f"community figures of {self.technique_id}"


class Release(models.Model):
    technique_pages = False  # no technique's own page reads it (the figures do)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="releases")
    github_id = models.BigIntegerField(null=True, blank=True)
    tag = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    prerelease = models.BooleanField(default=False)
    draft = models.BooleanField(default=False)
    target_commitish = models.CharField(max_length=100, blank=True)
    html_url = models.URLField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "tag"], name="unique_release_tag")
        ]
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.tag

    @property
    def commit_sha(self) -> str:
        """The commit the release was built from ("" when it targets a branch): only a
        commit can be checked for readiness."""
        target = self.target_commitish.lower()
        hexdigits = set("0123456789abcdef")
        return target if 7 <= len(target) <= 40 and set(target) <= hexdigits else ""


class CIRun(models.Model):
    """One attempt of a CI run (GitHub Actions workflow run, or another provider's)."""

    technique_pages = False  # no technique's own page reads it (the figures do)

    class Status(models.TextChoices):
        """The statuses the portal tells apart; GitHub has more (queued, waiting, ...),
        stored as they come. Only a completed run has a conclusion."""

        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed"

    # The conclusions of a completed run that count as a failure of the workflow (the
    # ci-green rule's red streak).
    FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
    # The conclusions that say nothing of the code (the rule passes over such runs).
    SILENT_CONCLUSIONS = frozenset({"cancelled", "skipped", "neutral"})

    repository = models.ForeignKey(
        Repository, null=True, blank=True, on_delete=models.CASCADE, related_name="ci_runs"
    )
    provider = models.CharField(max_length=30, default="github-actions")
    run_id = models.BigIntegerField()
    attempt = models.PositiveIntegerField(default=1)
    workflow = models.CharField(max_length=200)
    workflow_path = models.CharField(max_length=300, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    event = models.CharField(max_length=40, blank=True)
    head_sha = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20)  # a Status, or another of GitHub's
    conclusion = models.CharField(max_length=20, blank=True)  # success | failure | ...
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    html_url = models.URLField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "run_id", "attempt"], name="unique_ci_run_attempt"
            )
        ]
        indexes = [models.Index(fields=["repository", "branch", "created_at"])]
        ordering = ["-created_at", "-run_id"]
        verbose_name = "CI run"

    def __str__(self) -> str:
        return f"{self.workflow} #{self.run_id}.{self.attempt} {self.conclusion or self.status}"


# The page-cache counter of the syncs' records (SyncRun), apart from the items'.
SYNCS = "ci_status.sync"


class SyncRun(models.Model):
    """What one sync did, for the sync status page."""

    technique_pages = False  # no technique's own page reads it (the figures do)
    page_scope = SYNCS  # its own page-cache counter: item writes leave the staff landing

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        OK = "ok", "Succeeded"
        # Some resources (or some PRs) failed; the others were synced.
        PARTIAL = "partial", "Partly synced"
        FAILED = "failed"
        INTERRUPTED = "interrupted", "Interrupted (worker stopped)"
        # Queued, but a later sync of the repository ran first (or no worker took it).
        SKIPPED = "skipped", "Not run"

    # A queued sync no worker has taken for this long is not waiting any more.
    QUEUE_PATIENCE = timedelta(minutes=30)
    # The progress counters, saved every half second while a sync runs: only the sync
    # status page (never cached) shows them, so saving only these bumps no data version.
    bookkeeping_fields = frozenset(
        {
            "requests",
            "not_modified",
            "rows_written",
            "rate_limit_remaining",
            "rate_limit_reset",
            "rate_limits",
            "progress",
            "per_resource",
        }
    )

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="sync_runs")
    resource = models.CharField(max_length=40, default="all")
    trigger = models.CharField(max_length=20, default="schedule")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    task_id = models.CharField(max_length=60, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    not_modified = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset = models.DateTimeField(null=True, blank=True)
    # Each rate-limit budget as the sync left it, by x-ratelimit-resource:
    # {"core": {"limit": 5000, "remaining": 4870, "reset": "2026-12-07T16:00:00+00:00"}}
    rate_limits = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # {"resource": "issues", "pages": 12, "items": 1200, "done": ["labels", ...]}
    progress = models.JSONField(default=dict, blank=True)
    per_resource = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["repository", "status"])]

    def __str__(self) -> str:
        return f"{self.repository} {self.resource} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 2)

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def css_status(self) -> str:
        if self.waiting_too_long:
            return "warn"
        return {"ok": "ok", "failed": "fail", "interrupted": "warn", "partial": "warn"}.get(
            self.status, "unknown"
        )

    @property
    def rate_limit_reset_passed(self) -> bool:
        """The core budget's window has reset since the sync: its figure is history."""
        return bool(self.rate_limit_reset and self.rate_limit_reset <= timezone.now())

    def budgets(self) -> list[dict]:
        """Each rate-limit budget the sync met, by resource: limit, remaining, when it
        resets and whether that moment has passed (then the budget is full again)."""
        now = timezone.now()
        rows = []
        for resource, budget in sorted((self.rate_limits or {}).items()):
            reset = budget.get("reset")
            reset_at = datetime.fromisoformat(reset) if reset else None
            rows.append(
                {
                    "resource": resource,
                    "limit": budget.get("limit"),
                    "remaining": budget.get("remaining"),
                    "reset_at": reset_at,
                    "reset_passed": bool(reset_at and reset_at <= now),
                }
            )
        return rows

    @property
    def not_synced(self) -> dict:
        """The PRs GitHub could not answer at this sync (asked for again next time)."""
        pulls = (self.per_resource or {}).get("pulls") or {}
        return {
            "count": pulls.get("not_synced", 0),
            "numbers": pulls.get("not_synced_numbers", []),
            "reasons": pulls.get("not_synced_reasons", []),
        }

    @property
    def waiting_too_long(self) -> bool:
        """Queued for longer than QUEUE_PATIENCE: no worker is taking it; the task is lost
        (the next "sync now" marks it not run and queues a new one)."""
        return (
            self.status == self.Status.QUEUED
            and self.queued_at < timezone.now() - self.QUEUE_PATIENCE
        )

    @property
    def status_words(self) -> str:
        """The status as the pages say it: a queued run no worker took is lost, not queued."""
        if self.waiting_too_long:
            return f"Lost: queued {timesince(self.queued_at)} ago, no worker took it"
        return str(self.get_status_display())


class WebhookDelivery(models.Model):
    """Delivery ids already handled: a replayed delivery is ignored."""

    page_data = False  # bookkeeping: what a delivery changed bumps the data version itself

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=40)
    action = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    rows_written = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"

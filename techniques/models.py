"""The technique registry: owner groups, maintainers, techniques and their history.

Policy: docs/policy/ownership-rfc.md ("A group name is required", "The group of
maintainers must also be 2+", "Each technique has its own Github label").
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import BigIntegerField, Exists, Prefetch, Q, Subquery
from django.db.models.functions import Cast, Lower
from django.urls import reverse
from django.utils import timezone

# GitHub logins: 1-39 characters, alphanumeric or single hyphens, not starting or
# ending with a hyphen.
github_login_validator = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$",
    "A GitHub login has 1 to 39 letters, digits or single hyphens, and cannot start "
    "or end with a hyphen.",
)
# A GitHub team as org/team-slug: the organization's login (as a user's) and the team's
# slug, which GitHub makes of letters, digits, underscores and single hyphens.
github_team_validator = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$",
    "Write the team as org/team-slug: the organization's login, a slash and the team's "
    "slug (letters, digits, underscores and single hyphens, no spaces), e.g. tensorflow/tf-mot.",
)
# Labels as GitHub allows them: up to 50 characters, no commas (they separate lists).
label_validator = RegexValidator(
    r"^[^,]{1,50}$", "A GitHub label has 1 to 50 characters and no comma."
)


class TOSLevel(models.TextChoices):
    PRODUCTION = "production"
    RESEARCH = "research"


class Stage(models.TextChoices):
    PROPOSED = "proposed"
    IN_DEVELOPMENT = "in_development", "In development"
    LAUNCHED = "launched"
    DEPRECATING = "deprecating"
    DEPRECATED = "deprecated"


# What an end user can expect, word for word from the ownership RFC.
TOS_PROMISES = {
    TOSLevel.PRODUCTION: (
        "An end user can frequently create new models and recreate those models using "
        "stable APIs from stable releases, except after infrequent major releases. "
        "Requests that affect a significant portion of the user base will be addressed "
        "in some manner, considering general usability and project goals and constraints."
    ),
    TOSLevel.RESEARCH: (
        "An end user can expect to create useful models for deployment, though "
        "recreating those models or similar models may be difficult in the next minor "
        "release. New features are not expected, but within the constraints of what is "
        "stated as supported, bugs will be fixed. There is clear documentation on how "
        "the technique itself works for research understanding purposes."
    ),
}


class HealthLevel(models.TextChoices):
    """A technique's health, stored by the adherence evaluation (see the health page)."""

    UNKNOWN = "unknown", "Not checked yet"
    HEALTHY = "healthy"
    MINOR = "minor", "Minor gaps"
    ATTENTION = "attention", "Needs attention"
    TROUBLE = "trouble", "In trouble"


# The policy: a technique's owner group has two or more active maintainers.
MIN_MAINTAINERS = 2


class OwnerGroup(models.Model):
    class ContactPolicy(models.TextChoices):
        DOCS_ONLY = "docs_only", "Contact only when the OWNERS or docs say so"
        OPEN = "open", "Contact directly for technique questions"

    name = models.CharField(
        max_length=120,
        unique=True,
        help_text="Required by the policy: a group with vested interest maintains a technique.",
        error_messages={"unique": "Another owner group already has this name."},
    )
    slug = models.SlugField(max_length=120, unique=True)
    mailing_list = models.EmailField(blank=True)
    github_team = models.CharField(
        max_length=100,
        blank=True,
        validators=[github_team_validator],
        help_text="org/team-slug, e.g. tensorflow/tf-mot",
    )
    contact_policy = models.CharField(
        max_length=20, choices=ContactPolicy.choices, default=ContactPolicy.DOCS_ONLY
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("techniques:group", args=[self.slug])

    def clean(self):
        if not (self.name or "").strip():
            raise ValidationError({"name": "A group name is required."})
        self.name = self.name.strip()

    @property
    def shows_emails(self) -> bool:
        """The contact policy: pages show maintainers' e-mail addresses (and the technique
        page the mailing list) only when the group invites direct contact."""
        return self.contact_policy == self.ContactPolicy.OPEN

    def contact_emails(self) -> list[str]:
        """Where notifications to the group go: its list and its active maintainers."""
        emails = [self.mailing_list] if self.mailing_list else []
        emails += [m.email for m in self.maintainers.all() if m.is_active and m.email]
        return sorted(set(emails))

    @property
    def active_maintainers(self) -> list[Maintainer]:
        """Active maintainers; uses the prefetch of ``Technique.objects.for_pages()``."""
        return [m for m in self.maintainers.all() if m.is_active]


def _github_accounts(user):
    from allauth.socialaccount.models import SocialAccount

    return SocialAccount.objects.filter(user_id=user.pk, provider="github")


def github_ids_of(user) -> frozenset[int]:
    """The GitHub user ids linked to ``user`` (its GitHub sign-ins), read once per user
    object."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_portal_github_ids", None)
    if cached is None:
        uids = _github_accounts(user).values_list("uid", flat=True)
        cached = frozenset(int(uid) for uid in uids if uid.isdigit())
        user._portal_github_ids = cached
    return cached


def identity_q(user, prefix: str = "") -> Q:
    """The maintainer rows that are ``user`` (the identity rule, docs/security.md).

    Rights follow the GitHub user id: a maintainer with a ``github_id`` is the user whose
    GitHub sign-in has that id, never a user of that name. A maintainer without an id
    (added by hand, the demo) is the account of the same user name only while that
    account has no GitHub sign-in (accounts without one are made by staff); the first
    GitHub sign-in of its login gives it the id. One query, with no extra round trip.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    accounts = _github_accounts(user)
    by_id = Q(
        **{
            f"{prefix}github_id__in": Subquery(
                accounts.values(as_id=Cast("uid", BigIntegerField()))
            )
        }
    )
    by_name = Q(
        ~Exists(accounts),
        **{
            f"{prefix}github_id__isnull": True,
            f"{prefix}github_login__iexact": user.get_username(),
        },
    )
    return by_id | by_name


def is_identity_of(maintainer: Maintainer, user) -> bool:
    """Python twin of :func:`identity_q` for one maintainer (prefetched rows)."""
    if not user.is_authenticated:
        return False
    ids = github_ids_of(user)
    if maintainer.github_id is not None:
        return maintainer.github_id in ids
    return not ids and maintainer.github_login.lower() == user.get_username().lower()


class MaintainerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Maintainer.Status.ACTIVE)

    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(identity_q(user))


class Maintainer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        EMERITUS = "emeritus"

    group = models.ForeignKey(OwnerGroup, on_delete=models.CASCADE, related_name="maintainers")
    github_login = models.CharField(max_length=39, validators=[github_login_validator])
    name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    is_direct_assignee = models.BooleanField(
        default=False,
        help_text="The star in the OWNERS table: assign everything directly to this person.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Filled by the GitHub sync: the last comment, review, issue or PR on the repository.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # GitHub's numeric user id: the link to a GitHub sign-in that survives a renamed login
    # (set by the team sync and on sign-in).
    github_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Listed by the group's GitHub team when it was last synced (github_integration).
    from_github_team = models.BooleanField(default=False)

    objects = MaintainerQuerySet.as_manager()

    class Meta:
        ordering = ["-is_direct_assignee", "github_login"]
        constraints = [
            models.UniqueConstraint(
                Lower("github_login"),
                "group",
                name="unique_maintainer_login_per_group",
                violation_error_message="This GitHub login is already a maintainer of the group.",
            )
        ]

    def __str__(self) -> str:
        star = "*" if self.is_direct_assignee else ""
        return f"@{self.github_login}{star}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def github_url(self) -> str:
        return f"https://github.com/{self.github_login}"


class TechniqueQuerySet(models.QuerySet):
    def for_pages(self):
        """Everything the public pages show, in a fixed number of queries."""
        return self.select_related("owner_group").prefetch_related(
            Prefetch(
                "owner_group__maintainers",
                queryset=Maintainer.objects.order_by("-is_direct_assignee", "github_login"),
            )
        )

    def public(self):
        """Techniques the public sees (all but withdrawn proposals)."""
        return self.all()

    def owned_by(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            identity_q(user, "owner_group__maintainers__"),
            owner_group__maintainers__status=Maintainer.Status.ACTIVE,
        ).distinct()


class Technique(models.Model):
    slug = models.SlugField(
        max_length=80,
        unique=True,
        error_messages={"unique": "Another technique already uses this slug."},
    )
    name = models.CharField(max_length=160)
    category = models.CharField(max_length=60, help_text="e.g. sparsity, quantization")
    summary = models.TextField(blank=True, help_text="One paragraph for the public page.")
    public_api = models.CharField(
        max_length=200, help_text="The public API module, e.g. tfmot.sparsity.keras"
    )
    module_path = models.CharField(
        max_length=200,
        blank=True,
        help_text="Python module that holds the implementation and its docstring.",
    )
    github_labels = models.JSONField(
        default=list, blank=True, help_text="The technique's GitHub labels; the first is its own."
    )
    path_globs = models.JSONField(
        default=list,
        blank=True,
        help_text="Repository paths the technique owns (CODEOWNERS patterns).",
    )
    github_repository = models.CharField(
        max_length=140,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", "Write the repository owner/name.")
        ],
        help_text="owner/name of the GitHub repository its issues live in; empty: the "
        "portal's repository (GITHUB_REPOSITORY).",
    )
    tos_level = models.CharField(max_length=12, choices=TOSLevel.choices)
    tos_rationale = models.CharField(
        max_length=300, blank=True, help_text="Why this TOS level was chosen."
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PROPOSED)
    launch_date = models.DateField(null=True, blank=True)
    launch_release = models.CharField(max_length=20, blank=True)
    overview_url = models.URLField(blank=True)
    support_scope = models.TextField(
        blank=True,
        help_text="What the OWNERS claim support for (research TOS: bugs are fixed on it).",
    )
    # Research-TOS opt-ins the overview page may grant ("unless the technique says
    # otherwise on its overview page").
    accepts_feature_requests = models.BooleanField(default=False)
    accepts_prs = models.BooleanField(default=False)
    provides_release_notes = models.BooleanField(default=False)
    # Production TOS: "comprehensive public API testing ... within 3 months of launch".
    api_tests_confirmed_on = models.DateField(null=True, blank=True)
    # Opt-in per technique: gaps open long enough become issues in the repository.
    gap_issues = models.BooleanField(
        default=False,
        help_text="File a GitHub issue for a gap open longer than GAP_ISSUE_AFTER_DAYS.",
    )
    # Revert a verified culprit of its tests without waiting for staff (empty: the
    # AUTO_REVERT setting decides).
    auto_revert = models.BooleanField(
        null=True,
        blank=True,
        help_text="Open the revert of a verified culprit PR automatically; unknown: AUTO_REVERT.",
    )
    owner_group = models.ForeignKey(
        OwnerGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="techniques"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Written by the adherence evaluation from the stored gaps; pages only read them.
    health_level = models.CharField(
        max_length=10, choices=HealthLevel.choices, default=HealthLevel.UNKNOWN, editable=False
    )
    health_points = models.PositiveIntegerField(default=0, editable=False)

    objects = TechniqueQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tos_level", "stage"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("techniques:detail", args=[self.slug])

    @property
    def repository_name(self) -> str:
        """The GitHub repository of the technique's issues and PRs (owner/name)."""
        return self.github_repository or settings.GITHUB_REPOSITORY

    def clean(self):
        errors = {}
        labels = [str(label).strip() for label in (self.github_labels or [])]
        labels = [label for label in labels if label]
        if not labels:
            errors["github_labels"] = (
                "A technique needs its own GitHub label (policy: 'Each technique has its "
                "own Github label')."
            )
        for label in labels:
            try:
                label_validator(label)
            except ValidationError:
                errors["github_labels"] = f"'{label[:60]}' is not a valid GitHub label."
        self.github_labels = list(dict.fromkeys(labels))
        self.path_globs = [str(g).strip() for g in (self.path_globs or []) if str(g).strip()]
        for glob in self.path_globs:
            if " " in glob or glob.startswith("#"):
                errors["path_globs"] = f"'{glob[:60]}' is not a CODEOWNERS path pattern."
        if self.stage in {Stage.LAUNCHED, Stage.DEPRECATING} and not self.launch_date:
            errors["launch_date"] = "A launched technique needs its launch date."
        if self.stage == Stage.LAUNCHED and self.pk:
            # "May launch" judges the stage a technique is launched from: the stored one.
            stored = Technique.objects.filter(pk=self.pk).values_list("stage", flat=True).first()
            if stored not in (None, Stage.LAUNCHED, *self.LAUNCHABLE_STAGES):
                errors["stage"] = self.launch_refusal(Stage(stored))
        if errors:
            raise ValidationError(errors)

    # --- per-object rules -------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.github_labels[0] if self.github_labels else ""

    @property
    def is_production(self) -> bool:
        return self.tos_level == TOSLevel.PRODUCTION

    @property
    def tos_promise(self) -> str:
        return TOS_PROMISES[TOSLevel(self.tos_level)]

    def research_opt_ins(self) -> list[str]:
        opted = []
        if self.accepts_feature_requests:
            opted.append("feature requests")
        if self.accepts_prs:
            opted.append("pull requests")
        if self.provides_release_notes:
            opted.append("release notes")
        return opted

    def tos_header(self) -> str:
        """The TOS header for the overview page and the API module's docstring."""
        group = self.owner_group.name if self.owner_group else "(no owner group)"
        level = self.get_tos_level_display()
        lines = [
            f"{self.name} ({self.public_api})",
            f"Owned by {group}. Terms of service: {level}.",
            "",
            self.tos_promise,
        ]
        if not self.is_production:
            opted = self.research_opt_ins()
            if opted:
                lines += ["", "This technique also accepts: " + ", ".join(opted) + "."]
            else:
                lines += [
                    "",
                    "Feature requests, pull requests and release notes are not part of "
                    "the research terms of service for this technique.",
                ]
            if self.support_scope:
                lines += ["", "Supported (bugs are fixed on): " + self.support_scope]
        return "\n".join(lines)

    def docstring_header(self) -> str:
        return '"""' + self.tos_header() + '\n"""'

    # The stages a technique may be launched from: a launched technique is launched
    # already, and a deprecating or deprecated one is on its way out (never relaunched).
    LAUNCHABLE_STAGES = (Stage.PROPOSED, Stage.IN_DEVELOPMENT)

    @property
    def may_launch(self) -> bool:
        """Whether the technique's stage lets it be launched (proposed or in development)."""
        return self.stage in self.LAUNCHABLE_STAGES

    def launch_refusal(self, stage: Stage | None = None) -> str:
        """Why the technique cannot be launched from ``stage`` (its own by default)."""
        label = Stage(stage or self.stage).label.lower()
        return (
            f"{self.name} is {label}: only a proposed technique or one in development "
            "can be launched."
        )

    def is_owned_by(self, user) -> bool:
        if not user.is_authenticated or self.owner_group is None:
            return False
        return any(
            m.is_active and is_identity_of(m, user) for m in self.owner_group.maintainers.all()
        )

    def months_since_launch(self, today=None) -> int | None:
        if not self.launch_date:
            return None
        today = today or timezone.localdate()
        return (today.year - self.launch_date.year) * 12 + today.month - self.launch_date.month


class TechniqueChange(models.Model):
    """History of ownership and TOS changes (and other registry edits)."""

    technique = models.ForeignKey(Technique, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=40)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.technique.slug}: {self.field} {self.before!r} → {self.after!r}"


class DataVersion(models.Model):
    """The counters the page cache keys on (see cache.py), one row per scope: ``data``
    (bumped by every write that can change a page), ``registry`` (writes of the registry's
    rows), ``app:<label>`` (writes of one app's rows; ``app:*`` when the writer did not
    say), ``technique:<id>`` (writes that change only that technique's own pages;
    ``technique:*`` when the writer did not say which). A page keys on the counters of
    what it reads; a missing row reads as 0.

    Kept in the database, not in the cache, so that every web process sees a change at
    once even with a per-process cache: a cached page is never served after an edit.
    """

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=1)
    page_data = False  # its own saves bump nothing

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

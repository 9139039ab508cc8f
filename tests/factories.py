"""Factories for every model of the project's apps. The users of tests/conftest.py are
alice (owner of pruning), bob (owner of clustering) and carol (staff); anonymous is the
plain client. Times default to now; tests that need a fixed clock pass their own."""

import hashlib
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from adherence.engine import Severity, Status
from adherence.models import (
    Campaign,
    EvaluationRequest,
    Gap,
    GapEvent,
    Notification,
    Remediation,
    RuleResult,
    WaiverRequest,
)
from ci_status.models import (
    CIRun,
    Comment,
    CommunityFigures,
    Issue,
    ItemTechnique,
    Label,
    Release,
    Repository,
    SyncCursor,
    SyncRun,
    Tombstone,
    WebhookDelivery,
)
from convergence.models import (
    BenefitTarget,
    Bisection,
    BisectionStep,
    ChangePoint,
    CIToken,
    ConvergenceRun,
    ConvergenceTest,
    CulpritRange,
    MetricDirection,
    Revert,
)
from github_integration.models import BootstrapProposal, GapIssue, TeamSync
from lifecycle.models import (
    STEPS,
    ContributionStep,
    Deprecation,
    OwnerInterest,
    OwnershipCheck,
    TOSChangeRequest,
)
from ops.models import Heartbeat
from reviews.models import ReminderSent, Review, ReviewCycle, ReviewTransition
from techniques.models import (
    DataVersion,
    Maintainer,
    OwnerGroup,
    Stage,
    Technique,
    TechniqueChange,
    TOSLevel,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests-1")


class OwnerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OwnerGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")
    mailing_list = factory.LazyAttribute(lambda g: f"{g.slug}@example.org")


class MaintainerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Maintainer

    group = factory.SubFactory(OwnerGroupFactory)
    github_login = factory.Sequence(lambda n: f"maint{n}")
    name = factory.LazyAttribute(lambda m: m.github_login.title())


class TechniqueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technique

    slug = factory.Sequence(lambda n: f"technique-{n}")
    name = factory.Sequence(lambda n: f"Technique {n}")
    category = "sparsity"
    public_api = factory.LazyAttribute(lambda t: f"tfmot.{t.slug.replace('-', '_')}")
    github_labels = factory.LazyAttribute(lambda t: [f"technique:{t.slug}"])
    path_globs = factory.LazyAttribute(lambda t: [f"tensorflow_model_optimization/{t.slug}/"])
    tos_level = TOSLevel.PRODUCTION
    stage = Stage.LAUNCHED
    launch_date = factory.Faker("date_between", start_date="-3y", end_date="-1y")
    owner_group = factory.SubFactory(OwnerGroupFactory)


class TechniqueChangeFactory(factory.django.DjangoModelFactory):
    """A launch (stage change); ``maintainers=True`` for a change of the group's
    maintainers as ``maintainers_record_change`` records it (no before, ``after`` says what)."""

    class Meta:
        model = TechniqueChange

    technique = factory.SubFactory(TechniqueFactory)
    field = "stage"
    before = Stage.IN_DEVELOPMENT
    after = Stage.LAUNCHED

    class Params:
        maintainers = factory.Trait(field="maintainers", before="", after="dave left")


class DataVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataVersion

    name = factory.Sequence(lambda n: f"test:{n}")


# --- adherence ----------------------------------------------------------------------------
class RuleResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleResult

    technique = factory.SubFactory(TechniqueFactory)
    rule_id = "two-maintainers"
    status = Status.FAIL
    summary = "Only one active maintainer."
    evaluated_at = factory.LazyFunction(timezone.now)


class GapFactory(factory.django.DjangoModelFactory):
    """An open gap of the two-maintainers rule, opened ``days_open`` (0) days ago."""

    class Meta:
        model = Gap

    technique = factory.SubFactory(TechniqueFactory)
    rule_id = "two-maintainers"
    severity = Severity.HIGH
    summary = "Only one active maintainer."
    opened_at = factory.LazyAttribute(lambda g: timezone.now() - timedelta(days=g.days_open))

    class Params:
        days_open = 0


class GapEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GapEvent

    gap = factory.SubFactory(GapFactory)
    kind = GapEvent.Kind.OPENED
    at = factory.LazyAttribute(lambda e: e.gap.opened_at)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    title = "Every production technique has a training speed test"
    rule_id = "training-speed-test"
    tos_level = TOSLevel.PRODUCTION
    due_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=90))


class RemediationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Remediation

    gap = factory.SubFactory(GapFactory)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    assignee = factory.LazyAttribute(
        lambda r: (
            r.gap.technique.owner_group.maintainers.first() if r.gap.technique.owner_group else None
        )
    )


class WaiverRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaiverRequest

    gap = factory.SubFactory(GapFactory)
    reason = "The training speed benchmark moves to the new runner next month."
    until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=60))
    requested_by = factory.SubFactory(UserFactory)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    key = factory.Sequence(lambda n: f"gap-opened-{n}")


class EvaluationRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationRequest

    technique_id = factory.LazyAttribute(lambda _: TechniqueFactory().pk)


# --- GitHub and CI ------------------------------------------------------------------------
class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository
        django_get_or_create = ["full_name"]

    full_name = "tensorflow/model-optimization"
    last_synced_at = factory.LazyFunction(timezone.now)


class SyncCursorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncCursor

    repository = factory.SubFactory(RepositoryFactory)
    resource = factory.Sequence(lambda n: f"resource-{n}")


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    repository = factory.SubFactory(RepositoryFactory)
    name = factory.Sequence(lambda n: f"technique:label-{n}")


class IssueFactory(factory.django.DjangoModelFactory):
    """An open issue by an outsider; ``PullRequestFactory`` for PRs."""

    class Meta:
        model = Issue

    repository = factory.SubFactory(RepositoryFactory)
    number = factory.Sequence(lambda n: n + 1)
    kind = Issue.Kind.ISSUE
    title = factory.Sequence(lambda n: f"Item {n}")
    state = "open"
    labels = factory.LazyFunction(list)
    author = "outsider"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda i: i.created_at)
    html_url = factory.LazyAttribute(
        lambda i: f"https://github.com/{i.repository.full_name}/issues/{i.number}"
    )


class PullRequestFactory(IssueFactory):
    """A PR; ``merged=True`` makes it closed at ``merged_at`` (by default when it was
    created)."""

    kind = Issue.Kind.PR

    class Params:
        merged = factory.Trait(
            state="closed",
            merged_at=factory.LazyAttribute(lambda i: i.created_at),
            closed_at=factory.LazyAttribute(lambda i: i.merged_at),
        )


class CommentFactory(factory.django.DjangoModelFactory):
    """A comment on ``issue``, ``after_hours`` (1) after it was opened, by an outsider;
    ``member=True`` for a member of the organisation, ``review=True`` for a PR review
    (``state="COMMENTED"`` unless given)."""

    class Meta:
        model = Comment
        exclude = ["issue"]

    issue = factory.SubFactory(IssueFactory)
    repository = factory.LazyAttribute(lambda c: c.issue.repository)
    issue_number = factory.LazyAttribute(lambda c: c.issue.number)
    kind = Comment.Kind.COMMENT
    github_id = factory.Sequence(lambda n: n + 1)
    author = "someone"
    author_association = "NONE"
    created_at = factory.LazyAttribute(
        lambda c: c.issue.created_at + timedelta(hours=c.after_hours)
    )

    class Params:
        after_hours = 1
        member = factory.Trait(author_association="MEMBER")
        review = factory.Trait(kind=Comment.Kind.REVIEW, state="COMMENTED")


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    repository = factory.SubFactory(RepositoryFactory)
    tag = factory.Sequence(lambda n: f"v0.{n}.0")
    published_at = factory.LazyFunction(timezone.now)


class CIRunFactory(factory.django.DjangoModelFactory):
    """A completed, green push run of the "CI" workflow on master."""

    class Meta:
        model = CIRun

    repository = factory.SubFactory(RepositoryFactory)
    run_id = factory.Sequence(lambda n: 1000 + n)
    workflow = "CI"
    branch = "master"
    event = "push"
    status = "completed"
    conclusion = "success"
    created_at = factory.LazyFunction(timezone.now)
    started_at = factory.LazyAttribute(lambda r: r.created_at)
    finished_at = factory.LazyAttribute(lambda r: r.created_at + timedelta(minutes=20))


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A queued sync; ``ok=True`` for one that took 30 seconds and succeeded
    ``minutes_ago`` (1) minutes ago."""

    class Meta:
        model = SyncRun

    repository = factory.SubFactory(RepositoryFactory)

    class Params:
        minutes_ago = 1
        ok = factory.Trait(
            status=SyncRun.Status.OK,
            finished_at=factory.LazyAttribute(
                lambda r: timezone.now() - timedelta(minutes=r.minutes_ago)
            ),
            started_at=factory.LazyAttribute(lambda r: r.finished_at - timedelta(seconds=30)),
        )


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    delivery_id = factory.Sequence(lambda n: f"delivery-{n}")
    event = "issues"


class TombstoneFactory(factory.django.DjangoModelFactory):
    """A deleted issue's tombstone (``kind=Tombstone.Kind.COMMENT`` for a comment's)."""

    class Meta:
        model = Tombstone

    repository = factory.SubFactory(RepositoryFactory)
    kind = Tombstone.Kind.ISSUE
    key = factory.Sequence(lambda n: n + 1)
    deleted_at = factory.LazyFunction(timezone.now)


class ItemTechniqueFactory(factory.django.DjangoModelFactory):
    """An issue that belongs to a technique by its label."""

    class Meta:
        model = ItemTechnique

    issue = factory.SubFactory(IssueFactory)
    technique = factory.SubFactory("tests.factories.TechniqueFactory")
    via = ItemTechnique.Via.LABEL


class CommunityFiguresFactory(factory.django.DjangoModelFactory):
    """A technique's stored community figures: nothing open, nothing waiting."""

    class Meta:
        model = CommunityFigures
        django_get_or_create = ["technique"]

    technique = factory.SubFactory("tests.factories.TechniqueFactory")
    computed_at = factory.LazyFunction(timezone.now)


# --- convergence --------------------------------------------------------------------------
class ConvergenceTestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConvergenceTest

    technique = factory.SubFactory(TechniqueFactory)
    name = factory.Sequence(lambda n: f"resnet{n}")
    model_family = "ResNet"
    task = "image classification (ImageNet)"


class BenefitTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitTarget

    test = factory.SubFactory(ConvergenceTestFactory)
    metric = "top1"
    documented_value = 76.0
    tolerance = 0.3


class ConvergenceRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConvergenceRun

    test = factory.SubFactory(ConvergenceTestFactory)
    started_at = factory.LazyFunction(timezone.now)
    outcome = ConvergenceRun.Outcome.PASSED
    source = ConvergenceRun.Source.UPLOAD
    external_id = factory.Sequence(lambda n: f"run-{n}")


class MetricDirectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricDirection

    test = factory.SubFactory(ConvergenceTestFactory)
    metric = "step_time_ms"
    better = "lower"


class ChangePointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChangePoint

    run = factory.SubFactory(ConvergenceRunFactory)
    test = factory.SelfAttribute("run.test")
    metric = "top1"
    sha = factory.SelfAttribute("run.tfmot_sha")
    run_started_at = factory.SelfAttribute("run.started_at")
    before_mean = 76.6
    after_mean = 76.1
    change_percent = -0.65
    significance = 0.005
    regression = True


class CulpritRangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CulpritRange

    test = factory.SubFactory(ConvergenceTestFactory)
    base_sha = "a" * 40
    head_sha = "b" * 40


class BisectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bisection

    test = factory.SubFactory(ConvergenceTestFactory)
    trigger = Bisection.Trigger.RED_STREAK
    repository = "tensorflow/model-optimization"
    range_base = factory.Sequence(lambda n: f"{n:040x}")
    range_head = "b" * 40
    commits = factory.LazyAttribute(
        lambda b: [{"sha": b.range_head, "message": "Change", "url": "", "pr": None, "rank": 0}]
    )


class BisectionStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BisectionStep

    bisection = factory.SubFactory(BisectionFactory)
    sha = "b" * 40


class RevertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Revert

    bisection = factory.SubFactory(BisectionFactory)
    repository = "tensorflow/model-optimization"
    culprit_pr = factory.Sequence(lambda n: n + 1)


class CITokenFactory(factory.django.DjangoModelFactory):
    """A stored token; ``CIToken.issue`` when the test needs the clear text."""

    class Meta:
        model = CIToken

    name = "CI"
    prefix = factory.Sequence(lambda n: f"tfmot_{n:06d}")
    token_hash = factory.LazyAttribute(lambda t: hashlib.sha256(t.prefix.encode()).hexdigest())


# --- lifecycle ----------------------------------------------------------------------------
class ContributionStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContributionStep
        django_get_or_create = ["technique", "step"]  # pipeline techniques get theirs on save

    technique = factory.SubFactory(TechniqueFactory, stage=Stage.IN_DEVELOPMENT)
    step = STEPS[0][0]


class DeprecationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deprecation

    technique = factory.SubFactory(TechniqueFactory, stage=Stage.DEPRECATING)
    reason = Deprecation.Reason.LACK_OF_PEOPLE
    started_by = factory.SubFactory(UserFactory, is_staff=True)
    planned_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=90))


class OwnerInterestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OwnerInterest

    deprecation = factory.SubFactory(DeprecationFactory)
    user = factory.SubFactory(UserFactory)
    message = "I use it daily and can maintain it."


class TOSChangeRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOSChangeRequest

    technique = factory.SubFactory(TechniqueFactory, tos_level=TOSLevel.RESEARCH)
    to_level = TOSLevel.PRODUCTION
    justification = "Used in production by several teams."
    requested_by = factory.SubFactory(UserFactory)


class OwnershipCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OwnershipCheck

    technique = factory.SubFactory(TechniqueFactory)
    checked_at = factory.LazyFunction(timezone.now)
    permissions = factory.LazyFunction(lambda: {"alice": "maintain", "dave": "read"})
    missing_in_codeowners = factory.LazyFunction(
        lambda: [{"pattern": "/tensorflow_model_optimization/", "owners": ["@dave"]}]
    )
    extra_in_codeowners = factory.LazyFunction(
        lambda: [{"pattern": "/tensorflow_model_optimization/", "owners": ["@mallory"]}]
    )


# --- reviews ------------------------------------------------------------------------------
class ReviewCycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewCycle
        django_get_or_create = ["year", "half"]

    year = 2026
    half = 2
    due_date = factory.LazyAttribute(lambda c: ReviewCycle.bounds(c.year, c.half)[1])


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    cycle = factory.SubFactory(ReviewCycleFactory)
    technique = factory.SubFactory(TechniqueFactory)


class ReviewTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewTransition

    review = factory.SubFactory(ReviewFactory)
    from_status = Review.Status.DRAFT
    to_status = Review.Status.SUBMITTED
    by = factory.SubFactory(UserFactory)


class ReminderSentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReminderSent

    review = factory.SubFactory(ReviewFactory)
    kind = "due-soon"


# --- GitHub integration -------------------------------------------------------------------
class TeamSyncFactory(factory.django.DjangoModelFactory):
    """An owner group's GitHub team, never synced yet."""

    class Meta:
        model = TeamSync
        django_get_or_create = ["group"]

    group = factory.SubFactory(OwnerGroupFactory)
    team = factory.LazyAttribute(lambda t: f"tensorflow/{t.group.slug}")


class BootstrapProposalFactory(factory.django.DjangoModelFactory):
    """A pending proposal of a technique from a ``technique:*`` label."""

    class Meta:
        model = BootstrapProposal

    repository = "tensorflow/model-optimization"
    kind = BootstrapProposal.Kind.TECHNIQUE
    key = factory.Sequence(lambda n: f"technique:proposed-{n}")
    data = factory.LazyAttribute(lambda p: {"label": p.key})


class GapIssueFactory(factory.django.DjangoModelFactory):
    """The GitHub issue of a gap, claimed but not created yet (no number)."""

    class Meta:
        model = GapIssue

    gap = factory.SubFactory(GapFactory)
    repository = "tensorflow/model-optimization"
    secret = factory.Sequence(lambda n: f"{n:032x}")
    marker = factory.LazyAttribute(lambda r: f"tfmot-portal-gap-{r.gap.pk}-{r.secret}")


class HeartbeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Heartbeat
        django_get_or_create = ["part"]

    part = Heartbeat.Part.WORKER
    at = factory.LazyFunction(timezone.now)
    details = factory.LazyFunction(dict)

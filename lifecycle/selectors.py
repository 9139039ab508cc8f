"""Reads of the lifecycle for pages: each page's data and what its user may do there.

The ``may_*`` flags come from the permissions in ``lifecycle.permissions`` and the model
rules the services check, so a page never offers a form its service refuses; templates
read the flags and decide nothing themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from lifecycle.models import (
    REQUIRED_STEPS,
    STEP_TITLES,
    ContributionStep,
    Deprecation,
    OwnerInterest,
    OwnershipCheck,
    TOSChangeRequest,
)
from lifecycle.permissions import (
    DECIDE_TOS,
    DEPRECATE,
    LAUNCH,
    MODERATE,
    SEE_OWNERSHIP,
)
from techniques.models import Stage, Technique


def open_required_steps(technique: Technique) -> list[str]:
    """The titles of the technique's required contribution steps not yet closed."""
    closed = set(
        ContributionStep.objects.filter(
            technique=technique,
            state__in=[ContributionStep.State.DONE, ContributionStep.State.NOT_APPLICABLE],
        ).values_list("step", flat=True)
    )
    return [STEP_TITLES[key] for key in REQUIRED_STEPS if key not in closed]


def may_launch(user, technique: Technique) -> bool:
    """What ``technique_launch`` checks: the permission, then the model's stage rule."""
    return LAUNCH.may(user, technique) and technique.may_launch


# --- the querysets the views find their objects in ---------------------------------------


def lifecycle_techniques() -> QuerySet[Technique]:
    return Technique.objects.select_related("owner_group")


def steps_with_technique() -> QuerySet[ContributionStep]:
    return ContributionStep.objects.select_related("technique__owner_group")


def deprecations_with_technique() -> QuerySet[Deprecation]:
    return Deprecation.objects.select_related("technique")


def offers_with_deprecation() -> QuerySet[OwnerInterest]:
    return OwnerInterest.objects.select_related("deprecation__technique", "user")


def tos_requests_with_technique() -> QuerySet[TOSChangeRequest]:
    return TOSChangeRequest.objects.select_related("technique__owner_group")


# --- pages -------------------------------------------------------------------------------


def pipeline_techniques() -> QuerySet[Technique]:
    """The techniques in introduction, with their steps, in the pipeline's order."""
    return (
        Technique.objects.filter(stage__in=[Stage.PROPOSED, Stage.IN_DEVELOPMENT])
        .select_related("owner_group")
        .prefetch_related("contribution_steps")
        .order_by("stage", "name", "pk")
    )


def pipeline_rows(techniques) -> list[dict]:
    """One row per technique of a page of ``pipeline_techniques()``: its steps in order,
    how many are closed and the required ones still open."""
    rows = []
    for technique in techniques:
        steps = Checklist(sorted(technique.contribution_steps.all(), key=lambda s: s.order))
        rows.append(
            {
                "technique": technique,
                "steps": steps.steps,
                "done": steps.done,
                "blockers": steps.blockers,
            }
        )
    return rows


@dataclass
class Checklist:
    """A technique's contribution steps in their recommended order, and how far it is
    (the technique page's checklist before launch)."""

    steps: list[ContributionStep]

    @property
    def done(self) -> int:
        return sum(1 for step in self.steps if step.is_closed)

    @property
    def blockers(self) -> list[ContributionStep]:
        """The required steps still open: they keep the technique from launching."""
        return [step for step in self.steps if step.required and not step.is_closed]


def checklist(technique: Technique) -> Checklist:
    """The technique's contribution checklist, with who confirmed each step."""
    steps = technique.contribution_steps.select_related("confirmed_by")
    return Checklist(sorted(steps.all(), key=lambda step: step.order))


@dataclass(frozen=True)
class TOSRow:
    """A TOS change request as a page shows it to one user."""

    change: TOSChangeRequest
    may_decide: bool  # DECIDE_TOS on a pending request: the decision buttons
    is_own_pending: bool  # the user's own request, waiting for another team member


def tos_row(user, change: TOSChangeRequest) -> TOSRow:
    pending = change.status == TOSChangeRequest.Status.PENDING
    return TOSRow(
        change,
        may_decide=pending and DECIDE_TOS.may(user, change),
        is_own_pending=pending and user.is_authenticated and change.requested_by_id == user.pk,
    )


def lifecycle_page(technique: Technique, user) -> dict:
    """A technique's lifecycle page for ``user``: its steps, TOS requests, deprecation and
    ownership check, and the forms it may use (``may_*``)."""
    steps = sorted(technique.contribution_steps.all(), key=lambda s: s.order)
    changes = technique.tos_requests.select_related("requested_by", "decided_by")
    return {
        "technique": technique,
        "steps": steps,
        "open_steps": open_required_steps(technique) if steps else [],
        "deprecation": Deprecation.objects.filter(technique=technique)
        .prefetch_related("interests__user")
        .first(),
        "others": Technique.objects.exclude(pk=technique.pk)
        .order_by("name")
        .values_list("pk", "name", named=True),
        "tos_requests": [tos_row(user, change) for change in changes],
        "check": OwnershipCheck.objects.filter(technique=technique).first(),
        "is_owner": technique.is_owned_by(user),
        "may_launch": may_launch(user, technique),
        "may_deprecate": DEPRECATE.may(user, technique),
        "may_moderate": MODERATE.may(user, None),
        "may_see_ownership": SEE_OWNERSHIP.may(user, None),
    }


def pending_tos_requests():
    """TOS change requests waiting for the team, oldest first."""
    return (
        TOSChangeRequest.objects.filter(status=TOSChangeRequest.Status.PENDING)
        .select_related("technique", "requested_by")
        .order_by("requested_at", "pk")
    )


def decided_tos_requests():
    """The decided TOS change requests, the latest decision first."""
    return (
        TOSChangeRequest.objects.exclude(status=TOSChangeRequest.Status.PENDING)
        .select_related("technique", "requested_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )


def ownership_checks() -> QuerySet[OwnershipCheck]:
    """Every technique's latest ownership check, by technique name."""
    return OwnershipCheck.objects.select_related("technique").order_by("technique__name", "pk")

"""Demo lifecycle: a proposal mid-pipeline, a deprecation with a call for owners, a
pending TOS change, and the GitHub ownership check against the demo repository."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from github import GitHubClient
from lifecycle.models import ContributionStep, Deprecation, OwnerInterest, TOSChangeRequest
from lifecycle.services import deprecation_start, ownership_check, steps_ensure
from techniques.models import Maintainer, OwnerGroup, Stage, Technique, TOSLevel

DONE = ["proposal_rfc", "sponsor", "design_rfc", "prototype"]


@transaction.atomic
def _registry_changes() -> None:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["carol", "bob", "mallory"])
    }
    _proposal(users.get("carol"))
    _deprecation(users)
    _tos_request(users)


def _proposal(confirmer) -> None:
    """A research proposal by a new owner group, halfway through the contribution steps."""
    group, _ = OwnerGroup.objects.get_or_create(
        slug="llm-compression-demo",
        defaults={
            "name": "LLM Compression Contributors (demo)",
            "contact_policy": OwnerGroup.ContactPolicy.OPEN,
        },
    )
    for login in ("grace", "heidi"):
        Maintainer.objects.get_or_create(
            group=group, github_login=login, defaults={"name": f"{login.title()} (demo)"}
        )
    proposal, _ = Technique.objects.get_or_create(
        slug="weight-sharing-llm",
        defaults={
            "name": "Weight sharing for LLM layers (demo proposal)",
            "category": "compression",
            "summary": "A demo proposal, not a real TFMOT technique: it shows the contribution pipeline.",
            "public_api": "tfmot.experimental.weight_sharing",
            "github_labels": ["technique:weight-sharing"],
            "path_globs": ["tensorflow_model_optimization/python/core/weight_sharing/"],
            "tos_level": TOSLevel.RESEARCH,
            "stage": Stage.PROPOSED,
            "owner_group": group,
        },
    )
    for step in steps_ensure(proposal):
        if step.step in DONE and step.state != ContributionStep.State.DONE:
            step.state, step.done_on, step.confirmed_by = (
                ContributionStep.State.DONE,
                timezone.localdate() - timedelta(days=30),
                confirmer,
            )
            step.link = "https://github.com/tensorflow/model-optimization/pulls"
            step.save()
        elif step.step == "upstreamed" and step.state == ContributionStep.State.OPEN:
            step.state = ContributionStep.State.IN_PROGRESS
            step.save()


def _deprecation(users) -> None:
    """Tensor encoding deprecated for lack of people, with an approved offer of help."""
    encoding = Technique.objects.filter(slug="tensor-encoding").first()
    if (
        encoding
        and not Deprecation.objects.filter(technique=encoding).exists()
        and users.get("carol")
    ):
        deprecation = deprecation_start(
            encoding,
            users["carol"],
            Deprecation.Reason.LACK_OF_PEOPLE,
            timezone.localdate() + timedelta(days=120),
            explanation="Nobody maintains the encoders any more; TensorFlow Federated may take them over.",
            call_for_owners=True,
        )
        if users.get("mallory"):
            OwnerInterest.objects.create(
                deprecation=deprecation,
                user=users["mallory"],
                status=OwnerInterest.Status.APPROVED,
                moderated_by=users["carol"],
                message="I maintain a fork used in federated learning and can help review PRs.",
            )


def _tos_request(users) -> None:
    """A pending request to move PQAT to the production TOS."""
    pqat = Technique.objects.filter(slug="pqat").first()
    if pqat and not pqat.tos_requests.exists() and users.get("bob"):
        TOSChangeRequest.objects.create(
            technique=pqat,
            to_level=TOSLevel.PRODUCTION,
            requested_by=users["bob"],
            justification="PQAT is used in production by Arm's partners; we can commit to the production duties.",
        )


def load(stdout=None) -> dict:
    _registry_changes()
    checked = ownership_check(GitHubClient(backoff=0.05))
    counts = {
        "pipeline": Technique.objects.filter(
            stage__in=[Stage.PROPOSED, Stage.IN_DEVELOPMENT]
        ).count(),
        "ownership checks": checked,
    }
    if stdout:
        stdout.write(f"lifecycle: {counts}")
    return counts

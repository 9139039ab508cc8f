"""Lifecycle workflows: contribution steps and the launch guard, deprecation with a call
for owners, TOS changes approved by staff, and ownership checks against GitHub."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from adherence.services import evaluation_request
from github import GitHubClient, GitHubError
from lifecycle.models import (
    STEPS,
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
    REQUEST_TOS,
    UPDATE_STEP,
)
from lifecycle.selectors import open_required_steps
from techniques.models import Stage, Technique, TOSLevel
from techniques.services import codeowners_entries, register_save_guard, technique_save
from techniques.text import fit
from tfmot_portal.forms import within_limit

# --- contribution process and the launch guard ---------------------------------------


def steps_ensure(technique: Technique) -> list[ContributionStep]:
    ContributionStep.objects.bulk_create(
        [ContributionStep(technique=technique, step=key) for key, _, _ in STEPS],
        ignore_conflicts=True,
    )
    return sorted(technique.contribution_steps.all(), key=lambda s: s.order)


def launch_guard(before, after, user, override: str) -> None:
    """A technique tracked in the pipeline cannot become launched with a required step
    open, unless a staff member overrides with a reason (kept in the history)."""
    becoming_launched = after.stage == Stage.LAUNCHED and (
        before is None or before.stage != Stage.LAUNCHED
    )
    if not becoming_launched or not after.pk or not after.contribution_steps.exists():
        return
    missing = open_required_steps(after)
    if not missing:
        return
    if override.strip():
        if not (user and user.is_staff):
            raise PermissionDenied("Only the TFMOT team can override the launch checklist.")
        return
    raise ValidationError(
        {
            "stage": "Cannot launch while required contribution steps are open: "
            + "; ".join(missing)
            + "."
        }
    )


register_save_guard(launch_guard)


def technique_launch(
    technique: Technique, user, launch_date: date | None = None, override: str = ""
) -> Technique:
    """Launch a technique: its launch date stays if it had one, else the given day or
    today. The launch guard refuses while required steps are open, unless ``override``;
    a refused launch leaves ``technique`` as it was stored."""
    LAUNCH.check(user, technique)
    if not technique.may_launch:
        raise ValidationError(technique.launch_refusal())
    technique.stage = Stage.LAUNCHED
    technique.launch_date = technique.launch_date or launch_date or timezone.localdate()
    try:
        technique_save(technique, user=user, note="Launched", override=override)
    except ValidationError:
        technique.refresh_from_db()
        raise
    return technique


def _checklist_for_pipeline(sender, instance, **kwargs):
    """Every technique in introduction has its contribution checklist, so the launch
    guard always applies to it (and no page has to create rows on a GET)."""
    if kwargs.get("raw"):
        return  # a restore or fixture brings the technique's steps with it
    if instance.stage in (Stage.PROPOSED, Stage.IN_DEVELOPMENT):
        steps_ensure(instance)


post_save.connect(_checklist_for_pipeline, sender=Technique, dispatch_uid="lifecycle.checklist")


@transaction.atomic
def step_update(
    step: ContributionStep,
    user,
    state: str,
    link: str = "",
    done_on: date | None = None,
    note: str = "",
) -> ContributionStep:
    UPDATE_STEP.check(user, step)
    if state not in ContributionStep.State.values:
        raise ValidationError({"state": "Choose open, in progress, done or not applicable."})
    if state == ContributionStep.State.NOT_APPLICABLE and step.required:
        raise ValidationError({"state": "This step is required by the contribution process."})
    step.state, step.link, step.note = state, link, note
    step.done_on = done_on or (
        timezone.localdate() if state == ContributionStep.State.DONE else None
    )
    step.confirmed_by = user if state == ContributionStep.State.DONE else None
    step.full_clean()
    step.save()
    return step


# --- deprecation ---------------------------------------------------------------------


@transaction.atomic
def deprecation_start(
    technique: Technique,
    user,
    reason: str,
    planned_on: date | None,
    replacement=None,
    explanation: str = "",
    call_for_owners: bool = False,
) -> Deprecation:
    DEPRECATE.check(user)
    errors = {}
    if reason not in Deprecation.Reason.values:
        errors["reason"] = "Choose a reason."
    if planned_on is None:
        errors["planned_on"] = "Give the planned deprecation date."
    if replacement is not None and replacement.pk == technique.pk:
        errors["replacement"] = "A technique cannot replace itself."
    if hasattr(technique, "deprecation"):
        errors["technique"] = "This technique is already being deprecated."
    if errors or planned_on is None:
        raise ValidationError(errors)
    deprecation = Deprecation.objects.create(
        technique=technique,
        reason=reason,
        planned_on=planned_on,
        replacement=replacement,
        explanation=explanation,
        call_for_owners=call_for_owners,
        started_by=user,
    )
    technique.stage = Stage.DEPRECATING
    technique_save(
        technique,
        user=user,
        note=f"Deprecation started: {deprecation.get_reason_display().lower()}",
    )
    return deprecation


def interest_submit(deprecation: Deprecation, user, message: str) -> OwnerInterest:
    if not user.is_authenticated:
        raise PermissionDenied("Sign in to offer help.")
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Say how you can help (experience, time you can give)."})
    if len(message) > 2000:
        raise ValidationError({"message": "Keep it under 2000 characters."})
    try:
        with transaction.atomic():
            return OwnerInterest.objects.create(deprecation=deprecation, user=user, message=message)
    except IntegrityError:
        raise ValidationError("You have already offered to help with this technique.") from None


def interest_moderate(interest: OwnerInterest, user, approve: bool) -> OwnerInterest:
    MODERATE.check(user)
    interest.status = OwnerInterest.Status.APPROVED if approve else OwnerInterest.Status.REJECTED
    interest.moderated_by = user
    interest.save(update_fields=["status", "moderated_by"])
    return interest


# --- TOS changes ---------------------------------------------------------------------


def tos_change_request(
    technique: Technique, user, to_level: str, justification: str
) -> TOSChangeRequest:
    REQUEST_TOS.check(user, technique)
    if to_level == technique.tos_level or to_level not in TOSLevel.values:
        raise ValidationError(
            {"to_level": f"The technique already has the {technique.tos_level} TOS."}
        )
    if not (justification or "").strip():
        raise ValidationError({"justification": "Explain why the terms of service should change."})
    if technique.tos_requests.filter(status=TOSChangeRequest.Status.PENDING).exists():
        raise ValidationError("A TOS change request is already pending for this technique.")
    return TOSChangeRequest.objects.create(
        technique=technique,
        to_level=to_level,
        justification=within_limit(TOSChangeRequest, "justification", justification.strip()),
        requested_by=user,
    )


@transaction.atomic
def tos_change_decide(
    request: TOSChangeRequest, user, approve: bool, note: str = "", now: datetime | None = None
) -> TOSChangeRequest:
    """Approval switches the TOS now; the history records when, so the new level's
    duties count from this moment (fact "tos_since")."""
    DECIDE_TOS.check(user, request)
    if request.status != TOSChangeRequest.Status.PENDING:
        raise ValidationError("This request was already decided.")
    now = now or timezone.now()
    request.status = (
        TOSChangeRequest.Status.APPROVED if approve else TOSChangeRequest.Status.REJECTED
    )
    request.decided_by, request.decided_at, request.decision_note = (
        user,
        now,
        within_limit(TOSChangeRequest, "decision_note", note),
    )
    request.save()
    if approve:
        technique = request.technique
        technique.tos_level = request.to_level
        for change in technique_save(
            technique, user=user, note=f"TOS change approved: {request.justification[:200]}"
        ):
            change.changed_at = now
            change.save(update_fields=["changed_at"])
    return request


# --- ownership on GitHub -----------------------------------------------------------------


def parse_codeowners(text: str) -> dict[str, list[str]]:
    entries = {}
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        entries[pattern if pattern.startswith("/") else "/" + pattern] = owners
    return entries


def codeowners_drift(
    registry: dict[str, list[str]],
    repository: dict[str, list[str]],
    patterns: list[str],
    teams: dict[str, set[str]] | None = None,
) -> tuple[list, list]:
    """(missing, extra) for the given patterns: owners the registry names that the file
    lacks, and owners the file names that the registry does not. A team the file names
    covers its members (``teams``: "@org/slug" → {"@login"}, lower case)."""
    teams = teams or {}
    missing, extra = [], []
    for pattern in patterns:
        wanted = [o.lower() for o in registry.get(pattern, [])]
        present = [o.lower() for o in repository.get(pattern, [])]
        covered = set(present).union(*(teams.get(o, set()) for o in present))
        lacking = [o for o in wanted if o not in covered]
        surplus = [o for o in present if o not in wanted]
        if lacking:
            missing.append({"pattern": pattern, "owners": lacking})
        if surplus:
            extra.append({"pattern": pattern, "owners": surplus})
    return missing, extra


def ownership_check(client=None, now: datetime | None = None) -> int:
    """Check triage access and CODEOWNERS for every technique; store the results."""
    now = now or timezone.now()
    techniques = list(Technique.objects.for_pages())
    registry = codeowners_entries(techniques)
    repository, permissions, error = _ownership_on_github(client or GitHubClient(), techniques)
    # Nothing to compare when the file could not be read or is not there.
    unread_codeowners = error.startswith("CODEOWNERS") or repository is None
    teams = _team_members(techniques)
    earlier = {c.technique_id: c for c in OwnershipCheck.objects.filter(technique__in=techniques)}
    for technique in techniques:
        logins = (
            [m.github_login for m in technique.owner_group.active_maintainers]
            if technique.owner_group
            else []
        )
        check = earlier.get(technique.pk) or OwnershipCheck(technique=technique)
        check.checked_at, check.error = now, fit(OwnershipCheck, "error", error)
        check.has_codeowners = repository is not None
        check.permissions = {login: permissions.get(login) for login in logins}
        check.triage_lacking_since = _first_seen(
            bool(check.lacking_triage), check.triage_lacking_since, now
        )
        if unread_codeowners:  # no drift found; none cleared unless there is no file
            check.missing_in_codeowners, check.extra_in_codeowners = [], []
            if repository is None:
                check.codeowners_drift_since = None
        else:
            patterns = [g if g.startswith("/") else "/" + g for g in technique.path_globs]
            check.missing_in_codeowners, check.extra_in_codeowners = codeowners_drift(
                registry, repository or {}, patterns, teams
            )
            check.codeowners_drift_since = _first_seen(
                check.drifts, check.codeowners_drift_since, now
            )
        check.save()
    evaluation_request(techniques)  # the ownership rules read these checks
    return len(techniques)


def _ownership_on_github(client, techniques) -> tuple[dict | None, dict[str, str | None], str]:
    """The repository's CODEOWNERS entries (None: the repository has no CODEOWNERS), each
    active maintainer's permission, and the first error (prefixed "CODEOWNERS:" when the
    file could not be read)."""
    repository: dict | None
    try:
        text = client.file_contents(".github/CODEOWNERS")
        repository, error = (None if text is None else parse_codeowners(text)), ""
    except GitHubError as failure:
        repository, error = {}, f"CODEOWNERS: {failure}"
    permissions: dict[str, str | None] = {}
    for login in {
        m.github_login
        for t in techniques
        if t.owner_group
        for m in t.owner_group.active_maintainers
    }:
        try:
            permissions[login] = client.collaborator_permission(login)
        except GitHubError as failure:
            error = error or f"Permissions: {failure}"
            permissions[login] = None
    return repository, permissions, error


def _team_members(techniques) -> dict[str, set[str]]:
    """Each GitHub team a group names ("@org/slug") → its members ("@login"), lower case.
    The team sync keeps such a group's maintainers equal to the team's members, so
    a CODEOWNERS line naming the team names them all."""
    return {
        f"@{t.owner_group.github_team}".lower(): {
            f"@{m.github_login}".lower() for m in t.owner_group.active_maintainers
        }
        for t in techniques
        if t.owner_group and t.owner_group.github_team
    }


def _first_seen(found: bool, seen_since: datetime | None, now: datetime) -> datetime | None:
    """When a finding was first seen: kept while it lasts, ``now`` when it is new."""
    return (seen_since or now) if found else None

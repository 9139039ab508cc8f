"""Registry rules: ownership, label, maintainers, API tests (docs/architecture.md)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from adherence.engine import BOTH, PRODUCTION, Result, Severity, register_facts, register_rule
from techniques.models import Maintainer, Stage

NO_GITHUB_DATA = "No GitHub data yet: the repository has not been synced."


@register_facts("active_maintainers")
def load_active_maintainers(techniques, now):
    """Active maintainer logins per technique, from one query."""
    by_group: dict[int, list[str]] = {}
    group_ids = {t.owner_group_id for t in techniques if t.owner_group_id}
    for group_id, login in Maintainer.objects.filter(
        group_id__in=group_ids, status=Maintainer.Status.ACTIVE
    ).values_list("group_id", "github_login"):
        by_group.setdefault(group_id, []).append(login)
    return {t.pk: sorted(by_group.get(t.owner_group_id, [])) for t in techniques}


@register_rule(
    id="owner-group",
    title="Has an owner group",
    applies_to=BOTH,
    severity=Severity.HIGH,
    source="A group name is required",
)
def owner_group(technique, facts):
    if technique.owner_group_id and technique.owner_group.name.strip():
        return Result.passed(f"Owned by {technique.owner_group.name}.")
    return Result.failed("No owner group: the policy requires a named group.")


@register_rule(
    id="two-maintainers",
    title="2+ active maintainers",
    applies_to=BOTH,
    severity=Severity.HIGH,
    source="The group of maintainers must also be 2+",
)
def two_maintainers(technique, facts):
    logins = facts.get("active_maintainers", [])
    if len(logins) >= 2:
        return Result.passed(f"{len(logins)} active maintainers.", maintainers=logins)
    return Result.failed(
        f"{len(logins)} active maintainer{'s' if len(logins) != 1 else ''}; the policy asks for 2+.",
        maintainers=logins,
    )


@register_rule(
    id="maintainers-active",
    title="Maintainers active on the repository",
    applies_to=BOTH,
    severity=Severity.LOW,
    source="Owners must be able to act as owners",
)
def maintainers_active(technique, facts):
    # The GitHub sync provides "maintainer_activity" ({login: last activity or None})
    # and "repo_labels" (None until the repository was synced).
    activity = facts.get("maintainer_activity")
    if facts.get("repo_labels") is None or activity is None:
        return Result.not_applicable(NO_GITHUB_DATA)
    if not activity:
        return Result.failed("No active maintainer to check.")
    months = settings.ADHERENCE["MAINTAINER_IDLE_MONTHS"]
    cutoff = facts.now - timedelta(days=round(months * 30.44))
    idle = sorted(login for login, last in activity.items() if last is None or last < cutoff)
    if idle:
        return Result.failed(
            f"No activity on the repository for {months} months: "
            + ", ".join(f"@{login}" for login in idle),
            links=[{"title": f"@{login}", "url": f"https://github.com/{login}"} for login in idle],
            idle=idle,
            last_activity={k: v.isoformat() if v else None for k, v in activity.items()},
        )
    return Result.passed(f"All {len(activity)} maintainers active within {months} months.")


@register_rule(
    id="technique-label",
    title="Has its own GitHub label",
    applies_to=BOTH,
    severity=Severity.MEDIUM,
    source="Each technique has its own Github label",
)
def technique_label(technique, facts):
    if not technique.label:
        return Result.failed("No GitHub label.")
    repo_labels = facts.get("repo_labels")
    if repo_labels is not None and technique.label not in repo_labels:
        return Result.failed(
            f"The label '{technique.label}' does not exist on the repository.",
            label=technique.label,
        )
    where = "exists on the repository" if repo_labels is not None else "not checked on GitHub yet"
    return Result.passed(f"Label '{technique.label}' ({where}).", label=technique.label)


@register_rule(
    id="api-tests",
    title="Public API testing within 3 months of launch",
    applies_to=PRODUCTION,
    stages=(Stage.LAUNCHED, Stage.DEPRECATING),
    severity=Severity.MEDIUM,
    source="comprehensive public API testing ... within 3 months of initial launch",
)
def api_tests(technique, facts):
    if technique.api_tests_confirmed_on:
        return Result.passed(f"Confirmed on {technique.api_tests_confirmed_on.isoformat()}.")
    months = settings.ADHERENCE["API_TESTS_MONTHS"]
    elapsed = technique.months_since_launch(facts.now.date())
    if elapsed is None:
        return Result.not_applicable("No launch date.")
    if elapsed <= months:
        return Result.passed(f"Launched {elapsed} months ago; due within {months} months.")
    return Result.failed(
        f"Launched {elapsed} months ago and comprehensive public API testing is not confirmed.",
        launch_date=technique.launch_date.isoformat(),
    )

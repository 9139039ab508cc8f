"""Registry rules: ownership, label, maintainers, API tests.

Each failing result says since when the duty is missed (``Result.since``), from its
evidence and never before the duty began (``Facts.counts_from``).
"""

from __future__ import annotations

import calendar
from datetime import timedelta

from django.conf import settings
from django.db.models import Max

from adherence.engine import (
    Result,
    day_start,
    register_facts,
    register_rule,
)
from techniques.models import MIN_MAINTAINERS, Maintainer, Technique, TechniqueChange

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


@register_facts("ownership_changed_at")
def load_ownership_changes(techniques, now):
    """The last recorded change of each technique's owner group or maintainers."""
    return dict(
        TechniqueChange.objects.filter(
            technique__in=[t.pk for t in techniques], field__in=["owner_group", "maintainers"]
        )
        .values("technique_id")
        .annotate(at=Max("changed_at"))
        .values_list("technique_id", "at")
    )


@register_facts("label_users")
def load_label_users(techniques, now):
    """{label: [technique slugs]} over the whole registry (a label is shared or not
    whatever the techniques being evaluated), the same mapping for every technique."""
    users: dict[str, list[str]] = {}
    for slug, labels in Technique.objects.order_by("slug").values_list("slug", "github_labels"):
        for label in dict.fromkeys(labels or []):
            users.setdefault(label, []).append(slug)
    return {t.pk: users for t in techniques}


def ownership_since(technique, facts):
    """A missing owner or maintainer dates from the last ownership change, else from the
    technique's launch (or registration): the duty holds from then on."""
    changed = facts.get("ownership_changed_at")
    start = facts.since_start(technique)
    return facts.counts_from(max(changed, start)) if changed else start


@register_rule("owner-group")
def owner_group(technique, facts):
    if technique.owner_group_id and technique.owner_group.name.strip():
        return Result.passed(f"Owned by {technique.owner_group.name}.")
    return Result.failed(
        "No owner group: the policy requires a named group.",
        since=ownership_since(technique, facts),
    )


@register_rule("two-maintainers")
def two_maintainers(technique, facts):
    logins = facts.get("active_maintainers", [])
    if len(logins) >= MIN_MAINTAINERS:
        return Result.passed(f"{len(logins)} active maintainers.", maintainers=logins)
    return Result.failed(
        f"{len(logins)} active maintainer{'s' if len(logins) != 1 else ''}; "
        f"the policy asks for {MIN_MAINTAINERS}+.",
        since=ownership_since(technique, facts),
        maintainers=logins,
    )


@register_rule("maintainers-active")
def maintainers_active(technique, facts):
    """Judges two facts of the GitHub sync: "maintainer_activity" ({login: last activity
    or None}) and "repo_labels" (None until the repository was synced)."""
    activity = facts.get("maintainer_activity")
    if facts.get("repo_labels") is None or activity is None:
        return Result.not_applicable(NO_GITHUB_DATA)
    if not activity:
        return Result.failed(
            "No active maintainer to check.", since=ownership_since(technique, facts)
        )
    months = settings.ADHERENCE["MAINTAINER_IDLE_MONTHS"]
    idle_after = timedelta(days=round(months * 30.44))
    cutoff = facts.now - idle_after
    idle = sorted(login for login, last in activity.items() if last is None or last < cutoff)
    if not idle:
        return Result.passed(f"All {len(activity)} maintainers active within {months} months.")
    # The first maintainer to go idle did so idle_after their last activity; one never
    # seen active counts from when the duty began.
    start = facts.since_start(technique)
    went_idle = [activity[login] + idle_after if activity[login] else start for login in idle]
    return Result.failed(
        f"No activity on the repository for {months} months: "
        + ", ".join(f"@{login}" for login in idle),
        links=[{"title": f"@{login}", "url": f"https://github.com/{login}"} for login in idle],
        since=facts.counts_from(max(min(went_idle), start)),
        idle=idle,
        last_activity={k: v.isoformat() if v else None for k, v in activity.items()},
    )


@register_rule("technique-label")
def technique_label(technique, facts):
    """Every label of the technique is its own (no other technique carries it) and exists
    on the repository (once the repository is synced)."""
    since = facts.since_start(technique)
    if not technique.label:
        return Result.failed("No GitHub label.", since=since)
    users = facts.get("label_users", {})
    shared = {
        label: [slug for slug in users.get(label, []) if slug != technique.slug]
        for label in technique.github_labels
    }
    shared = {label: others for label, others in shared.items() if others}
    if shared:
        return Result.failed(
            "Shared with other techniques: "
            + "; ".join(f"'{label}' also labels {', '.join(o)}" for label, o in shared.items())
            + ". The policy asks for a label of its own.",
            since=since,
            label=technique.label,
            shared_with=shared,
        )
    repo_labels = facts.get("repo_labels")
    missing = [label for label in technique.github_labels if label not in (repo_labels or [])]
    if repo_labels is not None and missing:
        return Result.failed(
            f"The label{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"'{label}'" for label in missing)
            + (" do not" if len(missing) > 1 else " does not")
            + " exist on the repository.",
            first_seen=True,
            label=technique.label,
            missing=missing,
        )
    where = "exists on the repository" if repo_labels is not None else "not checked on GitHub yet"
    return Result.passed(f"Label '{technique.label}' ({where}).", label=technique.label)


@register_rule("api-tests")
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
        since=facts.counts_from(day_start(_add_months(technique.launch_date, months))),
        launch_date=technique.launch_date.isoformat(),
    )


def _add_months(day, months: int):
    """The same day ``months`` later (clamped to the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )

"""Lifecycle rules: triage access, CODEOWNERS drift, owners sought before deprecating.
Also the "tos_since" fact: when each technique's current TOS level took effect."""

from __future__ import annotations

from django.db.models import Max

from adherence.engine import (
    Result,
    register_fact_rule,
    register_facts,
    register_rule,
)
from lifecycle.models import Deprecation, OwnerInterest, OwnershipCheck
from techniques.models import TechniqueChange

NO_CHECK = "No GitHub ownership check has run yet."
# The policy asks that attribution happen on GitHub per subpackage; a repository without
# CODEOWNERS attributes by labels (.github/labeler.yml puts them on PRs by path), which
# technique-label checks, so there is no file to drift from the registry.
NO_CODEOWNERS = (
    "The repository has no CODEOWNERS file: attribution is by labels "
    "(.github/labeler.yml), which technique-label checks."
)


@register_facts("tos_since")
def load_tos_since(techniques, now):
    """The last recorded TOS change per technique (None: the level it always had)."""
    return dict(
        TechniqueChange.objects.filter(technique__in=[t.pk for t in techniques], field="tos_level")
        .values("technique_id")
        .annotate(at=Max("changed_at"))
        .values_list("technique_id", "at")
    )


@register_facts("ownership_check")
def load_checks(techniques, now):
    checks = {
        c.technique_id: c
        for c in OwnershipCheck.objects.filter(technique__in=[t.pk for t in techniques])
    }
    return {t.pk: checks.get(t.pk) for t in techniques}


@register_facts("deprecation")
def load_deprecations(techniques, now):
    found = {
        d.technique_id: d
        for d in Deprecation.objects.filter(
            technique__in=[t.pk for t in techniques]
        ).prefetch_related("interests")
    }
    return {t.pk: found.get(t.pk) for t in techniques}


def _since_first_found(facts, seen_since):
    """Since the first ownership check that found the problem (GitHub keeps no history of
    access or of when CODEOWNERS drifted from the registry); never before the duty began."""
    return facts.counts_from(seen_since or facts["ownership_check"].checked_at)


def ownership_rule(rule_id: str, unread):
    """``register_rule`` for a rule judging the last ownership check: N/A while none has
    run, or while it could not read what the rule judges (``unread(check)``; its error
    is the reason)."""

    def missing(check):
        if check is None:
            return NO_CHECK
        return check.error if unread(check) else None

    return register_fact_rule(rule_id, "ownership_check", missing)


@ownership_rule("maintainers-triage", unread=lambda check: check.error and not check.permissions)
def maintainers_triage(technique, facts):
    check = facts["ownership_check"]
    permissions, lacking = check.permissions, check.lacking_triage
    if lacking:
        return Result.failed(
            "Without triage access: "
            + ", ".join(
                f"@{login} ({permissions[login] or 'not a collaborator'})" for login in lacking
            ),
            since=_since_first_found(facts, check.triage_lacking_since),
            permissions=permissions,
        )
    return Result.passed(f"{len(permissions)} maintainers hold triage access or more.")


@ownership_rule("codeowners-drift", unread=lambda check: check.error.startswith("CODEOWNERS"))
def codeowners_drift_rule(technique, facts):
    if not technique.path_globs:
        return Result.not_applicable("The technique lists no paths.")
    check = facts["ownership_check"]
    if not check.has_codeowners:
        return Result.not_applicable(NO_CODEOWNERS)
    if check.drifts:
        parts = [
            f"missing {', '.join(e['owners'])} on {e['pattern']}"
            for e in check.missing_in_codeowners
        ]
        parts += [
            f"not in the registry: {', '.join(e['owners'])} on {e['pattern']}"
            for e in check.extra_in_codeowners
        ]
        return Result.failed(
            "CODEOWNERS drifts: " + "; ".join(parts),
            links=[{"title": "Corrected CODEOWNERS", "url": "/owners/CODEOWNERS"}],
            since=_since_first_found(facts, check.codeowners_drift_since),
            missing=check.missing_in_codeowners,
            extra=check.extra_in_codeowners,
        )
    return Result.passed("CODEOWNERS names the technique's paths with its owners.")


@register_rule("deprecation-owners")
def deprecation_owners(technique, facts):
    deprecation = facts.get("deprecation")
    if deprecation is None:
        return Result.failed(
            "Deprecating without a recorded deprecation (reason, date).",
            since=facts.since_start(technique),
        )
    if deprecation.reason != Deprecation.Reason.LACK_OF_PEOPLE:
        return Result.passed(f"Deprecated because: {deprecation.get_reason_display().lower()}.")
    if not deprecation.call_for_owners:
        return Result.failed(
            "Deprecating for lack of people, and no call for owners is open.",
            since=facts.counts_from(deprecation.started_at),
        )
    listed = sum(
        1 for i in deprecation.interests.all() if i.status == OwnerInterest.Status.APPROVED
    )
    return Result.passed(f"A call for owners is open ({listed} offer(s) listed).")

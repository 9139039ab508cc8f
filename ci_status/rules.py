"""Adherence rules and fact loaders backed by the GitHub sync (docs/architecture.md).

Fact loaders (every technique at once, a fixed number of queries):
- "community": ``community.Figures`` per technique;
- "repo_labels": the set of label names on the synced repository, None if never synced;
- "maintainer_activity": {login: last_activity_at} of the technique's maintainers;
- "ci_default_branch": the CI state of the default branch (repository-wide);
- "release_facts": the latest release, its notes and the labeled PRs it shipped;
- "api_changes": merged PRs touching the technique's public API paths, with their
  ``api-review`` label and approvals.

With no GitHub data yet, every rule here answers N/A "no GitHub data yet", never a pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q

from adherence.engine import Result, register_fact_rule, register_facts
from adherence.rules import NO_GITHUB_DATA
from ci_status.community import name_terms, path_matches
from ci_status.models import CIRun, Issue, Label, Release
from ci_status.selectors import community_figures, primary_repository
from techniques.models import Maintainer

API_REVIEW_LABEL = "api-review"
TFMOT_GROUP = "tf-mot"
API_REVIEW_DAYS = 180
CI_LOOKBACK_DAYS = 30
API_ROOT = "tensorflow_model_optimization/python/core/api/"


def _same(techniques, value):
    return {t.pk: value for t in techniques}


# --- fact loaders --------------------------------------------------------------------
@register_facts("community")
def load_community(techniques, now):
    return community_figures(techniques, now)


@register_facts("repo_labels")
def load_repo_labels(techniques, now):
    repository = primary_repository()
    if not repository or not repository.last_synced_at:
        return _same(techniques, None)
    names = set(Label.objects.filter(repository=repository).values_list("name", flat=True))
    return _same(techniques, names)


@register_facts("maintainer_activity")
def load_maintainer_activity(techniques, now):
    by_group: dict[int, dict] = {}
    group_ids = {t.owner_group_id for t in techniques if t.owner_group_id}
    for group_id, login, last in Maintainer.objects.filter(
        group_id__in=group_ids, status=Maintainer.Status.ACTIVE
    ).values_list("group_id", "github_login", "last_activity_at"):
        by_group.setdefault(group_id, {})[login] = last
    return {t.pk: dict(by_group.get(t.owner_group_id, {})) for t in techniques}


@dataclass
class CIState:
    synced: bool
    branch: str = ""
    red: list[dict] = field(default_factory=list)  # {"workflow", "since", "url"}
    workflows: int = 0


# The runs the CI rule judges: completed runs of the default branch started by these events.
CI_EVENTS = ("push", "schedule", "workflow_dispatch")


def run_is_judged(repository, run: Mapping[str, Any]) -> bool:
    """Whether the CI rule reads this workflow run (as a webhook carries it): completed,
    on the repository's default branch, started by a push, a schedule or a dispatch, with
    a conclusion that counts, and not a convergence workflow (those have their own rules).
    Any other run changes no rule result."""
    return (
        run.get("status") == CIRun.Status.COMPLETED
        and run.get("head_branch") == repository.default_branch
        and run.get("event") in CI_EVENTS
        and run.get("conclusion") not in CIRun.SILENT_CONCLUSIONS
        and "convergence" not in str(run.get("name") or "").lower()
    )


def _judged_runs(repository, now):
    return (
        CIRun.objects.filter(
            repository=repository,
            provider="github-actions",
            branch=repository.default_branch,
            status=CIRun.Status.COMPLETED,
            event__in=CI_EVENTS,
            created_at__gte=now - timedelta(days=CI_LOOKBACK_DAYS),
        )
        .exclude(conclusion__in=CIRun.SILENT_CONCLUSIONS)
        # Convergence workflows have their own rules (convergence-green, -fresh).
        .exclude(workflow__icontains="convergence")
    )


@register_facts("ci_default_branch")
def load_ci(techniques, now):
    """The default branch's red workflows, the same for every technique. Read from the
    runs of the last CI_LOOKBACK_DAYS (21,575 at scale 1), kept in the cache under their
    fingerprint (how many, the newest row, the oldest and newest times): an evaluation
    of one technique after a webhook pays one aggregate query, not the whole history,
    and any run that arrives, completes or leaves the window makes a new fingerprint."""
    repository = primary_repository()
    if not repository or not repository.last_synced_at:
        return _same(techniques, CIState(synced=False))
    runs = _judged_runs(repository, now)
    fingerprint = runs.aggregate(
        n=Count("pk"), last=Max("pk"), new=Max("created_at"), old=Min("created_at")
    )
    text = "{}:{}:{n}:{last}:{new}:{old}".format(
        repository.pk, repository.default_branch, **fingerprint
    )
    key = "ci-state:" + hashlib.sha256(text.encode()).hexdigest()
    state = cache.get(key)
    if state is None:
        state = _ci_state(repository, runs)
        cache.set(key, state, 3600)
    return _same(techniques, state)


def _ci_state(repository, judged) -> CIState:
    state = CIState(synced=True, branch=repository.default_branch)
    runs = judged.order_by("workflow", "-created_at", "-attempt").values(
        "workflow", "conclusion", "created_at", "html_url", "run_id"
    )
    by_workflow: dict[str, list[Mapping[str, Any]]] = {}
    seen_runs = set()
    for run in runs:
        if (run["workflow"], run["run_id"]) in seen_runs:
            continue  # an older attempt of a run already counted
        seen_runs.add((run["workflow"], run["run_id"]))
        by_workflow.setdefault(run["workflow"], []).append(run)
    state.workflows = len(by_workflow)
    for workflow, history in by_workflow.items():
        streak: list[Mapping[str, Any]] = []
        for past in history:  # newest first
            if past["conclusion"] in CIRun.FAILED_CONCLUSIONS:
                streak.append(past)
            else:
                break
        if streak:
            state.red.append(
                {
                    "workflow": workflow,
                    "since": streak[-1]["created_at"],
                    "url": streak[0]["html_url"],
                }
            )
    return state


@dataclass
class ReleaseFacts:
    synced: bool
    release: Mapping[str, Any] | None = None  # {"tag", "notes", "published_at", "url"}
    previous_at: datetime | None = None
    merged: list[Mapping[str, Any]] = field(default_factory=list)  # merged PRs in the release


@register_facts("release_facts")
def load_release_facts(techniques, now):
    repository = primary_repository()
    if not repository or not repository.last_synced_at:
        return _same(techniques, ReleaseFacts(synced=False))
    releases = list(
        Release.objects.filter(repository=repository, prerelease=False, published_at__isnull=False)
        .order_by("-published_at")
        .values("tag", "notes", "published_at", "html_url")[:2]
    )
    if not releases:
        return _same(techniques, ReleaseFacts(synced=True))
    latest = releases[0]
    previous_at = releases[1]["published_at"] if len(releases) > 1 else None
    in_release = Issue.objects.filter(
        repository=repository, kind=Issue.Kind.PR, merged_at__lte=latest["published_at"]
    )
    if previous_at:
        in_release = in_release.filter(merged_at__gt=previous_at)
    merged = list(in_release.values("number", "title", "labels", "html_url", "merged_at"))
    facts = {}
    for t in techniques:
        labels = set(t.github_labels or [])
        facts[t.pk] = ReleaseFacts(
            synced=True,
            release=latest,
            previous_at=previous_at,
            merged=[pr for pr in merged if labels & set(pr["labels"])],
        )
    return facts


def api_paths(technique) -> list[str]:
    """The technique's public API paths: its /api/ globs, and the module of public_api."""
    paths = [g for g in technique.path_globs or [] if "/api/" in g]
    module = (technique.public_api or "").strip()
    if module.startswith("tfmot."):
        paths.append(API_ROOT + module[len("tfmot.") :].replace(".", "/") + "/")
    return paths


@dataclass
class APIChanges:
    synced: bool
    unapproved: list[Mapping[str, Any]] = field(default_factory=list)
    approved: int = 0
    window_days: int = API_REVIEW_DAYS


@register_facts("api_changes")
def load_api_changes(techniques, now):
    repository = primary_repository()
    if not repository or not repository.last_synced_at:
        return _same(techniques, APIChanges(synced=False))
    tfmot = {
        login.lower()
        for login in Maintainer.objects.filter(
            Q(group__slug=TFMOT_GROUP) | Q(group__github_team__iendswith="/" + TFMOT_GROUP),
            status=Maintainer.Status.ACTIVE,
        ).values_list("github_login", flat=True)
    }
    prs = list(
        Issue.objects.filter(
            repository=repository,
            kind=Issue.Kind.PR,
            merged_at__gte=now - timedelta(days=API_REVIEW_DAYS),
            files__isnull=False,
        ).values("number", "title", "labels", "html_url", "files", "approved_by", "merged_at")
    )
    facts = {}
    for t in techniques:
        paths = api_paths(t)
        changes = APIChanges(synced=True)
        for pr in prs:
            if not any(path_matches(f, p) for f in pr["files"] or [] for p in paths):
                continue
            approved = API_REVIEW_LABEL in pr["labels"] or any(
                login.lower() in tfmot for login in pr["approved_by"] or []
            )
            if approved:
                changes.approved += 1
            else:
                changes.unapproved.append(pr)
        facts[t.pk] = changes
    return facts


# --- rules ---------------------------------------------------------------------------
def unsynced(value) -> str | None:
    """Why a fact of the GitHub sync cannot be judged: the repository was never synced."""
    return NO_GITHUB_DATA if value is None or not value.synced else None


def github_rule(rule_id: str, fact: str):
    """``register_rule`` for a rule judging ``fact``, a fact of the GitHub sync: N/A "no
    GitHub data yet" until the repository is synced."""
    return register_fact_rule(rule_id, fact, unsynced)


def _links(items, limit=10):
    return [{"title": f"#{i.number} {i.title}", "url": i.url} for i in items[:limit]]


class WaitingRule(NamedTuple):
    """A rule on items of the community figures that must not wait past a threshold."""

    id: str  # its entry in adherence/rules.toml
    items: str  # the waiting items, Figures.<items> (past the threshold: <items>_overdue)
    days: str  # the threshold in days, Figures.<days>
    failed: str  # what a failure says: {count} overdue items, {days}, {label}
    passed: str  # what a pass says: {count} items waiting within the limit, {days}, {label}
    evidence: tuple[str, str]  # the keys of the overdue items and of that count

    def judge(self, technique, facts) -> Result:
        """Fails on the items still overdue when the wait counts only from the day the duty
        began (after a switch to the production TOS, the time before it does not count),
        since the oldest one's wait ran out."""
        f = facts["community"]
        days = getattr(f, self.days)
        limit = timedelta(days=days)
        overdue = [
            i
            for i in getattr(f, f"{self.items}_overdue")
            if facts.now - facts.counts_from(i.created_at) > limit
        ]
        overdue_key, waiting_key = self.evidence
        if overdue:
            evidence: dict[str, Any] = {overdue_key: [i.as_dict() for i in overdue]}
            return Result.failed(
                self.failed.format(count=len(overdue), days=days, label=technique.label),
                links=_links(overdue),
                since=facts.counts_from(min(i.created_at for i in overdue)) + limit,
                threshold_days=days,
                **evidence,
            )
        waiting = len(getattr(f, self.items))
        return Result.passed(
            self.passed.format(count=waiting, days=days, label=technique.label),
            **{waiting_key: waiting},
        )


WAITING_RULES = (
    WaitingRule(
        "questions-answered",
        "unanswered",
        "response_days",
        "{count} issue(s) labeled {label} waited more than {days} days for a maintainer's "
        "first response.",
        "No issue waits more than {days} days for a maintainer's first response ({count} "
        "open without a response yet, within the limit).",
        ("issues", "unanswered"),
    ),
    WaitingRule(
        "prs-reviewed",
        "prs_waiting",
        "review_days",
        "{count} PR(s) labeled {label} waited more than {days} days for a review.",
        "No PR waits more than {days} days for review ({count} waiting within the limit).",
        ("pulls", "waiting"),
    ),
    WaitingRule(
        "unlabeled-triage",
        "unlabeled",
        "unlabeled_days",
        "{count} unlabeled item(s) older than {days} days touch the technique's paths or "
        "name it; they probably need {label}.",
        "No unlabeled item older than {days} days belongs to this technique.",
        ("items", "recent"),
    ),
)
for waiting in WAITING_RULES:
    github_rule(waiting.id, fact="community")(waiting.judge)


@github_rule("release-notes", fact="release_facts")
def release_notes(technique, facts):
    f = facts["release_facts"]
    if not f.release:
        return Result.not_applicable("No release has been published yet.")
    tag = f.release["tag"]
    if not f.merged:
        return Result.passed(f"{tag} shipped no PR labeled {technique.label}.")
    notes = (f.release["notes"] or "").lower()
    terms = name_terms(technique) + [label.lower() for label in technique.github_labels or []]
    if any(term in notes for term in terms):
        return Result.passed(f"{tag}'s notes mention the technique.", release=tag)
    return Result.failed(
        f"{tag} shipped {len(f.merged)} PR(s) labeled {technique.label} but its notes do "
        f"not mention the technique.",
        links=[{"title": f"Release {tag}", "url": f.release["html_url"]}]
        + [
            {"title": f"#{pr['number']} {pr['title']}", "url": pr["html_url"]}
            for pr in f.merged[:5]
        ],
        since=facts.counts_from(f.release["published_at"]),
        release=tag,
        pulls=[pr["number"] for pr in f.merged],
    )


@github_rule("api-review", fact="api_changes")
def api_review(technique, facts):
    f = facts["api_changes"]
    if f.unapproved:
        return Result.failed(
            f"{len(f.unapproved)} merged PR(s) in the last {f.window_days} days changed the "
            f"public API without the {API_REVIEW_LABEL} label or a TFMOT approval.",
            links=[
                {"title": f"#{pr['number']} {pr['title']}", "url": pr["html_url"]}
                for pr in f.unapproved[:10]
            ],
            since=facts.counts_from(min(pr["merged_at"] for pr in f.unapproved)),
            pulls=[pr["number"] for pr in f.unapproved],
        )
    return Result.passed(
        f"Every public API change in the last {f.window_days} days was approved "
        f"({f.approved} change(s)).",
        approved=f.approved,
    )


@github_rule("ci-green", fact="ci_default_branch")
def ci_green(technique, facts):
    limit = timedelta(hours=settings.ADHERENCE["CI_RED_HOURS"])
    state = facts["ci_default_branch"]
    if not state.workflows:
        return Result.not_applicable(
            f"No CI run on {state.branch} in the last {CI_LOOKBACK_DAYS} days."
        )
    too_long = [red for red in state.red if facts.now - red["since"] > limit]
    if too_long:
        return Result.failed(
            "CI has been failing on "
            + state.branch
            + " for more than "
            + f"{settings.ADHERENCE['CI_RED_HOURS']} hours: "
            + ", ".join(f"{r['workflow']} since {r['since']:%Y-%m-%d %H:%M} UTC" for r in too_long),
            links=[{"title": r["workflow"], "url": r["url"]} for r in too_long],
            since=facts.counts_from(min(r["since"] for r in too_long)) + limit,
            red=[{"workflow": r["workflow"], "since": r["since"].isoformat()} for r in too_long],
        )
    if state.red:
        return Result.passed(
            f"CI on {state.branch} is red for less than "
            f"{settings.ADHERENCE['CI_RED_HOURS']} hours.",
            red=[r["workflow"] for r in state.red],
        )
    return Result.passed(f"CI is green on {state.branch}.")

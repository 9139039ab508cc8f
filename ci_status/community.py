"""Community figures per technique, from the synced GitHub data (docs/architecture.md).

``community_figures(techniques, now)`` computes every technique's figures in a fixed
number of queries (four), whatever the number of techniques or items; the technique
panel, the adherence rules and the reviews' evidence all call it.

Time to first response (after CHAOSS): the first comment or review by a listed
maintainer of the technique, or of another technique sharing its label (any repository
member when none is listed), bots and the author excluded; median and 90th percentile
over the items created in the last WINDOW_DAYS (183);
items still waiting are counted apart. For research techniques, feature requests and PRs
count only where the technique opted in (``accepts_feature_requests``/``accepts_prs``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatch
from statistics import median
from typing import Any, cast

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ci_status.models import Comment, Issue, Repository
from ci_status.upserts import RESPONDER_ASSOCIATIONS
from techniques.models import Maintainer, TOSLevel

# Time to first response is measured over the last half-year: the semi-annual review
# period, and a bounded amount of data whatever the repository's age.
WINDOW_DAYS = 183
FEATURE_LABELS = {"feature request", "enhancement", "type:feature"}


@dataclass
class Item:
    """An issue or PR as the figures show it."""

    number: int
    kind: str
    title: str
    url: str
    created_at: datetime
    waiting_days: int = 0
    labels: list[str] = field(default_factory=list)
    suggested_labels: list[str] = field(default_factory=list)
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "created_at": self.created_at.isoformat(),
            "waiting_days": self.waiting_days,
            "suggested_labels": self.suggested_labels,
            "reason": self.reason,
        }


@dataclass
class Figures:
    synced: bool
    labels: list[str]
    open_issues: int = 0
    open_prs: int = 0
    responded: int = 0
    median_response_hours: float | None = None
    p90_response_hours: float | None = None
    unanswered: list[Item] = field(default_factory=list)  # open, no response yet
    unanswered_overdue: list[Item] = field(default_factory=list)
    prs_waiting: list[Item] = field(default_factory=list)  # open, no review yet
    prs_waiting_overdue: list[Item] = field(default_factory=list)
    unlabeled: list[Item] = field(default_factory=list)  # touch its paths or name it
    unlabeled_overdue: list[Item] = field(default_factory=list)
    excluded_by_tos: list[str] = field(default_factory=list)
    response_days: int = 14
    review_days: int = 14
    unlabeled_days: int = 7

    @property
    def median_response_days(self) -> float | None:
        return None if self.median_response_hours is None else self.median_response_hours / 24

    @property
    def p90_response_days(self) -> float | None:
        return None if self.p90_response_hours is None else self.p90_response_hours / 24


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def path_matches(path: str, glob: str) -> bool:
    """CODEOWNERS-style: "dir/" matches everything below, else an fnmatch pattern."""
    path, glob = path.lstrip("/"), glob.lstrip("/")
    if glob.endswith("/"):
        return path.startswith(glob)
    return fnmatch(path, glob) or path.startswith(glob + "/") or path == glob


def name_terms(technique) -> list[str]:
    """Words that name a technique in an issue's title or body."""
    terms = {technique.public_api.lower(), technique.slug.replace("-", " ")}
    head = technique.name.split(" (")[0].strip().lower()
    if len(head) > 3:
        terms.add(head)
    for label in technique.github_labels or []:
        suffix = label.split(":", 1)[-1].strip().lower()
        if len(suffix) > 2 and suffix != "all":
            terms.add(suffix)
    return sorted(t for t in terms if t)


def name_pattern(terms: list[str]) -> re.Pattern | None:
    """One compiled pattern for all of a technique's terms (compiled once per technique)."""
    if not terms:
        return None
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(t) for t in terms) + r")(?![\w])")


def _mentions(text: str, terms: list[str] | re.Pattern | None) -> str | None:
    pattern = terms if isinstance(terms, re.Pattern) or terms is None else name_pattern(terms)
    if pattern is None:
        return None
    match = pattern.search(text)
    return match.group(1) if match else None


def primary_repository() -> Repository | None:
    return Repository.objects.primary().first()


def community_figures(
    techniques, now: datetime | None = None, response_times: bool = True
) -> dict[int, Figures]:
    """Figures for each technique (by id), in four queries."""
    now = now or timezone.now()
    techniques = list(techniques)
    cfg = settings.ADHERENCE
    thresholds: dict[str, Any] = {
        "response_days": cfg["RESPONSE_DAYS"],
        "review_days": cfg["PR_REVIEW_DAYS"],
        "unlabeled_days": cfg["UNLABELED_DAYS"],
    }
    repository = primary_repository()  # query 1
    synced = bool(repository and repository.last_synced_at)
    result = {
        t.pk: Figures(synced=synced, labels=list(t.github_labels or []), **thresholds)
        for t in techniques
    }
    if not synced or not techniques:
        return result
    horizon = now - timedelta(days=WINDOW_DAYS)
    # Response times need the closed items of the window too; the rules judge only open
    # items, so their loader skips the closed ones (most of a large repository).
    in_scope = Issue.objects.filter(repository=repository).filter(
        Q(state="open") | Q(created_at__gte=horizon) if response_times else Q(state="open")
    )
    # Plain dicts at run time, extended below with the body, files and search text.
    issues: list[dict[str, Any]] = cast(
        Any,
        list(  # query 2
            in_scope.values(
                "number",
                "kind",
                "title",
                "state",
                "labels",
                "author",
                "author_is_bot",
                "created_at",
                "draft",
                "html_url",
            )
        ),
    )
    events: dict[int, list[Mapping[str, Any]]] = {}
    for row in (  # query 3
        Comment.objects.filter(repository=repository, issue_number__in=in_scope.values("number"))
        .order_by("created_at", "id")
        .values(
            "issue_number", "kind", "author", "author_is_bot", "author_association", "created_at"
        )
    ):
        events.setdefault(row["issue_number"], []).append(row)
    group_ids = {t.owner_group_id for t in techniques if t.owner_group_id}
    maintainers: dict[int, set[str]] = {}
    for group_id, login in Maintainer.objects.filter(  # query 4
        group_id__in=group_ids, status=Maintainer.Status.ACTIVE
    ).values_list("group_id", "github_login"):
        maintainers.setdefault(group_id, set()).add(login.lower())
    all_technique_labels = {label for t in techniques for label in (t.github_labels or [])}
    # A label shared by several techniques (technique:qat for QAT, PQAT, CQAT...) is
    # answered when the owners of any of them answered.
    groups_by_label: dict[str, set[int]] = {}
    for t in techniques:
        for label in t.github_labels or []:
            if t.owner_group_id:
                groups_by_label.setdefault(label, set()).add(t.owner_group_id)
    # Index the issues once by label, so each technique reads only its own items plus the
    # open unlabeled ones: cost grows with issues + techniques, not issues x techniques.
    by_label: dict[str, list[dict]] = {}
    unlabeled_open = []
    for issue in issues:
        known = [label for label in issue["labels"] if label in all_technique_labels]
        for label in known:
            by_label.setdefault(label, []).append(issue)
        if not known and issue["state"] == "open":
            unlabeled_open.append(issue)
    # Bodies only where they are read: open items no technique's label claims (query 5).
    details = {
        number: (body, files)
        for number, body, files in Issue.objects.filter(
            repository=repository, number__in=[i["number"] for i in unlabeled_open]
        ).values_list("number", "body_excerpt", "files")
    }
    for issue in unlabeled_open:
        issue["body_excerpt"], issue["files"] = details.get(issue["number"], ("", None))
        issue["_text"] = f"{issue['title']}\n{issue['body_excerpt']}".lower()
    # Unlabeled items a technique may claim: those whose text contains one of its terms
    # (a cheap substring test first; _maybe_unlabeled confirms with the word pattern)
    # and PRs with files (checked against its paths).
    # An inverted index word -> unlabeled items keeps this linear in items + techniques.
    postings: dict[str, set[int]] = {}
    unlabeled_by_number = {i["number"]: i for i in unlabeled_open}
    for issue in unlabeled_open:
        for word in set(re.findall(r"[a-z0-9_]+", issue["_text"])):
            postings.setdefault(word, set()).add(issue["number"])
    technique_terms = {t.pk: name_terms(t) for t in techniques}
    with_files = [i for i in unlabeled_open if i["files"]]
    for technique in techniques:
        own: dict[int, dict] = {}
        for label in technique.github_labels or []:
            for issue in by_label.get(label, []):
                own[issue["number"]] = issue
        terms = technique_terms[technique.pk]
        named = {}
        for term in terms:
            words = re.findall(r"[a-z0-9_]+", term)
            numbers = set.intersection(*(postings.get(w, set()) for w in words)) if words else set()
            named.update({n: unlabeled_by_number[n] for n in numbers})
        named.update({i["number"]: i for i in with_files})
        candidates = sorted(own.values(), key=lambda i: i["number"]) + sorted(
            named.values(), key=lambda i: i["number"]
        )
        groups = {technique.owner_group_id} if technique.owner_group_id else set()
        for label in technique.github_labels or []:
            groups |= groups_by_label.get(label, set())
        responders = set().union(*(maintainers.get(g, set()) for g in groups))
        _figures_for(
            result[technique.pk],
            technique,
            candidates,
            events,
            responders,
            all_technique_labels,
            now,
        )
    return result


def _figures_for(figures, technique, issues, events, maintainers, all_labels, now):
    labels = set(technique.github_labels or [])
    research = technique.tos_level == TOSLevel.RESEARCH
    count_prs = not research or technique.accepts_prs
    count_features = not research or technique.accepts_feature_requests
    if not count_prs:
        figures.excluded_by_tos.append("pull requests")
    if not count_features:
        figures.excluded_by_tos.append("feature requests")
    terms = name_pattern(name_terms(technique))
    globs = list(technique.path_globs or [])

    def responder(event, author: str) -> bool:
        login = event["author"].lower()
        if event["author_is_bot"] or login == author:
            return False
        if maintainers:
            return login in maintainers
        return event["author_association"] in RESPONDER_ASSOCIATIONS

    response_hours = []
    for issue in issues:
        item_labels = set(issue["labels"])
        is_pr = issue["kind"] == Issue.Kind.PR
        if not item_labels & labels:
            if issue["state"] == "open" and not item_labels & all_labels:
                _maybe_unlabeled(figures, technique, issue, terms, globs, now)
            continue
        if is_pr and not count_prs:
            continue
        if not is_pr and not count_features and item_labels & FEATURE_LABELS:
            continue
        author = issue["author"].lower()
        if issue["author_is_bot"] or author in maintainers:
            # The owners' own items need no answer from them.
            if issue["state"] == "open":
                figures.open_prs += is_pr
                figures.open_issues += not is_pr
            continue
        first = next((e for e in events.get(issue["number"], []) if responder(e, author)), None)
        reviewed = any(
            e["kind"] == Comment.Kind.REVIEW and responder(e, author)
            for e in events.get(issue["number"], [])
        )
        if first is not None and issue["created_at"] >= now - timedelta(days=WINDOW_DAYS):
            hours = (first["created_at"] - issue["created_at"]).total_seconds() / 3600
            response_hours.append(max(hours, 0.0))
        if issue["state"] != "open":
            continue
        figures.open_prs += is_pr
        figures.open_issues += not is_pr
        item = _item(issue, now)
        if first is None:
            figures.unanswered.append(item)
            if not is_pr and _waited(issue, now) > timedelta(days=figures.response_days):
                figures.unanswered_overdue.append(item)
        if is_pr and not issue["draft"] and not reviewed:
            figures.prs_waiting.append(item)
            if _waited(issue, now) > timedelta(days=figures.review_days):
                figures.prs_waiting_overdue.append(item)
    figures.responded = len(response_hours)
    p90 = percentile(response_hours, 0.9)
    if p90 is not None:
        figures.median_response_hours = round(median(response_hours), 1)
        figures.p90_response_hours = round(p90, 1)
    for bucket in (figures.unanswered, figures.unanswered_overdue, figures.prs_waiting):
        bucket.sort(key=lambda i: i.created_at)


def _waited(issue, now) -> timedelta:
    return now - issue["created_at"]


def _item(issue, now, **extra) -> Item:
    return Item(
        number=issue["number"],
        kind=issue["kind"],
        title=issue["title"],
        url=issue["html_url"],
        created_at=issue["created_at"],
        waiting_days=max(_waited(issue, now).days, 0),
        labels=list(issue["labels"]),
        **extra,
    )


def _maybe_unlabeled(figures, technique, issue, terms, globs, now):
    reason = ""
    for path in issue["files"] or []:
        if any(path_matches(path, glob) for glob in globs):
            reason = f"touches {path}"
            break
    if not reason:
        text = issue.get("_text") or f"{issue['title']}\n{issue['body_excerpt']}".lower()
        term = _mentions(text, terms)
        if term:
            reason = f"mentions “{term}”"
    if not reason:
        return
    item = _item(
        issue, now, suggested_labels=[technique.label] if technique.label else [], reason=reason
    )
    figures.unlabeled.append(item)
    if _waited(issue, now) > timedelta(days=figures.unlabeled_days):
        figures.unlabeled_overdue.append(item)


def triage_queue(techniques, now: datetime | None = None) -> list[dict]:
    """Open unlabeled items that belong to a technique, each with the labels it probably
    needs (from every technique it touches or names), oldest first."""
    figures = community_figures(techniques, now)
    by_number: dict[int, dict] = {}
    names = {t.pk: t for t in techniques}
    for technique_id, f in figures.items():
        for item in f.unlabeled:
            entry = by_number.setdefault(
                item.number, {"item": item, "labels": [], "techniques": [], "reasons": []}
            )
            for label in item.suggested_labels:
                if label not in entry["labels"]:
                    entry["labels"].append(label)
            entry["techniques"].append(names[technique_id])
            if item.reason not in entry["reasons"]:
                entry["reasons"].append(item.reason)
    return sorted(by_number.values(), key=lambda e: e["item"].created_at)

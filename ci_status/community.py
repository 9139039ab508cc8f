"""Community figures: which technique an issue or PR belongs to, its first responses,
and each technique's figures. Pure computation; ``services.community_refresh`` stores
the results when the data changes and ``selectors.community_figures`` reads them.

Belonging (``match_item``, the one place that decides it): an item belongs to the
techniques whose GitHub label it carries; an item with no technique's label belongs to
the techniques whose paths its changed files touch (the most specific path, as in
CODEOWNERS). An open item with neither but whose title or body names a technique is a
triage suggestion for it, not one of its items.

First responses (after CHAOSS), per item, bots and the author excluded: the first
comment or review by anyone (``first_response_*``), and by a maintainer of the groups
owning the item's techniques (``first_maintainer_response_*``; any repository member
when none is listed). Items opened by bots or by those maintainers need no answer.

Per technique: open issues and PRs, the median and 90th percentile of both response
times over items created in the last half-year, the open items waiting for a
maintainer's first response or review, and the unlabeled items that probably need its
label. For research techniques, feature requests and PRs count only where the
technique opted in (``accepts_feature_requests``/``accepts_prs``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatch
from statistics import median
from typing import Any

from ci_status.models import Comment, Issue
from techniques.models import TOSLevel

# Time to first response is measured over the last half-year: the semi-annual review
# period, and a bounded amount of data whatever the repository's age.
WINDOW_DAYS = 183
FEATURE_LABELS = {"feature request", "enhancement", "type:feature"}
RESPONDER_ASSOCIATIONS = {"OWNER", "MEMBER", "COLLABORATOR"}
APPROVED = "APPROVED"  # the state of a review that approves
LABEL, PATHS, MENTION = "label", "paths", "mention"


# --- matching ------------------------------------------------------------------------
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
    """One compiled pattern for all the terms (longest first, so the longest name wins)."""
    if not terms:
        return None
    ordered = sorted(set(terms), key=lambda t: (-len(t), t))
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(t) for t in ordered) + r")(?![\w])")


@dataclass
class Registry:
    """What matching and first responses need from the registry, loaded once."""

    techniques: dict[int, object]
    by_label: dict[str, set[int]]
    globs: list[tuple[str, int]]
    by_term: dict[str, set[int]]
    pattern: re.Pattern | None
    maintainers: dict[int, set[str]]  # technique id -> its group's active maintainers
    fingerprint: str

    @classmethod
    def build(cls, techniques, maintainers_by_group: dict[int, set[str]]) -> Registry:
        by_label: dict[str, set[int]] = {}
        globs: list[tuple[str, int]] = []
        by_term: dict[str, set[int]] = {}
        maintainers: dict[int, set[str]] = {}
        parts: list[str] = []
        for t in techniques:
            for label in t.github_labels or []:
                by_label.setdefault(label, set()).add(t.pk)
            globs += [(g.lstrip("/"), t.pk) for g in t.path_globs or [] if g.strip("/")]
            for term in name_terms(t):
                by_term.setdefault(term, set()).add(t.pk)
            maintainers[t.pk] = maintainers_by_group.get(t.owner_group_id, set())
            key = (t.pk, t.github_labels, t.path_globs, t.public_api, t.name, t.slug, t.tos_level)
            key += (t.accepts_prs, t.accepts_feature_requests)  # type: ignore[assignment]
            parts.append(repr((key, sorted(maintainers[t.pk]))))
        fingerprint = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()
        return cls(
            {t.pk: t for t in techniques},
            by_label,
            sorted(globs, key=lambda g: -len(g[0])),
            by_term,
            name_pattern(list(by_term)),
            maintainers,
            fingerprint,
        )


def match_item(item: dict, registry: Registry) -> dict[int, tuple[str, str]]:
    """The techniques an item belongs to, {technique id: (via, reason)}: by label first,
    then by paths (the most specific glob per changed file); an open item matching
    neither may be suggested to techniques it names (via "mention")."""
    labelled = set().union(*(registry.by_label.get(label, set()) for label in item["labels"]))
    if labelled:
        return {tid: (LABEL, "") for tid in labelled}
    found: dict[int, tuple[str, str]] = {}
    for path in item.get("files") or []:
        best = None
        for glob, tid in registry.globs:  # longest first
            if best is not None and len(glob) < best:
                break
            if path_matches(path, glob):
                best = len(glob)
                found.setdefault(tid, (PATHS, f"touches {path}"[:300]))
    if found or item["state"] != Issue.State.OPEN or registry.pattern is None:
        return found
    text = f"{item['title']}\n{item.get('body_excerpt') or ''}".lower()
    for term in dict.fromkeys(registry.pattern.findall(text)):
        for tid in registry.by_term.get(term, ()):
            found.setdefault(tid, (MENTION, f"mentions “{term}”"))
    return found


def item_maintainers(matches: dict[int, tuple[str, str]], registry: Registry) -> set[str]:
    """The maintainers who answer for an item: those of the techniques it belongs to."""
    ids = [tid for tid, (via, _) in matches.items() if via != MENTION]
    return set().union(*(registry.maintainers.get(tid, set()) for tid in ids))


def first_responses(
    item: Mapping[str, Any], events: Sequence[Mapping[str, Any]], maintainers: set[str]
) -> dict:
    """The item's stored response fields from its comments and reviews (oldest first)."""
    author = item["author"].lower()
    first = first_maintainer = None
    reviewed = maintainer_reviewed = False
    approved: list[str] = []
    for event in events:
        login = event["author"].lower()
        if event["author_is_bot"] or login == author:
            continue
        by_maintainer = (
            login in maintainers
            if maintainers
            else event["author_association"] in RESPONDER_ASSOCIATIONS
        )
        first = first or event
        if by_maintainer and first_maintainer is None:
            first_maintainer = event
        if event["kind"] == Comment.Kind.REVIEW:
            reviewed = True
            maintainer_reviewed = maintainer_reviewed or by_maintainer
            if event["state"] == APPROVED and event["author"] not in approved:
                approved.append(event["author"])
    return {
        "first_response_at": first["created_at"] if first else None,
        "first_response_by": first["author"] if first else "",
        "first_maintainer_response_at": first_maintainer["created_at"]
        if first_maintainer
        else None,
        "first_maintainer_response_by": first_maintainer["author"] if first_maintainer else "",
        "review_given": reviewed,
        "maintainer_reviewed": maintainer_reviewed,
        "approved_by": approved,
        "from_maintainer": author in maintainers,
    }


# --- per-technique figures -----------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start).total_seconds() / 3600, 0.0)


def _stored_item(row: Mapping[str, Any], **extra) -> dict:
    return {
        "number": row["number"],
        "kind": row["kind"],
        "title": row["title"],
        "url": row["html_url"],
        "created_at": row["created_at"].isoformat(),
        "labels": list(row["labels"]),
        **extra,
    }


def _counted(technique, row: Mapping[str, Any]) -> bool:
    """Whether an item counts for the technique under its terms of service."""
    if technique.tos_level != TOSLevel.RESEARCH:
        return True
    if row["kind"] == Issue.Kind.PR:
        return technique.accepts_prs
    return technique.accepts_feature_requests or not set(row["labels"]) & FEATURE_LABELS


def figures_for(technique, rows: Sequence[Mapping[str, Any]], now: datetime) -> dict:
    """A technique's stored figures (CommunityFigures fields) from its linked items:
    open ones and those created in the window, each with ``via`` and ``reason``."""
    horizon = now - timedelta(days=WINDOW_DAYS)
    out: dict[str, Any] = {
        "open_issues": 0,
        "open_prs": 0,
        "unanswered": [],
        "prs_waiting": [],
        "unlabeled": [],
    }
    any_hours: list[float] = []
    maintainer_hours: list[float] = []
    for row in sorted(rows, key=lambda r: (r["created_at"], r["number"])):
        is_open, is_pr = row["state"] == Issue.State.OPEN, row["kind"] == Issue.Kind.PR
        if row["via"] != LABEL and is_open:
            out["unlabeled"].append(
                _stored_item(
                    row, reason=row["reason"], suggested_labels=technique.github_labels[:1]
                )
            )
        if row["via"] == MENTION or not _counted(technique, row):
            continue
        out["open_prs"] += is_open and is_pr
        out["open_issues"] += is_open and not is_pr
        if row["author_is_bot"] or row["from_maintainer"]:
            continue  # needs no answer from the owners
        if row["created_at"] >= horizon:
            for values, key in (
                (any_hours, "first_response_at"),
                (maintainer_hours, "first_maintainer_response_at"),
            ):
                hours = _hours(row["created_at"], row[key])
                if hours is not None:
                    values.append(hours)
        if not is_open:
            continue
        if row["first_maintainer_response_at"] is None:
            out["unanswered"].append(_stored_item(row))
        if is_pr and not row["draft"] and not row["maintainer_reviewed"]:
            out["prs_waiting"].append(_stored_item(row))
    for prefix, values in (("", any_hours), ("maintainer_", maintainer_hours)):
        out[f"{prefix}responded"] = len(values)
        out[f"median_{prefix}response_hours"] = round(median(values), 1) if values else None
        p90 = percentile(values, 0.9)
        out[f"p90_{prefix}response_hours"] = None if p90 is None else round(p90, 1)
    research = technique.tos_level == TOSLevel.RESEARCH
    out["excluded_by_tos"] = [
        name
        for name, opted in (
            ("pull requests", technique.accepts_prs),
            ("feature requests", technique.accepts_feature_requests),
        )
        if research and not opted
    ]
    return out


# --- the read model ------------------------------------------------------------------
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

    @classmethod
    def from_stored(cls, data: dict, now: datetime) -> Item:
        created = datetime.fromisoformat(data["created_at"])
        return cls(
            number=data["number"],
            kind=data["kind"],
            title=data["title"],
            url=data["url"],
            created_at=created,
            waiting_days=max((now - created).days, 0),
            labels=data.get("labels", []),
            suggested_labels=data.get("suggested_labels", []),
            reason=data.get("reason", ""),
        )

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
    median_response_hours: float | None = None  # first response by anyone
    p90_response_hours: float | None = None
    maintainer_responded: int = 0
    median_maintainer_response_hours: float | None = None
    p90_maintainer_response_hours: float | None = None
    unanswered: list[Item] = field(default_factory=list)  # open, no maintainer response
    unanswered_overdue: list[Item] = field(default_factory=list)  # issues past the wait
    prs_waiting: list[Item] = field(default_factory=list)  # open, no maintainer review
    prs_waiting_overdue: list[Item] = field(default_factory=list)
    unlabeled: list[Item] = field(default_factory=list)  # touch its paths or name it
    unlabeled_overdue: list[Item] = field(default_factory=list)
    excluded_by_tos: list[str] = field(default_factory=list)
    response_days: int = 14
    review_days: int = 14
    unlabeled_days: int = 7

    @classmethod
    def from_stored(cls, row, now: datetime, base: dict) -> Figures:
        """The figures of a CommunityFigures row as of ``now``: overdue is the one
        judgement that depends on the clock (an item waiting more than the limit)."""
        figures = cls(**base)
        for name in (
            "open_issues",
            "open_prs",
            "responded",
            "median_response_hours",
            "p90_response_hours",
            "maintainer_responded",
            "median_maintainer_response_hours",
            "p90_maintainer_response_hours",
            "excluded_by_tos",
        ):
            setattr(figures, name, getattr(row, name))
        for name, days, only_issues in (
            ("unanswered", figures.response_days, True),
            ("prs_waiting", figures.review_days, False),
            ("unlabeled", figures.unlabeled_days, False),
        ):
            items = [Item.from_stored(d, now) for d in getattr(row, name)]
            setattr(figures, name, items)
            limit = now - timedelta(days=days)
            overdue = [
                i
                for i in items
                if i.created_at < limit and (i.kind == Issue.Kind.ISSUE or not only_issues)
            ]
            setattr(figures, f"{name}_overdue", overdue)
        return figures

    @property
    def median_response_days(self) -> float | None:
        """Median days to a first response by a maintainer (what the rule judges)."""
        hours = self.median_maintainer_response_hours
        return None if hours is None else hours / 24

    @property
    def p90_response_days(self) -> float | None:
        hours = self.p90_maintainer_response_hours
        return None if hours is None else hours / 24

    @property
    def median_any_response_days(self) -> float | None:
        """Median days to a first response by anyone but the author (CHAOSS)."""
        return None if self.median_response_hours is None else self.median_response_hours / 24

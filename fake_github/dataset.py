"""The data the GitHub-shaped server serves: one repository, kept compact (plain
records) and rendered into GitHub's JSON shape only when a page is served, so that a
dataset of 100,000 issues fits in memory.

Extend it with the ``add_*`` methods; each returns what it created. For example the
convergence engineer adds a nightly run whose artifact holds JUnit results::

    ds = demo_dataset()
    run = ds.add_workflow_run(
        workflow="convergence", conclusion="success", head_sha=ds.commits[-1].sha,
        created_at=now, artifacts={"convergence-results": zip_bytes},
    )

Every timestamp is an aware ``datetime``; ids are deterministic.
"""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

BOT_SUFFIX = "[bot]"
GHOST, GHOST_ID = "ghost", 10137  # a deleted account: REST's placeholder user
FIRST_ID = 5_000_000_000  # ids handed out by Dataset.new_id, all above 2**32
ISSUE_ID_BASE = 3_000_000_000  # an issue's id is this plus its number


def sha_for(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@dataclass(slots=True)
class IssueRecord:
    number: int
    title: str
    author: str
    created_at: datetime
    updated_at: datetime
    kind: str = "issue"  # or "pr"
    body: str = ""
    state: str = "open"
    labels: tuple[str, ...] = ()
    association: str = "NONE"
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    draft: bool = False
    files: tuple[str, ...] = ()
    merge_commit_sha: str | None = None
    assignees: tuple[str, ...] = ()


@dataclass(slots=True)
class CommentRecord:
    id: int
    issue_number: int
    author: str
    created_at: datetime
    body: str = ""
    association: str = "NONE"


# The orders in which ``since=`` listings page: by last change, ties by number or id.
# Comments are never edited here, so their last change is their creation.
ISSUE_ORDER = attrgetter("updated_at", "number")
COMMENT_ORDER = attrgetter("created_at", "id")


@dataclass(slots=True)
class ReviewRecord:
    id: int
    pr_number: int
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED
    submitted_at: datetime
    association: str = "MEMBER"
    body: str = ""


@dataclass(slots=True)
class CommitRecord:
    sha: str
    message: str
    author: str
    date: datetime
    pr_number: int | None = None


@dataclass(slots=True)
class ArtifactRecord:
    id: int
    run_id: int
    name: str
    data: bytes
    created_at: datetime


@dataclass(slots=True)
class RunRecord:
    id: int
    workflow: str
    workflow_path: str
    branch: str
    event: str
    head_sha: str
    status: str
    conclusion: str | None
    created_at: datetime
    updated_at: datetime
    run_number: int
    attempt: int = 1
    artifacts: list[ArtifactRecord] = field(default_factory=list)


def _changed_since(records: list, since: datetime | None, order: attrgetter) -> list:
    """The tail of ``records`` (kept sorted by ``order``) changed at or after ``since``."""
    if since is None:
        return records
    return records[bisect_left(records, (since, -1), key=order) :]


@dataclass
class Dataset:
    owner: str = "tensorflow"
    name: str = "model-optimization"
    default_branch: str = "master"
    labels: list[dict] = field(default_factory=list)  # {"name", "color", "description"}
    releases: list[dict] = field(default_factory=list)
    issues: list[IssueRecord] = field(default_factory=list)  # sorted by updated_at
    comments: list[CommentRecord] = field(default_factory=list)  # sorted by created_at
    reviews: dict[int, list[ReviewRecord]] = field(default_factory=dict)
    commits: list[CommitRecord] = field(default_factory=list)  # oldest first
    runs: list[RunRecord] = field(default_factory=list)  # newest first, as GitHub lists
    permissions: dict[str, str] = field(default_factory=dict)  # login -> role name
    files: dict[str, str] = field(default_factory=dict)  # path -> text (default branch)
    # -- identity and issue writes (served by fake_github/identity.py) --------------------
    teams: dict[str, list[str]] = field(default_factory=dict)  # "org/slug" -> logins
    user_ids: dict[str, int] = field(default_factory=dict)  # login (lower) -> id (renames)
    # login (lower) -> the public e-mail GitHub's /user shows (null for everyone else)
    public_emails: dict[str, str] = field(default_factory=dict)
    issues_enabled: bool = True  # False: issue writes answer 410 as GitHub does
    app_login: str = "tfmot-portal"  # who writes the issues the API token creates
    # -- Actions on demand and reverts (served by fake_github/actions.py) ----------------
    workflows: dict = field(default_factory=dict)  # file name -> actions.Workflow
    behaviours: dict = field(default_factory=dict)  # "technique/test" -> actions.Behaviour
    dispatched: dict = field(default_factory=dict)  # run id -> what was dispatched
    run_timing: tuple[float, float] = (1.0, 2.0)  # seconds queued, seconds in progress
    reverts: dict = field(default_factory=dict)  # reverted PR number -> its revert's number
    unrevertable: set = field(default_factory=set)  # PR numbers that do not revert cleanly

    def __post_init__(self):
        self.lock = threading.RLock()
        self.version = 0  # bumped on each change (ETags follow the content anyway)
        self._by_number: dict[int, IssueRecord] = {i.number: i for i in self.issues}
        # GitHub's comment, review and run ids are past 2**31 - 1 (and reviews' and
        # runs' past 2**32): so are these, so that a 32-bit column or an Int field fails here.
        self._next_id = FIRST_ID

    # -- identity -------------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def issue(self, number: int) -> IssueRecord | None:
        return self._by_number.get(number)

    def _changed(self):
        self.version += 1

    # -- add and change -------------------------------------------------------------------
    def add_label(self, name: str, color: str = "ededed", description: str = "") -> dict:
        with self.lock:
            label = {"name": name, "color": color, "description": description}
            self.labels = [item for item in self.labels if item["name"] != name] + [label]
            self._changed()
            return label

    def add_issue(self, title: str, author: str, created_at: datetime, **fields) -> IssueRecord:
        """An issue (or a PR with ``kind="pr"``); the next free number unless given."""
        with self.lock:
            number = fields.pop("number", None) or (max(self._by_number, default=0) + 1)
            fields.setdefault("updated_at", created_at)
            fields["labels"] = tuple(fields.get("labels", ()))
            fields["files"] = tuple(fields.get("files", ()))
            record = IssueRecord(
                number=number, title=title, author=author, created_at=created_at, **fields
            )
            self._by_number[number] = record
            insort(self.issues, record, key=ISSUE_ORDER)
            self._changed()
            return record

    def add_pull(self, title: str, author: str, created_at: datetime, **fields) -> IssueRecord:
        return self.add_issue(title, author, created_at, kind="pr", **fields)

    def update_issue(self, number: int, updated_at: datetime, **fields) -> IssueRecord:
        """Change an issue the way GitHub does: its ``updated_at`` moves."""
        with self.lock:
            record = self._by_number[number]
            self.issues.remove(record)
            for key, value in fields.items():
                setattr(record, key, tuple(value) if key in {"labels", "files"} else value)
            record.updated_at = updated_at
            insort(self.issues, record, key=ISSUE_ORDER)
            self._changed()
            return record

    def _touch(self, number: int, moment: datetime) -> None:
        record = self._by_number.get(number)
        if record and moment > record.updated_at:
            self.issues.remove(record)
            record.updated_at = moment
            insort(self.issues, record, key=ISSUE_ORDER)

    def add_comment(
        self, number: int, author: str, created_at: datetime, body: str = "", association: str = ""
    ) -> CommentRecord:
        with self.lock:
            association = association or self.association_of(author)
            record = CommentRecord(self.new_id(), number, author, created_at, body, association)
            insort(self.comments, record, key=COMMENT_ORDER)
            self._touch(number, created_at)
            self._changed()
            return record

    def add_review(
        self, number: int, author: str, state: str, submitted_at: datetime, body: str = ""
    ) -> ReviewRecord:
        with self.lock:
            record = ReviewRecord(
                self.new_id(),
                number,
                author,
                state,
                submitted_at,
                self.association_of(author),
                body,
            )
            self.reviews.setdefault(number, []).append(record)
            self._touch(number, submitted_at)
            self._changed()
            return record

    def add_commit(
        self, message: str, author: str, date: datetime, pr_number: int | None = None
    ) -> CommitRecord:
        """Append a commit to the default branch, optionally the merge of PR ``pr_number``."""
        with self.lock:
            sha = sha_for(f"{len(self.commits)}:{message}:{iso(date)}")
            record = CommitRecord(sha, message, author, date, pr_number)
            self.commits.append(record)
            if pr_number and pr_number in self._by_number:
                self._by_number[pr_number].merge_commit_sha = sha
            self._changed()
            return record

    def add_workflow_run(
        self,
        workflow: str = "CI",
        conclusion: str | None = "success",
        *,
        created_at: datetime,
        head_sha: str = "",
        branch: str | None = None,
        event: str = "push",
        status: str = "completed",
        duration: timedelta = timedelta(minutes=25),
        workflow_path: str = "",
        attempt: int = 1,
        run_id: int | None = None,
        artifacts: dict[str, bytes] | None = None,
    ) -> RunRecord:
        """A GitHub Actions run; ``artifacts`` maps artifact names to their zip bytes
        (served by /actions/runs/{id}/artifacts and /actions/artifacts/{id}/zip)."""
        with self.lock:
            run_id = run_id or self.new_id()
            number = 1 + sum(1 for r in self.runs if r.workflow == workflow)
            record = RunRecord(
                id=run_id,
                workflow=workflow,
                workflow_path=workflow_path or f".github/workflows/{workflow.lower()}.yml",
                branch=branch or self.default_branch,
                event=event,
                head_sha=head_sha
                or (self.commits[-1].sha if self.commits else sha_for(str(run_id))),
                status=status,
                conclusion=conclusion if status == "completed" else None,
                created_at=created_at,
                updated_at=created_at + (duration if status == "completed" else timedelta()),
                run_number=number,
                attempt=attempt,
            )
            for name, data in (artifacts or {}).items():
                record.artifacts.append(
                    ArtifactRecord(self.new_id(), run_id, name, data, created_at)
                )
            self.runs.append(record)
            self.runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            self._changed()
            return record

    def add_release(self, tag: str, published_at: datetime, notes: str = "", **fields) -> dict:
        with self.lock:
            release = {
                "id": fields.pop("id", None) or self.new_id(),
                "tag_name": tag,
                "name": fields.pop("name", tag),
                "body": notes,
                "published_at": published_at,
                "created_at": published_at,
                "prerelease": fields.pop("prerelease", False),
                "draft": False,
                "target_commitish": fields.pop("target_commitish", self.default_branch),
            }
            self.releases = [r for r in self.releases if r["tag_name"] != tag] + [release]
            self.releases.sort(key=lambda r: r["published_at"], reverse=True)
            self._changed()
            return release

    def set_permission(self, login: str, role: str) -> None:
        with self.lock:
            self.permissions[login.lower()] = role
            self._changed()

    def set_file(self, path: str, text: str) -> None:
        with self.lock:
            self.files[path.lstrip("/")] = text
            self._changed()

    # -- identity: users, renames and teams ---------------------------------------------
    def user_id(self, login: str) -> int:
        """GitHub's numeric id of ``login``: stable, and kept by :meth:`rename_user`."""
        known = self.user_ids.get(login.lower())
        if known is not None:
            return known
        return int(hashlib.md5(login.encode(), usedforsecurity=False).hexdigest()[:9], 16)

    def rename_user(self, old: str, new: str) -> None:
        """A user changes their login: the id stays, teams follow."""
        with self.lock:
            self.user_ids[new.lower()] = self.user_id(old)
            self.user_ids[old.lower()] = self.user_id(old + "-renamed-away")
            for members in self.teams.values():
                members[:] = [new if m.lower() == old.lower() else m for m in members]
            self._changed()

    def set_team(self, team: str, members: list[str]) -> None:
        """Team ``org/slug`` with these member logins (replaces any earlier list)."""
        with self.lock:
            self.teams[team.lower()] = list(members)
            self._changed()

    # -- queries the server uses ----------------------------------------------------------
    def association_of(self, login: str) -> str:
        role = self.permissions.get(login.lower())
        if login.endswith(BOT_SUFFIX):
            return "NONE"
        if role in {"admin", "maintain"}:
            return "MEMBER"
        if role in {"write", "triage"}:
            return "COLLABORATOR"
        return "CONTRIBUTOR" if role == "read" else "NONE"

    def issues_since(self, since: datetime | None) -> list[IssueRecord]:
        return _changed_since(self.issues, since, ISSUE_ORDER)

    def comments_since(self, since: datetime | None) -> list[CommentRecord]:
        return _changed_since(self.comments, since, COMMENT_ORDER)

    def commit_index(self, ref: str) -> int | None:
        if ref in {self.default_branch, "HEAD"}:
            return len(self.commits) - 1 if self.commits else None
        for index, commit in enumerate(self.commits):
            if commit.sha.startswith(ref) and len(ref) >= 7:
                return index
        return None


def bulk_dataset(issues: int, *, seed_time: datetime | None = None, open_prs: int = 0) -> Dataset:
    """A large synthetic repository for the benchmark: ``issues`` issues and PRs, all
    closed long ago except the newest handful and, with ``open_prs``, that many of the
    newest PRs (open and waiting for review)."""
    base = seed_time or datetime(2020, 1, 1, tzinfo=UTC)
    ds = Dataset()
    ds.add_label("technique:pruning", "0e8a16")
    ds.add_label("bug", "d73a4a")
    records = []
    for number in range(1, issues + 1):
        created = base + timedelta(minutes=number)
        kind = "pr" if number % 3 == 0 else "issue"
        recent = number > issues - 5 or (kind == "pr" and number > issues - 3 * open_prs)
        records.append(
            IssueRecord(
                number=number,
                title=f"Synthetic {kind} {number} about pruning",
                author=f"user{number % 997}",
                created_at=created,
                updated_at=created + timedelta(hours=1),
                kind=kind,
                body="Lorem ipsum " * 20,
                state="open" if recent else "closed",
                labels=("technique:pruning",) if number % 2 else ("bug",),
                closed_at=None if recent else created + timedelta(hours=1),
                merged_at=created + timedelta(hours=1) if kind == "pr" and not recent else None,
            )
        )
    ds.issues = records  # already in updated_at order
    ds._by_number = {r.number: r for r in records}
    return ds

"""GitHub JSON -> rows, upserted in bulk on natural keys. The sync and the webhooks both
come through here, so a webhook and the next sync write the same row the same way."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Max, Model
from django.db.models.functions import Lower

from ci_status.models import CIRun, Comment, Issue, Label, Release, Repository
from github import parse_timestamp
from techniques.cache import bump_data_version
from techniques.models import Maintainer
from techniques.text import fit

ISSUE_UPDATE_FIELDS = [
    "github_id",
    "kind",
    "title",
    "body_excerpt",
    "state",
    "labels",
    "author",
    "author_is_bot",
    "author_association",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
    "draft",
    "html_url",
]
COMMENT_UPDATE_FIELDS = [
    "issue_number",
    "author",
    "author_is_bot",
    "author_association",
    "state",
    "created_at",
    "updated_at",
    "html_url",
]
RELEASE_UPDATE_FIELDS = [
    "github_id",
    "name",
    "notes",
    "published_at",
    "prerelease",
    "draft",
    "target_commitish",
    "html_url",
]
RUN_UPDATE_FIELDS = [
    "repository",
    "workflow",
    "workflow_path",
    "branch",
    "event",
    "head_sha",
    "status",
    "conclusion",
    "started_at",
    "finished_at",
    "created_at",
    "html_url",
]


def _upsert(model: type[Model], rows: Iterable[Model], key: list[str], update: list[str]) -> None:
    """Insert ``rows``; a row whose natural ``key`` is stored already gets its ``update``
    fields overwritten instead (one INSERT ... ON CONFLICT DO UPDATE). Bulk writes send
    no save signal: the data version is bumped here when a row was written."""
    written = model._default_manager.bulk_create(
        rows, update_conflicts=True, unique_fields=key, update_fields=update
    )
    if written:
        bump_data_version(
            registry=False,
            app=model._meta.app_label,
            techniques=None if getattr(model, "technique_pages", True) else (),
        )


def is_bot(user: dict | None) -> bool:
    if not user:
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def _login(user: dict | None) -> str:
    return fit(Issue, "author", (user or {}).get("login"))


def issue_from_json(repository: Repository, data: dict, *, kind: str | None = None) -> Issue:
    """An Issue from an issue (list or webhook) or a pull request object."""
    if not isinstance(data, dict) or "number" not in data:
        raise ValueError("not an issue object")
    pull = data.get("pull_request")
    if kind is None:
        kind = Issue.Kind.PR if pull is not None else Issue.Kind.ISSUE
    merged_at = data.get("merged_at") or (pull or {}).get("merged_at")
    return Issue(
        repository=repository,
        number=int(data["number"]),
        github_id=data.get("id"),
        kind=kind,
        title=fit(Issue, "title", data.get("title")),
        body_excerpt=str(data.get("body") or "")[:2000],
        state=fit(Issue, "state", data.get("state") or Issue.State.OPEN),
        labels=[fit(Label, "name", label.get("name", "")) for label in data.get("labels") or []],
        author=_login(data.get("user")),
        author_is_bot=is_bot(data.get("user")),
        author_association=fit(Issue, "author_association", data.get("author_association")),
        created_at=parse_timestamp(data["created_at"]),
        updated_at=parse_timestamp(data.get("updated_at") or data["created_at"]),
        closed_at=parse_timestamp(data.get("closed_at")),
        merged_at=parse_timestamp(merged_at),
        draft=bool(data.get("draft")),
        html_url=fit(Issue, "html_url", data.get("html_url")),
    )


def upsert_issues(repository: Repository, items: Iterable[dict], *, kind: str | None = None) -> int:
    rows = {}
    for data in items:
        issue = issue_from_json(repository, data, kind=kind)
        rows[issue.number] = issue  # a page may repeat an item that moved
    _upsert(Issue, rows.values(), ["repository", "number"], ISSUE_UPDATE_FIELDS)
    return len(rows)


def _number_from_url(url: str) -> int:
    return int(str(url).rstrip("/").rsplit("/", 1)[-1])


def _comment(repository: Repository, kind: str, number: int, data: dict, **fields) -> Comment:
    """A Comment row from a comment or review object; ``fields`` adds what differs."""
    return Comment(
        repository=repository,
        kind=kind,
        github_id=int(data["id"]),
        issue_number=number,
        author=_login(data.get("user")),
        author_is_bot=is_bot(data.get("user")),
        author_association=fit(Comment, "author_association", data.get("author_association")),
        html_url=fit(Comment, "html_url", data.get("html_url")),
        **fields,
    )


def comment_from_json(repository: Repository, data: dict, issue_number: int | None = None):
    number = issue_number or _number_from_url(data["issue_url"])
    return _comment(
        repository,
        Comment.Kind.COMMENT,
        number,
        data,
        created_at=parse_timestamp(data["created_at"]),
        updated_at=parse_timestamp(data.get("updated_at")),
    )


def review_from_json(repository: Repository, number: int, data: dict) -> Comment | None:
    if not data.get("submitted_at"):  # a pending review is not a response yet
        return None
    submitted = parse_timestamp(data["submitted_at"])
    return _comment(
        repository,
        Comment.Kind.REVIEW,
        number,
        data,
        state=fit(Comment, "state", data.get("state")),
        created_at=submitted,
        updated_at=submitted,
    )


def upsert_comments(repository: Repository, rows: Iterable[Comment | None]) -> set[int]:
    """Upsert comments/reviews (None, a pending review, is skipped); returns the issue
    numbers they belong to."""
    by_key = {(c.kind, c.github_id): c for c in rows if c is not None}
    _upsert(Comment, by_key.values(), ["repository", "kind", "github_id"], COMMENT_UPDATE_FIELDS)
    return {c.issue_number for c in by_key.values()}


def maintainer_logins() -> set[str]:
    return {login.lower() for login in Maintainer.objects.values_list("github_login", flat=True)}


def upsert_labels(repository: Repository, items: Iterable[dict], *, complete: bool) -> int:
    """Labels; with ``complete`` (a full listing), labels no longer on GitHub go."""
    rows = {
        fit(Label, "name", d["name"]): Label(
            repository=repository,
            name=fit(Label, "name", d["name"]),
            color=fit(Label, "color", d.get("color")),
            description=fit(Label, "description", d.get("description")),
        )
        for d in items
    }
    _upsert(Label, rows.values(), ["repository", "name"], ["color", "description"])
    if complete:
        Label.objects.filter(repository=repository).exclude(name__in=list(rows)).delete()
    return len(rows)


def label_changed(repository: Repository, action: str, data: dict, old_name: str = "") -> set[int]:
    """A ``label`` webhook: created or edited (``old_name`` when it was renamed) upserts
    the label, deleted removes it; a rename or a deletion changes every stored issue
    that carries the label, as it does on GitHub (which sends no issue event for it).
    Returns the numbers of the issues that changed."""
    name = fit(Label, "name", data.get("name"))
    if not name:
        raise ValueError("label.name: expected text")
    gone = old_name if action == "edited" and old_name and old_name != name else ""
    if action == "deleted":
        gone = name
        Label.objects.filter(repository=repository, name=name).delete()
    else:
        upsert_labels(repository, [data], complete=False)
        if gone:
            Label.objects.filter(repository=repository, name=gone).delete()
    if not gone:
        return set()
    changed = []
    carrying = Issue.objects.filter(repository=repository).only("pk", "number", "labels")
    if connection.vendor == "postgresql":  # SQLite has no JSON containment lookup
        carrying = carrying.filter(labels__contains=[gone])
    for issue in carrying.iterator(chunk_size=2000):
        if gone not in (issue.labels or []):
            continue
        labels = [label for label in issue.labels if label != gone]
        if action != "deleted" and name not in labels:
            labels.append(name)
        issue.labels = labels
        changed.append(issue)
    if Issue.objects.bulk_update(changed, ["labels"], batch_size=500):
        bump_data_version(registry=False, app="ci_status", techniques=())
    return {issue.number for issue in changed}


def upsert_releases(repository: Repository, items: Iterable[dict]) -> int:
    rows = {}
    for d in items:
        if d.get("draft"):
            continue
        rows[d["tag_name"]] = Release(
            repository=repository,
            github_id=d.get("id"),
            tag=fit(Release, "tag", d["tag_name"]),
            name=fit(Release, "name", d.get("name")),
            notes=str(d.get("body") or ""),
            published_at=parse_timestamp(d.get("published_at") or d.get("created_at")),
            prerelease=bool(d.get("prerelease")),
            draft=False,
            target_commitish=fit(Release, "target_commitish", d.get("target_commitish")),
            html_url=fit(Release, "html_url", d.get("html_url")),
        )
    _upsert(Release, rows.values(), ["repository", "tag"], RELEASE_UPDATE_FIELDS)
    return len(rows)


def run_from_json(repository: Repository, d: dict) -> CIRun:
    status = fit(CIRun, "status", d.get("status"))
    return CIRun(
        repository=repository,
        provider="github-actions",
        run_id=int(d["id"]),
        attempt=int(d.get("run_attempt") or 1),
        workflow=fit(CIRun, "workflow", d.get("name")),
        workflow_path=fit(CIRun, "workflow_path", d.get("path")),
        branch=fit(CIRun, "branch", d.get("head_branch")),
        event=fit(CIRun, "event", d.get("event")),
        head_sha=fit(CIRun, "head_sha", d.get("head_sha")),
        status=status,
        conclusion=fit(CIRun, "conclusion", d.get("conclusion")),
        started_at=parse_timestamp(d.get("run_started_at") or d.get("created_at")),
        finished_at=parse_timestamp(d.get("updated_at"))
        if status == CIRun.Status.COMPLETED
        else None,
        created_at=parse_timestamp(d.get("created_at")),
        html_url=fit(CIRun, "html_url", d.get("html_url")),
    )


def upsert_runs(repository: Repository, items: Iterable[dict]) -> int:
    rows = {}
    for d in items:
        run = run_from_json(repository, d)
        rows[(run.run_id, run.attempt)] = run
    _upsert(CIRun, rows.values(), ["provider", "run_id", "attempt"], RUN_UPDATE_FIELDS)
    return len(rows)


def record_maintainer_activity(repository: Repository, only: set[str] | None = None) -> int:
    """Maintainer.last_activity_at = their latest issue, PR, comment or review here
    (``only``: just these logins, e.g. the people of one webhook delivery)."""
    logins = maintainer_logins()
    if only is not None:
        logins &= {login.lower() for login in only if login}
    if not logins:
        return 0
    latest: dict[str, datetime] = {}
    for model, field in ((Issue, "created_at"), (Comment, "created_at")):
        rows = (
            model.objects.filter(repository=repository)
            .annotate(login=Lower("author"))
            .filter(login__in=logins)
            .values("login")
            .annotate(last=Max(field))
        )
        for row in rows:
            if row["last"] and (row["login"] not in latest or row["last"] > latest[row["login"]]):
                latest[row["login"]] = row["last"]
    updated = 0
    for maintainer in Maintainer.objects.annotate(login=Lower("github_login")).filter(
        login__in=list(latest)
    ):
        last = latest.get(maintainer.github_login.lower())
        if last and (maintainer.last_activity_at is None or last > maintainer.last_activity_at):
            maintainer.last_activity_at = last
            maintainer.save(update_fields=["last_activity_at"])
            updated += 1
    return updated

"""GitHub sync workflows: ``repository_sync`` (used by the Celery task, the management
command, the demo and the bench), the per-repository lock, and ``sync_queue``.

A sync walks each resource page by page and writes every page in its own transaction,
so memory stays flat whatever the repository's size and a sync that dies keeps what it
wrote. Re-syncs are incremental (``since=`` for issues and comments, ``created>=`` for
runs) and conditional (the first page's ETag; a 304 means "nothing changed").
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.db.models import F, Q
from django.utils import timezone

from adherence.services import evaluation_request
from ci_status import upserts
from ci_status.community import (
    WINDOW_DAYS,
    Registry,
    figures_for,
    first_responses,
    item_maintainers,
    match_item,
)
from ci_status.etags import CursorETags
from ci_status.locks import SyncLocked, no_lock, sync_lock
from ci_status.models import (
    CIRun,
    Comment,
    CommunityFigures,
    Issue,
    ItemTechnique,
    Label,
    Release,
    Repository,
    SyncCursor,
    SyncRun,
    Tombstone,
)
from github import (
    GRAPHQL_BATCH,
    AuthenticationFailed,
    GitHubClient,
    GitHubError,
    Page,
    RateLimited,
    parse_timestamp,
)
from techniques.cache import bump_data_version
from techniques.models import Maintainer, Technique
from techniques.text import fit

logger = logging.getLogger(__name__)
RESOURCES = ["labels", "issues", "comments", "pulls", "releases", "runs"]


# --- repositories --------------------------------------------------------------------
def repositories_ensure() -> list[Repository]:
    """The repositories to sync: the configured one and every technique's."""
    names = {settings.GITHUB_REPOSITORY.lower(): settings.GITHUB_REPOSITORY}
    for name in Technique.objects.exclude(github_repository="").values_list(
        "github_repository", flat=True
    ):
        names.setdefault(name.lower(), name)
    return [repository_get_or_create(name) for name in names.values()]


def repository_get_or_create(full_name: str | None = None) -> Repository:
    full_name = (full_name or settings.GITHUB_REPOSITORY).strip()
    repository = Repository.objects.filter(full_name__iexact=full_name).first()
    if repository is None:
        repository, _ = Repository.objects.get_or_create(
            full_name=full_name, defaults={"html_url": f"https://github.com/{full_name}"}
        )
    return repository


# --- the sync ------------------------------------------------------------------------
class _Sync:
    def __init__(self, repository, client, run, lock, on_progress):
        self.repository = repository
        self.client = client
        self.run = run
        self.lock = lock
        self.on_progress = on_progress
        self.touched_numbers: set[int] = set()
        self.not_synced: dict[int, str] = {}  # PRs GitHub could not answer, and why
        self._last_flush = 0.0

    # bookkeeping
    def cursor(self, resource: str) -> SyncCursor:
        cursor, _ = SyncCursor.objects.get_or_create(repository=self.repository, resource=resource)
        return cursor

    def progress(self, resource: str, page: Page | None = None, items: int = 0, force=False):
        p = self.run.progress
        if p.get("resource") != resource:
            p.update(resource=resource, pages=0, items=0, last_page=None)
        if page is not None:
            p["pages"] += 1
            p["items"] += items
            p["last_page"] = page.last_page or p.get("last_page")
        self.flush(force=force)

    def flush(self, force=False):
        """Copy the client's counters onto the SyncRun (at most every half second)."""
        now = time.monotonic()
        if not force and now - self._last_flush < 0.5:
            return
        self._last_flush = now
        stats = self.client.stats
        run = self.run
        run.requests = stats.requests
        run.not_modified = stats.not_modified
        # The REST budget (core) is "the" rate limit; every budget is kept beside it.
        core = stats.rate_limits.get("core") or stats.rate_limit
        run.rate_limit_remaining = core.remaining
        run.rate_limit_reset = core.reset_at
        run.rate_limits = {
            name: {
                "limit": budget.limit,
                "remaining": budget.remaining,
                "used": budget.used,
                "reset": budget.reset_at.isoformat() if budget.reset_at else None,
            }
            for name, budget in sorted(stats.rate_limits.items())
        }
        run.save(update_fields=sorted(SyncRun.bookkeeping_fields))
        # A long sync under DEBUG must not keep every query's SQL in memory.
        reset_queries()
        if self.lock:
            self.lock.extend()
        if self.on_progress:
            self.on_progress(run)

    def wrote(self, resource: str, rows: int):
        self.run.rows_written += rows
        entry = self.run.per_resource.setdefault(resource, {"rows": 0, "requests": 0, "304": 0})
        entry["rows"] += rows

    # resources
    def listing(
        self,
        resource: str,
        fetch: Callable,
        handle: Callable,
        reduce: Callable,
        finalize: Callable = lambda state: state,
    ):
        """A since-based listing, newest first: write each page; once all are written,
        move ``since`` on and fetch the new first page once more for its ETag, so that
        a re-sync with no change is a single 304 (at most three rounds)."""
        cursor = self.cursor(resource)
        start_requests, start_304 = self.client.stats.requests, self.client.stats.not_modified
        etags = self.client.etags = CursorETags(cursor)
        for _round in range(3):
            state = None
            changed = False
            for page in fetch(cursor.since):
                if page.not_modified:
                    break
                changed = True
                with transaction.atomic():
                    self.wrote(resource, handle(page.items))
                state = reduce(page.items, state)
                self.progress(resource, page, len(page.items))
            newest = finalize(state)
            if not changed or newest is None or newest == cursor.since:
                break
            etags.pending = None  # that ETag belongs to the old since
            cursor.since = newest
            cursor.save(update_fields=["since"])
        etags.commit()
        self.finish_cursor(cursor, resource, start_requests, start_304)

    def finish_cursor(self, cursor, resource, start_requests, start_304):
        spent = self.client.stats.requests - start_requests
        entry = self.run.per_resource.setdefault(resource, {"rows": 0, "requests": 0, "304": 0})
        entry["requests"] += spent
        entry["304"] += self.client.stats.not_modified - start_304
        cursor.requests += spent
        cursor.last_status = "ok"
        cursor.synced_at = timezone.now()
        cursor.save(update_fields=["requests", "last_status", "synced_at"])
        self.run.progress.setdefault("done", []).append(resource)
        self.flush(force=True)

    def resource_failed(self, resource: str, error: GitHubError) -> None:
        """One resource failed: say so on its cursor and the run; the others go on."""
        cursor = self.cursor(resource)
        cursor.last_status = "failed"
        cursor.save(update_fields=["last_status"])
        entry = self.run.per_resource.setdefault(resource, {"rows": 0, "requests": 0, "304": 0})
        entry["error"] = str(error)[:500]
        self.run.progress.setdefault("failed", []).append(resource)
        self.flush(force=True)

    def sync_labels(self):
        self.simple("labels", self.client.labels, self.handle_labels)

    def sync_releases(self):
        self.simple("releases", self.client.releases, self.handle_releases)

    def simple(self, resource: str, fetch: Callable, handle: Callable):
        """A full listing with a constant URL: the first page's ETag says "unchanged"."""
        cursor = self.cursor(resource)
        start_requests, start_304 = self.client.stats.requests, self.client.stats.not_modified
        etags = self.client.etags = CursorETags(cursor)
        items = []
        for page in fetch():
            if page.not_modified:
                break
            items.extend(page.items)  # labels and releases: hundreds at most
            self.progress(resource, page, len(page.items))
        else:
            with transaction.atomic():
                self.wrote(resource, handle(items))
            etags.commit()
        self.finish_cursor(cursor, resource, start_requests, start_304)

    def handle_labels(self, items):
        return upserts.upsert_labels(self.repository, items, complete=True)

    def handle_releases(self, items):
        return upserts.upsert_releases(self.repository, items)

    def sync_issues(self):
        def handle(items):
            self.touched_numbers.update(int(d["number"]) for d in items)
            return upserts.upsert_issues(self.repository, items)

        self.listing("issues", lambda since: self.client.issues(since), handle, _max_updated)

    def sync_comments(self):
        def handle(items):
            rows = [upserts.comment_from_json(self.repository, d) for d in items]
            numbers = upserts.upsert_comments(self.repository, rows)
            self.touched_numbers.update(numbers)
            return len(rows)

        self.listing(
            "comments", lambda since: self.client.issue_comments(since), handle, _max_updated
        )

    def sync_runs(self):
        cursor = self.cursor("runs")
        if cursor.since is None:
            # The first sync looks back RUNS_DAYS; kept, so that the URL (and its ETag)
            # stays the same until a run shows up.
            cursor.since = timezone.now().replace(microsecond=0) - timedelta(
                days=settings.GITHUB_SYNC_RUNS_DAYS
            )
            cursor.save(update_fields=["since"])

        def fetch(since):
            return self.client.workflow_runs(created_since=since)

        def handle(items):
            return upserts.upsert_runs(self.repository, items)

        self.listing("runs", fetch, handle, _runs_state, _runs_since)

    def sync_pulls(self):
        """Reviews and files of the PRs changed since their details were fetched (all
        of them on the first sync: every PR's reviews count for first responses),
        ``GRAPHQL_BATCH`` PRs per GraphQL request."""
        cursor = self.cursor("pulls")
        start_requests, start_304 = self.client.stats.requests, self.client.stats.not_modified
        todo = list(
            Issue.objects.filter(repository=self.repository, kind=Issue.Kind.PR)
            .filter(Q(details_synced_for__isnull=True) | ~Q(details_synced_for=F("updated_at")))
            .order_by("-updated_at")
            .values_list("number", "updated_at")
        )
        self.run.progress.update(
            resource="pulls", pages=0, items=0, last_page=-(-len(todo) // GRAPHQL_BATCH)
        )
        for start in range(0, len(todo), GRAPHQL_BATCH):
            batch = dict(todo[start : start + GRAPHQL_BATCH])
            details = self.client.pull_details(list(batch))
            # A PR GitHub could not answer keeps its old details_synced_for: it is asked
            # for again at the next sync.
            for number in details.failed:
                batch.pop(number, None)
            self.not_synced.update(details.failed)
            with transaction.atomic():
                self.wrote("pulls", self.write_pull_details(batch, details))
            self.touched_numbers.update(batch)
            self.run.progress["pages"] += 1
            self.run.progress["items"] += len(batch)
            self.flush()
        if self.not_synced:
            entry = self.run.per_resource.setdefault("pulls", {"rows": 0, "requests": 0, "304": 0})
            entry["not_synced"] = len(self.not_synced)
            entry["not_synced_numbers"] = sorted(self.not_synced)[:50]
            entry["not_synced_reasons"] = sorted(set(self.not_synced.values()))[:5]
        self.finish_cursor(cursor, "pulls", start_requests, start_304)

    def write_pull_details(self, batch: dict, details: dict) -> int:
        rows = [
            upserts.review_from_json(self.repository, number, review)
            for number, found in details.items()
            for review in found["reviews"]
        ]
        upserts.upsert_comments(self.repository, rows)
        for number, updated_at in batch.items():
            files = details.get(number, {}).get("files", [])
            Issue.objects.filter(repository=self.repository, number=number).update(
                files=[str(f.get("filename", ""))[:300] for f in files][:3000],
                details_synced_for=updated_at,
            )
        return len(rows) + len(batch)


def _max_updated(items: list, newest):
    for item in items:
        value = parse_timestamp(item.get("updated_at"))
        if value and (newest is None or value > newest):
            newest = value
    return newest


def _runs_state(items: list, state):
    newest, oldest_open = state or (None, None)
    for item in items:
        created = parse_timestamp(item.get("created_at"))
        if created and (newest is None or created > newest):
            newest = created
        if item.get("status") != CIRun.Status.COMPLETED and created:
            oldest_open = created if oldest_open is None else min(oldest_open, created)
    return newest, oldest_open


def _runs_since(state):
    """Next ``created>=``: the newest run's creation, but no later than the oldest run
    still in progress (its conclusion is still to come)."""
    if state is None:
        return None
    newest, oldest_open = state
    return min(newest, oldest_open) if oldest_open and newest else newest


def repository_sync(
    repository: Repository,
    *,
    resources: list[str] | None = None,
    client: GitHubClient | None = None,
    trigger: str = "manual",
    sync_run: SyncRun | None = None,
    on_progress: Callable[[SyncRun], None] | None = None,
    evaluate: bool = True,
    use_lock: bool = True,
) -> SyncRun:
    """Sync a repository from GitHub; returns its SyncRun (``status`` ok, partial or
    failed).

    A GitHub failure ends only the resource it happened in: the failure is recorded on
    the resource's cursor and the run, the other resources are synced, and the run ends
    "partial" with the reason (PRs GitHub could not answer count too: they are asked
    for again next time); "failed" when no resource could be synced. ``SyncLocked`` is
    raised when another sync runs, and a transient failure (``RateLimited``,
    ``Unavailable``) is re-raised after recording so that the Celery task can retry.
    """
    resources = [r for r in RESOURCES if r in (resources or RESOURCES)]
    client = client or GitHubClient(repository.full_name)
    run = sync_run or SyncRun(repository=repository, trigger=trigger)
    with sync_lock(repository) if use_lock else no_lock() as lock:
        _run_start(run, repository, resources)
        source_switch(repository, source_of(client), run)
        sync = _Sync(repository, client, run, lock, on_progress)
        error: Exception | None = None  # an internal error: the whole sync failed
        failures: dict[str, GitHubError] = {}
        resource = "start"
        try:
            for resource in resources:
                try:
                    getattr(sync, f"sync_{resource}")()
                except GitHubError as exc:
                    failures[resource] = exc
                    sync.resource_failed(resource, exc)
                    if isinstance(exc, AuthenticationFailed):
                        break  # no other resource will be answered either
            resource = "community figures"
            community_refresh(repository, sync.touched_numbers)
            upserts.record_maintainer_activity(repository)
        except Exception as exc:
            error = exc
            run.error = f"{resource}: internal error {type(exc).__name__}: {str(exc)[:300]}"
            logger.exception("GitHub sync of %s failed", repository)
        if error is None:
            run.error = _failures_text(failures, sync.not_synced)
            answered = [
                r
                for r in run.progress.get("done", [])
                if run.per_resource.get(r, {}).get("requests")
            ]
            if failures and not answered:  # GitHub answered no resource
                run.status = SyncRun.Status.FAILED
            elif failures or sync.not_synced:
                run.status = SyncRun.Status.PARTIAL
            else:
                run.status = SyncRun.Status.OK
        else:
            run.status = SyncRun.Status.FAILED
        _run_finish(run, repository, sync)
    if error is not None:
        raise error
    if evaluate and run.status != SyncRun.Status.FAILED:
        # labels, CI, releases and figures: every technique's rules
        evaluation_request()
    transient = next((e for e in failures.values() if e.transient), None)
    if transient is not None:
        raise transient
    return run


def _failures_text(failures: Mapping[str, GitHubError], not_synced: Mapping[int, str]) -> str:
    """Why a sync is partial or failed: each failed resource with GitHub's reason, and
    the PRs GitHub could not answer (retried next time)."""
    lines = [f"{resource}: {error}" for resource, error in failures.items()]
    if not_synced:
        numbers = ", ".join(f"#{n}" for n in sorted(not_synced)[:10])
        more = f" and {len(not_synced) - 10} more" if len(not_synced) > 10 else ""
        reasons = ", ".join(sorted(set(not_synced.values()))[:3])
        lines.append(
            f"pulls: {len(not_synced)} PRs not synced ({numbers}{more}; GitHub: {reasons}); "
            "they are asked for again at the next sync"
        )
    return "\n".join(lines)


def _run_start(run: SyncRun, repository: Repository, resources: list[str]) -> None:
    # Whoever held the lock before us is gone: its runs did not finish.
    SyncRun.objects.filter(repository=repository, status=SyncRun.Status.RUNNING).exclude(
        pk=run.pk
    ).update(status=SyncRun.Status.INTERRUPTED, finished_at=timezone.now())
    # Syncs queued before this one wait for nothing now: this sync does their work.
    SyncRun.objects.filter(repository=repository, status=SyncRun.Status.QUEUED).exclude(
        pk=run.pk
    ).update(
        status=SyncRun.Status.SKIPPED,
        finished_at=timezone.now(),
        error="A later sync of this repository ran instead.",
    )
    run.status = SyncRun.Status.RUNNING
    run.resource = "all" if len(resources) == len(RESOURCES) else ",".join(resources)
    run.started_at = timezone.now()
    run.finished_at = None
    run.error = ""
    run.progress = {"done": []}
    run.per_resource = {}
    run.rows_written = 0
    run.save()


def _run_finish(run: SyncRun, repository: Repository, sync: _Sync) -> None:
    run.finished_at = timezone.now()
    sync.flush(force=True)
    run.save(update_fields=["status", "finished_at", "error"])
    if run.status != SyncRun.Status.FAILED:  # what could be synced is current
        repository.last_synced_at = run.finished_at
        repository.save(update_fields=["last_synced_at"])


# --- sources -------------------------------------------------------------------------
def source_of(client: GitHubClient) -> str:
    """Where a client's data comes from: its API base and its token's identity (a
    digest: the token itself is never stored)."""
    identity = hashlib.sha256(client.token.encode()).hexdigest()[:16] if client.token else "-"
    return f"{client.base_url}#{identity}"


def source_switch(repository: Repository, source: str, run: SyncRun) -> bool:
    """Before a sync: when the API base or the token changed since the last sync, the
    sync positions, ETags and rows of the old source go, so that this sync starts
    afresh and the pages never mix two sources. Returns whether it switched."""
    previous = repository.source or (f"{repository.api_url}#?" if repository.api_url else "")
    if previous == source:
        return False
    if previous:
        with transaction.atomic():
            removed = Issue.objects.filter(repository=repository).count()
            for model in (Issue, Comment, Tombstone, Label, Release, CIRun, SyncCursor):
                model.objects.filter(repository=repository).delete()
        old_base, new_base = previous.split("#")[0], source.split("#")[0]
        run.progress["switched"] = {
            "from": old_base,
            "to": new_base,
            "token_changed": old_base == new_base,
            "removed_items": removed,
        }
        run.save(update_fields=["progress"])
        repository.last_synced_at = None
        repository.community_fingerprint = ""  # every technique's figures change
    repository.source = source
    repository.api_url = fit(Repository, "api_url", source.split("#")[0])
    repository.save(update_fields=["source", "api_url", "last_synced_at", "community_fingerprint"])
    return bool(previous)


# --- queueing from the web -----------------------------------------------------------
class QueueUnavailable(Exception):
    pass


def sync_queue(repository: Repository, trigger: str = "manual") -> SyncRun:
    """Queue a sync (the "sync now" button); raises QueueUnavailable when the broker
    does not answer within a few seconds."""
    from celery import current_app

    from ci_status.tasks import sync_repository

    active = (
        SyncRun.objects.filter(
            repository=repository, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        )
        .order_by("-queued_at")
        .first()
    )
    if active and active.queued_at > timezone.now() - SyncRun.QUEUE_PATIENCE:
        return active
    if active and active.status == SyncRun.Status.QUEUED:
        active.status = SyncRun.Status.SKIPPED
        active.finished_at = timezone.now()
        active.error = (
            f"No worker took this sync within {SyncRun.QUEUE_PATIENCE.seconds // 60} minutes."
        )
        active.save(update_fields=["status", "finished_at", "error"])
    run = SyncRun.objects.create(repository=repository, trigger=trigger)
    try:
        # A fresh connection with a short timeout: a page must not hang on a dead broker.
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0.2, timeout=3)
            result = sync_repository.apply_async(
                args=[repository.pk],
                kwargs={"sync_run_id": run.pk},
                connection=connection,
                retry=False,
            )
    except Exception as exc:
        run.status = SyncRun.Status.FAILED
        run.error = f"The task queue is unavailable: {type(exc).__name__}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise QueueUnavailable(str(exc)) from exc
    run.task_id = result.id or ""
    run.save(update_fields=["task_id"])
    return run


__all__ = [
    "RESOURCES",
    "QueueUnavailable",
    "RateLimited",
    "SyncLocked",
    "repository_get_or_create",
    "repository_sync",
    "sync_lock",
    "sync_queue",
]


# --- stored community figures --------------------------------------------------------
ITEM_FIELDS = [
    "first_response_at",
    "first_response_by",
    "first_maintainer_response_at",
    "first_maintainer_response_by",
    "review_given",
    "maintainer_reviewed",
    "approved_by",
    "from_maintainer",
]
REFRESH_CHUNK = 2000


def community_registry(repository: Repository) -> Registry:
    """The registry as matching the repository's items needs it: the techniques whose
    issues live there, and their maintainers (two queries)."""
    maintainers: dict[int, set[str]] = {}
    for group_id, login in Maintainer.objects.filter(status=Maintainer.Status.ACTIVE).values_list(
        "group_id", "github_login"
    ):
        maintainers.setdefault(group_id, set()).add(login.lower())
    name = repository.full_name.lower()
    techniques = [t for t in Technique.objects.order_by("pk") if t.repository_name.lower() == name]
    return Registry.build(techniques, maintainers)


def _events_by_number(
    repository: Repository, numbers: list[int]
) -> dict[int, list[Mapping[str, Any]]]:
    """Comments and reviews of these items, oldest first."""
    events: dict[int, list[Mapping[str, Any]]] = {}
    for row in (
        Comment.objects.filter(repository=repository, issue_number__in=numbers)
        .order_by("created_at", "id")
        .values(
            "issue_number",
            "kind",
            "author",
            "author_is_bot",
            "author_association",
            "state",
            "created_at",
        )
    ):
        events.setdefault(row["issue_number"], []).append(row)
    return events


def community_items_refresh(repository: Repository, numbers, registry: Registry) -> set[int]:
    """Store which techniques these items belong to and their first responses; returns
    the ids of the techniques whose figures changed with them (before or after)."""
    issues = list(
        Issue.objects.filter(repository=repository, number__in=list(numbers)).values(
            "id",
            "number",
            "labels",
            "files",
            "state",
            "title",
            "body_excerpt",
            "author",
            *ITEM_FIELDS,
        )
    )
    if not issues:
        return set()
    ids = [i["id"] for i in issues]
    events = _events_by_number(repository, [i["number"] for i in issues])
    old_links = {
        (issue_id, tid, via, reason): pk
        for pk, issue_id, tid, via, reason in ItemTechnique.objects.filter(
            issue_id__in=ids
        ).values_list("pk", "issue_id", "technique_id", "via", "reason")
    }
    new_links, changed = set(), []
    for item in issues:
        matches = match_item(item, registry)
        new_links |= {(item["id"], tid, via, reason) for tid, (via, reason) in matches.items()}
        fields = first_responses(
            item, events.get(item["number"], []), item_maintainers(matches, registry)
        )
        if any(item[name] != value for name, value in fields.items()):
            changed.append({"id": item["id"], **fields})
    stale = [pk for key, pk in old_links.items() if key not in new_links]
    # A raw delete: per-row delete signals would cost a query per link.
    ItemTechnique.objects.filter(pk__in=stale)._raw_delete(ItemTechnique.objects.db)
    ItemTechnique.objects.bulk_create(
        ItemTechnique(issue_id=issue_id, technique_id=tid, via=via, reason=reason)
        for issue_id, tid, via, reason in new_links - set(old_links)
    )
    _issues_set(changed)
    if stale or changed or new_links != set(old_links):
        # Items and their links: no technique's own page shows them (its figures do).
        bump_data_version(registry=False, app="ci_status", techniques=())
    # The items changed (state, labels, title...): all their techniques, before and after.
    return {key[1] for key in new_links | set(old_links)}


def _issues_set(rows: list[dict]) -> None:
    """Write the response fields of many issues: one UPDATE ... FROM (VALUES ...) per
    1,000 rows on PostgreSQL (Django's bulk_update builds a CASE per row and field)."""
    if connection.vendor != "postgresql":
        Issue.objects.bulk_update([Issue(**row) for row in rows], ITEM_FIELDS, batch_size=500)
        return
    table = Issue._meta.db_table
    columns = {f.attname: (f.column, f.db_type(connection)) for f in Issue._meta.concrete_fields}
    names = ["id", *ITEM_FIELDS]
    setters = ", ".join(f'"{columns[n][0]}" = v."{columns[n][0]}"' for n in ITEM_FIELDS)
    row_sql = "(" + ", ".join(f"%s::{columns[n][1]}" for n in names) + ")"
    aliases = ", ".join(f'"{columns[n][0]}"' for n in names)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            params = [
                json.dumps(row[n]) if n == "approved_by" else row[n] for row in batch for n in names
            ]
            values = ", ".join([row_sql] * len(batch))
            # Identifiers come from the model's fields; every value is a parameter.
            sql = f'UPDATE "{table}" AS i SET {setters} FROM (VALUES {values}) AS v({aliases}) WHERE i."id" = v."id"'  # noqa: S608  # nosec B608
            cursor.execute(sql, params)


# The issue fields the community figures read, per linked item.
_ISSUE_FIELDS = (
    "number",
    "kind",
    "title",
    "state",
    "labels",
    "html_url",
    "created_at",
    "draft",
    "author_is_bot",
    "from_maintainer",
    "first_response_at",
    "first_maintainer_response_at",
    "maintainer_reviewed",
)


def community_figures_refresh(technique_ids=None, now=None) -> int:
    """Recompute and store the figures of these techniques (all when None)."""
    now = now or timezone.now()
    chosen = Technique.objects.order_by("pk")
    if technique_ids is not None:
        chosen = chosen.filter(pk__in=list(technique_ids))
    techniques = list(chosen)
    if not techniques:
        return 0
    horizon = now - timedelta(days=WINDOW_DAYS)
    rows: dict[int, list[Mapping[str, Any]]] = {t.pk: [] for t in techniques}
    for row in (
        ItemTechnique.objects.filter(technique__in=list(rows))
        .filter(Q(issue__state=Issue.State.OPEN) | Q(issue__created_at__gte=horizon))
        .values(
            "technique_id",
            "via",
            "reason",
            **{name: F(f"issue__{name}") for name in _ISSUE_FIELDS},
        )
        .iterator(chunk_size=5000)
    ):
        rows[row["technique_id"]].append(row)
    stored = [
        CommunityFigures(technique=t, computed_at=now, **figures_for(t, rows[t.pk], now))
        for t in techniques
    ]
    CommunityFigures.objects.bulk_create(
        stored,
        update_conflicts=True,
        unique_fields=["technique"],
        update_fields=[
            f.name
            for f in CommunityFigures._meta.concrete_fields
            if f.name not in {"id", "technique"}
        ],
    )
    bump_data_version(
        registry=False,
        app="ci_status",
        techniques=None if technique_ids is None else [t.pk for t in techniques],
    )
    return len(stored)


def community_refresh(repository: Repository, numbers=None, now=None) -> set[int]:
    """Bring the stored community figures up to date after these items changed (all
    items when None, or when the registry changed since the last refresh); returns the
    ids of the techniques whose figures were refreshed."""
    registry = community_registry(repository)
    full = numbers is None or repository.community_fingerprint != registry.fingerprint
    if full:
        numbers = (
            Issue.objects.filter(repository=repository)
            .order_by("number")
            .values_list("number", flat=True)
        )
    numbers = list(numbers)
    affected: set[int] = set()
    for start in range(0, len(numbers), REFRESH_CHUNK):
        with transaction.atomic():
            affected |= community_items_refresh(
                repository, numbers[start : start + REFRESH_CHUNK], registry
            )
    if full:
        repository.community_fingerprint = registry.fingerprint
        repository.save(update_fields=["community_fingerprint"])
    techniques = set(registry.techniques) if full else affected
    community_figures_refresh(list(techniques), now)
    return techniques

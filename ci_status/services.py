"""GitHub sync workflows: ``repository_sync`` (used by the Celery task, the management
command, the demo and the bench), the per-repository lock, and ``sync_queue``.

A sync walks each resource page by page and writes every page in its own transaction,
so memory stays flat whatever the repository's size and a sync that dies keeps what it
wrote. Re-syncs are incremental (``since=`` for issues and comments, ``created>=`` for
runs) and conditional (the first page's ETag; a 304 means "nothing changed").
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import reset_queries, transaction
from django.db.models import F, Q
from django.utils import timezone

from ci_status import upserts
from ci_status.github import (
    GitHubClient,
    GitHubError,
    NotFound,
    Page,
    RateLimited,
    parse_timestamp,
)
from ci_status.models import Issue, Repository, SyncCursor, SyncRun
from techniques.text import fit

logger = logging.getLogger(__name__)
RESOURCES = ["labels", "issues", "comments", "pulls", "releases", "runs"]
# PR reviews and files are fetched per PR: only for open PRs and those closed in this
# window (the rules look no further back), and only when the PR changed since.
DETAIL_DAYS = int(os.environ.get("GITHUB_SYNC_DETAIL_DAYS", "180"))
# Workflow runs older than this are not fetched on the first sync.
RUNS_DAYS = int(os.environ.get("GITHUB_SYNC_RUNS_DAYS", "90"))
LOCK_SECONDS = int(os.environ.get("GITHUB_SYNC_LOCK_SECONDS", "300"))
EVALUATE_TASK = "adherence.tasks.evaluate_adherence"


class SyncLocked(Exception):
    """Another sync of the same repository is running."""


# --- the lock ------------------------------------------------------------------------
class _RedisLock:
    def __init__(self, url: str, name: str, ttl: int):
        import redis

        self.lock = redis.Redis.from_url(url, socket_timeout=5).lock(
            f"tfmot-portal:sync:{name}", timeout=ttl
        )

    def acquire(self) -> bool:
        return self.lock.acquire(blocking=False)

    def extend(self) -> None:
        self.lock.reacquire()

    def release(self) -> None:
        try:
            self.lock.release()
        except Exception:  # expired meanwhile: someone else may hold it now
            logger.warning("sync lock had expired before release")


class _RowLock:
    """A lock on the Repository row: a conditional UPDATE, with an expiry so that a
    killed worker does not hold it forever."""

    def __init__(self, repository: Repository, ttl: int):
        self.pk = repository.pk
        self.ttl = ttl
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        now = timezone.now()
        free = Q(lock_until__isnull=True) | Q(lock_until__lt=now) | Q(lock_owner=self.owner)
        return bool(
            Repository.objects.filter(free, pk=self.pk).update(
                lock_owner=self.owner, lock_until=now + timedelta(seconds=self.ttl)
            )
        )

    def extend(self) -> None:
        Repository.objects.filter(pk=self.pk, lock_owner=self.owner).update(
            lock_until=timezone.now() + timedelta(seconds=self.ttl)
        )

    def release(self) -> None:
        Repository.objects.filter(pk=self.pk, lock_owner=self.owner).update(
            lock_owner="", lock_until=None
        )


def _lock_for(repository: Repository, ttl: int):
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        return _RedisLock(broker, repository.full_name.lower(), ttl)
    return _RowLock(repository, ttl)


@contextmanager
def sync_lock(repository: Repository, ttl: int | None = None):
    """One sync per repository at a time; yields the lock (``extend()`` it while busy)."""
    lock = _lock_for(repository, ttl or LOCK_SECONDS)
    if not lock.acquire():
        raise SyncLocked(f"A sync of {repository.full_name} is already running.")
    try:
        yield lock
    finally:
        lock.release()


# --- repositories --------------------------------------------------------------------
def repository_get_or_create(full_name: str | None = None) -> Repository:
    full_name = (full_name or settings.GITHUB_REPOSITORY).strip()
    repository = Repository.objects.filter(full_name__iexact=full_name).first()
    if repository is None:
        repository, _ = Repository.objects.get_or_create(
            full_name=full_name, defaults={"html_url": f"https://github.com/{full_name}"}
        )
    return repository


class _CursorETags:
    """The client's ETag store for one resource: the ETag of its first page's URL.

    A new ETag is kept aside and written only by ``commit()``, once every page of the
    listing is written: a sync that dies half-way must not make the next one a 304.
    """

    def __init__(self, cursor: SyncCursor):
        self.cursor = cursor
        self.pending: tuple[str, str] | None = None

    def get(self, url: str) -> str | None:
        return self.cursor.etag if self.cursor.url == url and self.cursor.etag else None

    def set(self, url: str, etag: str) -> None:
        self.pending = (fit(SyncCursor, "url", url), fit(SyncCursor, "etag", etag))

    def commit(self) -> None:
        if self.pending:
            self.cursor.url, self.cursor.etag = self.pending
            self.cursor.save(update_fields=["url", "etag"])
            self.pending = None


# --- the sync ------------------------------------------------------------------------
class _Sync:
    def __init__(self, repository, client, run, lock, on_progress):
        self.repository = repository
        self.client = client
        self.run = run
        self.lock = lock
        self.on_progress = on_progress
        self.touched_numbers: set[int] = set()
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
        run.rate_limit_remaining = stats.rate_limit.remaining
        run.rate_limit_reset = stats.rate_limit.reset_at
        run.save(
            update_fields=[
                "requests",
                "not_modified",
                "rows_written",
                "rate_limit_remaining",
                "rate_limit_reset",
                "progress",
                "per_resource",
            ]
        )
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
        etags = self.client.etags = _CursorETags(cursor)
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

    def sync_labels(self):
        self.simple("labels", self.client.labels, self.handle_labels)

    def sync_releases(self):
        self.simple("releases", self.client.releases, self.handle_releases)

    def simple(self, resource: str, fetch: Callable, handle: Callable):
        """A full listing with a constant URL: the first page's ETag says "unchanged"."""
        cursor = self.cursor(resource)
        start_requests, start_304 = self.client.stats.requests, self.client.stats.not_modified
        etags = self.client.etags = _CursorETags(cursor)
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
            return upserts.upsert_issues(self.repository, items)

        self.listing("issues", lambda since: self.client.issues(since), handle, _max_updated)

    def sync_comments(self):
        def handle(items):
            rows = [upserts.comment_from_json(self.repository, d) for d in items]
            numbers = upserts.upsert_comments(self.repository, rows)
            upserts.refresh_responses(self.repository, numbers)
            return len(rows)

        self.listing(
            "comments", lambda since: self.client.issue_comments(since), handle, _max_updated
        )

    def sync_runs(self):
        cursor = self.cursor("runs")
        if cursor.since is None:
            # The first sync looks back RUNS_DAYS; kept, so that the URL (and its ETag)
            # stays the same until a run shows up.
            cursor.since = timezone.now().replace(microsecond=0) - timedelta(days=RUNS_DAYS)
            cursor.save(update_fields=["since"])

        def fetch(since):
            return self.client.workflow_runs(created_since=since)

        def handle(items):
            return upserts.upsert_runs(self.repository, items)

        self.listing("runs", fetch, handle, _runs_state, _runs_since)

    def sync_pulls(self):
        """Reviews and files of the PRs that need them (open or recently closed, and
        changed since their details were fetched)."""
        cursor = self.cursor("pulls")
        start_requests, start_304 = self.client.stats.requests, self.client.stats.not_modified
        horizon = timezone.now() - timedelta(days=DETAIL_DAYS)
        todo = list(
            Issue.objects.filter(repository=self.repository, kind=Issue.Kind.PR)
            .filter(Q(state="open") | Q(closed_at__gte=horizon))
            .filter(Q(details_synced_for__isnull=True) | ~Q(details_synced_for=F("updated_at")))
            .values_list("number", "updated_at")
        )
        self.run.progress.update(resource="pulls", pages=0, items=0, last_page=len(todo))
        for number, updated_at in todo:
            try:
                reviews = self.client.pull_reviews(number)
                files = self.client.pull_files(number)
            except NotFound:  # deleted or moved meanwhile: nothing to learn
                reviews, files = [], []
            with transaction.atomic():
                rows = [upserts.review_from_json(self.repository, number, r) for r in reviews]
                upserts.upsert_comments(self.repository, rows)
                Issue.objects.filter(repository=self.repository, number=number).update(
                    files=[str(f.get("filename", ""))[:300] for f in files][:3000],
                    details_synced_for=updated_at,
                )
                upserts.refresh_responses(self.repository, {number})
                self.wrote("pulls", len(rows) + 1)
            self.run.progress["pages"] += 1
            self.run.progress["items"] += 1
            self.flush()
        self.finish_cursor(cursor, "pulls", start_requests, start_304)


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
        if item.get("status") != "completed" and created:
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
    """Sync a repository from GitHub; returns its SyncRun (``status`` ok or failed).

    GitHub failures do not raise: they end the sync cleanly, keep what was written and
    are recorded on the SyncRun. ``SyncLocked`` is raised when another sync runs, and a
    transient failure (``RateLimited``, ``Unavailable``) is re-raised after recording so
    that the Celery task can retry.
    """
    resources = [r for r in RESOURCES if r in (resources or RESOURCES)]
    client = client or GitHubClient(repository.full_name)
    run = sync_run or SyncRun(repository=repository, trigger=trigger)
    lock_cm = sync_lock(repository) if use_lock else _no_lock()
    with lock_cm as lock:
        # Whoever held the lock before us is gone: its runs did not finish.
        SyncRun.objects.filter(repository=repository, status=SyncRun.Status.RUNNING).exclude(
            pk=run.pk
        ).update(status=SyncRun.Status.INTERRUPTED, finished_at=timezone.now())
        run.status = SyncRun.Status.RUNNING
        run.resource = "all" if len(resources) == len(RESOURCES) else ",".join(resources)
        run.started_at = timezone.now()
        run.finished_at = None
        run.error = ""
        run.progress = {"done": []}
        run.per_resource = {}
        run.rows_written = 0
        run.save()
        sync = _Sync(repository, client, run, lock, on_progress)
        error: Exception | None = None
        resource = "start"
        try:
            repository.api_url = fit(Repository, "api_url", client.base_url)
            for resource in resources:
                getattr(sync, f"sync_{resource}")()
            upserts.record_maintainer_activity(repository)
        except GitHubError as exc:
            error = exc
            run.error = f"{resource}: {exc}"
        except Exception as exc:
            error = exc
            run.error = f"{resource}: internal error {type(exc).__name__}: {str(exc)[:300]}"
            logger.exception("GitHub sync of %s failed", repository)
        run.status = SyncRun.Status.FAILED if error else SyncRun.Status.OK
        run.finished_at = timezone.now()
        sync.flush(force=True)
        run.save(update_fields=["status", "finished_at", "error"])
        if not error:
            repository.last_synced_at = run.finished_at
            repository.save(update_fields=["last_synced_at", "api_url"])
    if error and getattr(error, "transient", False):
        raise error
    if error and not isinstance(error, GitHubError):
        raise error
    if evaluate and not error:
        request_adherence_evaluation()
    return run


@contextmanager
def _no_lock():
    yield None


def request_adherence_evaluation() -> bool:
    """Ask the adherence engine to re-evaluate (its task, by name: no import)."""
    from celery import current_app

    try:
        current_app.send_task(EVALUATE_TASK)
        return True
    except Exception as exc:  # broker down: the next scheduled evaluation catches up
        logger.warning("could not queue %s: %s", EVALUATE_TASK, exc)
        return False


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
    if active and active.queued_at > timezone.now() - timedelta(minutes=30):
        return active
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

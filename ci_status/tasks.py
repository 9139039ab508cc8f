"""Celery entry points: ids in, ``ci_status.services`` does the work. Safe to run twice
(upserts on natural keys) and acknowledged late, so a worker killed mid-sync leaves its
message to be delivered again and the next sync carries on from what was written."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from ci_status import services
from ci_status.models import Repository, SyncRun
from github import GitHubError, RateLimited
from techniques.text import fit

logger = logging.getLogger(__name__)


def _retry_delay(seconds: float) -> int:
    return int(min(max(seconds, 2), 3600))


@shared_task(
    bind=True,
    name="ci_status.tasks.sync_repository",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def sync_repository(self, repository_id: int, sync_run_id: int | None = None, resources=None):
    """Sync one repository (all resources, or the named ones)."""
    repository = Repository.objects.filter(pk=repository_id).first()
    if repository is None:
        return {"status": "gone"}
    run = SyncRun.objects.filter(pk=sync_run_id).first() if sync_run_id else None
    if run is None:
        run = SyncRun(repository=repository, trigger="schedule")
    run.task_id = fit(SyncRun, "task_id", self.request.id)
    try:
        run = services.repository_sync(repository, resources=resources, sync_run=run)
    except services.SyncLocked as exc:
        if self.request.retries >= self.max_retries:
            _give_up(run, "Skipped: another sync of this repository kept running.")
            return {"status": "skipped"}
        if run.pk is None:
            run.save()
        raise self.retry(
            exc=exc, countdown=_retry_delay(settings.GITHUB_SYNC_LOCK_SECONDS / 2)
        ) from exc
    except RateLimited as exc:
        wait = (exc.reset_at - timezone.now()).total_seconds() if exc.reset_at else 60
        raise self.retry(exc=exc, countdown=_retry_delay(wait)) from exc
    except GitHubError as exc:  # transient (5xx, timeouts): back off and try again
        raise self.retry(exc=exc, countdown=_retry_delay(30 * 2**self.request.retries)) from exc
    return {"sync_run": run.pk, "status": run.status}


def _give_up(run: SyncRun, message: str) -> None:
    if run.pk:
        run.status = SyncRun.Status.FAILED
        run.error = message
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])


@shared_task(name="ci_status.tasks.sync_resource", acks_late=True)
def sync_resource(repository_id: int, resource: str):
    """One resource of one repository (e.g. "runs" more often than the rest)."""
    if resource not in services.RESOURCES:
        raise ValueError(f"Unknown resource {resource!r}")
    return sync_repository.delay(repository_id, resources=[resource]).id


@shared_task(name="ci_status.tasks.sync_all_repositories", acks_late=True)
def sync_all_repositories(resources=None):
    """The periodic job: queue a sync of every repository (the configured one and the
    techniques'); each runs alone (the per-repository lock), in parallel with others."""
    services.repositories_ensure()
    for pk in Repository.objects.values_list("pk", flat=True):
        sync_repository.delay(pk, resources=resources)


@shared_task(name="ci_status.tasks.refresh_community", acks_late=True)
def refresh_community():
    """Recompute the stored community figures of every repository."""
    for repository in Repository.objects.all():
        services.community_refresh(repository)

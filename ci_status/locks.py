"""One sync per repository at a time: a Redis lock when the broker is Redis, else a
lock on the Repository row. Both expire, so that a killed worker does not hold one
forever; a sync extends its lock while it progresses."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ci_status.models import Repository

logger = logging.getLogger(__name__)


class SyncLocked(Exception):
    """Another sync of the same repository is running."""


class RedisLock:
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


class RowLock:
    """A lock on the Repository row: a conditional UPDATE, with an expiry."""

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


def lock_for(repository: Repository, ttl: int):
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        return RedisLock(broker, repository.full_name.lower(), ttl)
    return RowLock(repository, ttl)


@contextmanager
def sync_lock(repository: Repository, ttl: int | None = None):
    """One sync per repository at a time; yields the lock (``extend()`` it while busy)."""
    lock = lock_for(repository, ttl or settings.GITHUB_SYNC_LOCK_SECONDS)
    if not lock.acquire():
        raise SyncLocked(f"A sync of {repository.full_name} is already running.")
    try:
        yield lock
    finally:
        lock.release()


@contextmanager
def no_lock():
    yield None

"""Readiness: one check per dependency, each ``{"status": "ok" | "down" | "stale", ...}``.

The worker and beat prove they are alive by writing a timestamp in the cache (see
``heartbeat``): the worker every ``WORKER_HEARTBEAT_SECONDS`` from its main process,
beat each time it queues its periodic ``ops.tasks.beat_tick``. Thresholds are settings
(``READYZ_*_MAX_AGE``).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from ci_status import selectors as ci_selectors

logger = logging.getLogger(__name__)

WORKER_KEY = "ops:heartbeat:worker"
BEAT_KEY = "ops:heartbeat:beat"


def heartbeat(key: str, **details) -> None:
    """Record that a background part is alive (kept for a day, read by ``readiness``)."""
    cache.set(key, {"at": time.time(), **details}, 24 * 3600)


def _error(exc: Exception) -> str:
    # The kind of failure only: addresses and messages stay in the logs.
    logger.warning("readyz: %s: %s", type(exc).__name__, exc)
    return type(exc).__name__


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"status": "down", "error": _error(exc)}
    return {"status": "ok", "vendor": connection.vendor}


def check_cache() -> dict:
    try:
        key = "ops:readyz:probe"
        value = str(time.time())
        cache.set(key, value, 30)
        if cache.get(key) != value:
            return {"status": "down", "error": "the cache did not keep a value"}
    except Exception as exc:
        return {"status": "down", "error": _error(exc)}
    return {
        "status": "ok",
        "backend": str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1],
    }


def check_broker() -> dict:
    from ops.metrics import queue_lengths

    try:
        lengths = queue_lengths()
    except Exception as exc:
        return {"status": "down", "error": _error(exc)}
    return {"status": "ok", "queued": sum(lengths.values())}


def _age_check(key: str, max_age: int, what: str) -> dict:
    try:
        beat = cache.get(key)
    except Exception as exc:
        return {"status": "down", "error": f"cache unavailable: {_error(exc)}"}
    if not beat:
        return {"status": "down", "error": f"no {what} recorded", "max_age_seconds": max_age}
    age = round(max(0.0, time.time() - beat["at"]), 1)
    entry = {"age_seconds": age, "max_age_seconds": max_age}
    entry.update({k: v for k, v in beat.items() if k != "at"})
    entry["status"] = "ok" if age <= max_age else "stale"
    return entry


def check_worker() -> dict:
    return _age_check(WORKER_KEY, settings.READYZ_WORKER_MAX_AGE, "worker heartbeat")


def check_beat() -> dict:
    return _age_check(BEAT_KEY, settings.READYZ_BEAT_MAX_AGE, "beat tick")


def check_sync() -> dict:
    max_age = settings.READYZ_SYNC_MAX_AGE
    try:
        finished = ci_selectors.last_successful_sync_at()
    except Exception as exc:
        return {"status": "down", "error": _error(exc)}
    if not max_age:
        return {"status": "ok", "checked": False}
    if finished is None:
        return {"status": "down", "error": "no successful sync yet", "max_age_seconds": max_age}
    age = round((timezone.now() - finished).total_seconds(), 1)
    return {
        "status": "ok" if age <= max_age else "stale",
        "age_seconds": age,
        "max_age_seconds": max_age,
        "finished_at": finished.isoformat(),
    }


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
    "sync": check_sync,
}


def readiness() -> tuple[bool, dict]:
    """(all ok, {dependency: entry})."""
    entries = {name: check() for name, check in CHECKS.items()}
    return all(e["status"] == "ok" for e in entries.values()), entries

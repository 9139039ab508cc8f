"""Readiness: one check per dependency, each ``{"status": "ok" | "down" | "stale", ...}``.

Ready means this instance can serve: the database, the cache and the broker answer
(``READY_CHECKS``). The worker, beat and the sync's age are reported beside them
(``DEGRADED_CHECKS``): when one is down or stale the portal is "degraded", still ready,
since a load balancer must not take the pages out because a background part or GitHub
is late.

The worker and beat prove they are alive by writing a timestamp in the database (see
``heartbeat``), which every process reads whatever the cache: the worker every
``WORKER_HEARTBEAT_SECONDS`` from its main process, beat each time it queues its
periodic ``ops.tasks.beat_tick``. Thresholds are settings (``READYZ_*_MAX_AGE``).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from ci_status import selectors as ci_selectors
from ops.models import Heartbeat

logger = logging.getLogger(__name__)

WORKER_KEY = Heartbeat.Part.WORKER
BEAT_KEY = Heartbeat.Part.BEAT


def heartbeat(key: str, **details) -> None:
    """Record that a background part is alive (read by ``readiness``). One upsert, no
    model signal: a heartbeat is not a change of the portal's data (no page goes stale)."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(part=key, at=timezone.now(), details=details)],
        update_conflicts=True,
        unique_fields=["part"],
        update_fields=["at", "details"],
    )


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
        beat = Heartbeat.objects.filter(part=key).first()
    except Exception as exc:
        return {"status": "down", "error": f"database unavailable: {_error(exc)}"}
    if beat is None:
        return {"status": "down", "error": f"no {what} recorded", "max_age_seconds": max_age}
    age = round(max(0.0, (timezone.now() - beat.at).total_seconds()), 1)
    entry: dict = {"age_seconds": age, "max_age_seconds": max_age}
    entry.update(beat.details)
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


# What this instance needs to serve: one failing makes it unready (503).
READY_CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
# Reported beside them: one failing makes the portal degraded, still ready.
DEGRADED_CHECKS = {
    "worker": check_worker,
    "beat": check_beat,
    "sync": check_sync,
}
CHECKS = {**READY_CHECKS, **DEGRADED_CHECKS}


def readiness() -> tuple[str, dict]:
    """("ok" | "degraded" | "unavailable", {dependency: entry}); only "unavailable"
    means not ready."""
    entries = {name: check() for name, check in CHECKS.items()}
    if any(entries[name]["status"] != "ok" for name in READY_CHECKS):
        return "unavailable", entries
    if any(entries[name]["status"] != "ok" for name in DEGRADED_CHECKS):
        return "degraded", entries
    return "ok", entries

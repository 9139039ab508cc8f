"""/healthz stays a liveness check; /readyz answers 503 only when this instance cannot
serve (database, cache, broker) and reports the worker, beat and the sync as "degraded";
details for the staff and the metrics token only. A real Redis and a real worker are
stopped to see it."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from ci_status.services import repository_get_or_create
from ops import context, health, metrics
from ops.tasks import beat_tick
from tests.factories import SyncRunFactory
from tests.processes import wait_for
from tests.test_sync_worker import database_url

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_is_liveness_only(client):
    response = client.get("/healthz")  # no database access allowed in this test
    assert response.status_code == 200 and response.content == b"ok"


def test_readyz_is_ok_when_everything_answers_and_degraded_when_time_passes(
    carol_client, settings, broker, locmem_cache
):
    client = carol_client
    broker("memory://")
    SyncRunFactory(repository=repository_get_or_create(), ok=True)
    health.heartbeat(health.WORKER_KEY, hostname="w1")
    beat_tick.apply_async()  # publishing beat's tick is how beat reports
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"
    checks = response.json()["checks"]
    assert {name: c["status"] for name, c in checks.items()} == dict.fromkeys(
        ["database", "cache", "broker", "worker", "beat", "sync"], "ok"
    )
    assert checks["broker"]["queued"] >= 1  # the tick, no worker here
    assert checks["worker"]["hostname"] == "w1"

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.READYZ_BEAT_MAX_AGE + 5)):
        response = client.get("/readyz")
    # Silent background parts: degraded, and still ready to serve pages.
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    statuses = {name: c["status"] for name, c in response.json()["checks"].items()}
    assert statuses["beat"] == statuses["worker"] == "stale"
    assert statuses["sync"] == statuses["database"] == "ok"


def test_a_fresh_deploy_without_a_sync_is_ready_and_degraded(
    carol_client, settings, broker, locmem_cache
):
    client = carol_client
    broker("memory://")
    health.heartbeat(health.WORKER_KEY)
    health.heartbeat(health.BEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["sync"]["error"] == "no successful sync yet"
    SyncRunFactory(
        repository=repository_get_or_create(),
        ok=True,
        minutes_ago=settings.READYZ_SYNC_MAX_AGE // 60 + 5,
    )
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["sync"]["status"] == "stale"
    settings.READYZ_SYNC_MAX_AGE = 0  # a deployment that does not sync
    assert client.get("/readyz").json()["status"] == "ok"


def test_heartbeats_are_seen_by_every_process_whatever_the_cache(
    carol_client, broker, locmem_cache
):
    broker("memory://")
    health.heartbeat(health.WORKER_KEY, hostname="w1")
    health.heartbeat(health.BEAT_KEY)
    locmem_cache.clear()  # another process's memory cache: the web process never saw the beats
    checks = carol_client.get("/readyz").json()["checks"]
    assert checks["worker"]["status"] == checks["beat"]["status"] == "ok"
    assert checks["worker"]["hostname"] == "w1"
    text = metrics.render().decode()
    assert 'portal_heartbeat_timestamp_seconds{part="worker"}' in text
    assert 'portal_heartbeat_timestamp_seconds{part="beat"}' in text


def test_anonymous_callers_get_the_bare_status(client, db, settings, broker, locmem_cache):
    broker("memory://")
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "degraded"}
    detailed = client.get("/readyz", headers={"Authorization": "Bearer metrics-token-for-tests"})
    assert set(detailed.json()["checks"]) == set(health.CHECKS)
    assert detailed.json()["checks"]["database"]["vendor"]
    wrong = client.get("/readyz", headers={"Authorization": "Bearer wrong"})
    assert wrong.json() == {"status": "degraded"}


def test_readyz_is_unavailable_when_the_cache_keeps_nothing(client, db, broker):
    broker("memory://")  # the tests' dummy cache keeps nothing: this instance cannot serve
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


@pytest.mark.slow
def test_readyz_sees_the_worker_stop_and_redis_go_down(
    carol_client, settings, broker, private_redis
):
    client = carol_client
    url, redis_server = private_redis
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.READYZ_WORKER_MAX_AGE = 3
    broker(url)
    SyncRunFactory(repository=repository_get_or_create(), ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        CELERY_BROKER_URL=url,
        CACHE_URL=url,
        WORKER_HEARTBEAT_SECONDS="1",
        DATABASE_URL=database_url(),  # the worker's heartbeat goes to the test database
    )
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            *("-A", "tfmot_portal", "worker", "--pool", "solo"),
            *("--hostname", "readyz-test@%h", "--without-mingle"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        beat_tick.apply_async()

        def ready():
            response = client.get("/readyz")
            return response.json()["status"] == "ok" and response

        checks = wait_for(ready, 40, "the worker's first heartbeat").json()["checks"]
        assert checks["worker"]["hostname"].startswith("readyz-test@")
        assert checks["cache"]["backend"] == "RedisCache"

        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

        def worker_silent():
            response = client.get("/readyz")
            return response.json()["checks"]["worker"]["status"] == "stale" and response

        response = wait_for(worker_silent, 20, "the worker's heartbeat to go stale")
        assert response.status_code == 200 and response.json()["status"] == "degraded"
        assert response.json()["checks"]["cache"]["status"] == "ok"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)

    redis_server.terminate()
    redis_server.wait(10)
    response = client.get("/readyz")
    assert response.status_code == 503
    statuses = {name: c["status"] for name, c in response.json()["checks"].items()}
    assert statuses["cache"] == statuses["broker"] == "down"
    assert statuses["worker"] == "stale"  # its last heartbeat is still in the database
    assert statuses["database"] == statuses["sync"] == "ok"
    assert response.json()["checks"]["cache"]["error"] == "ConnectionError"


def test_a_request_id_is_kept_only_when_well_formed(client, db):
    assert client.get("/healthz", headers={"X-Request-ID": "edge-42.a"})["X-Request-ID"] == (
        "edge-42.a"
    )
    for given in ("edge-42\n", "a" * 65, "a b", "<script>"):
        assert context.new_request_id(given) != given

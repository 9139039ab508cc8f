"""`make serve` for real, as the README's Deploying section runs it: gunicorn, a Celery
worker and beat on PostgreSQL (their own database) and Redis (their own db number), on a
free loopback port. Pages through gunicorn, /readyz, /metrics, then one SIGTERM while a
request and a sync task are in flight: the request is answered in full, the task
finishes, nothing is left unacknowledged."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests

from tests.processes import free_port, manage, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid(path: Path) -> int:
    return int(path.read_text().strip())


@pytest.fixture
def deployment(tmp_path, redis_url, fake_github):
    """Environment of a production deployment with its own database and Redis db."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("DATABASE_URL must point at PostgreSQL under CI=true")
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    name = "tfmot_serve_test" + os.environ.get("TEST_DB_SUFFIX", "")
    admin = psycopg.connect(server, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    broker = redis_url  # the run's own Redis database: parallel runs never share one
    store = redis.Redis.from_url(broker)
    store.flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "CELERY"))}
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=urlsplit(server)._replace(path=f"/{name}").geturl(),
        CELERY_BROKER_URL=broker,
        CACHE_URL=broker,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        HOST="127.0.0.1",
        PORT=str(free_port()),
        WEB_CONCURRENCY="2",
        CELERY_CONCURRENCY="1",
        VAR_DIR=str(tmp_path / "var"),
        RUN_DIR=str(tmp_path / "run"),
        LOG_DIR=str(tmp_path / "log"),
        STATIC_ROOT=str(tmp_path / "static"),
        GITHUB_API_URL=fake_github.url,
        GITHUB_TOKEN="",
        METRICS_TOKEN=secrets.token_urlsafe(32),
        LOG_FORMAT="json",
        CELERY_VISIBILITY_TIMEOUT="30",
    )
    yield env, store, fake_github, tmp_path
    for pidfile in (tmp_path / "run").glob("*.pid"):  # whatever a failure left running
        with contextlib.suppress(OSError, ValueError):
            pid = _pid(pidfile)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"tfmot_portal" in command or b"serve.sh" in command:
                os.kill(pid, signal.SIGKILL)
    store.flushdb()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _manage(env, *args):
    result = manage(*args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _raw_request_start(port: int, path: str) -> socket.socket:
    """A request whose headers are not finished yet: in flight until ``_finish``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
    return sock


def _finish(sock: socket.socket) -> bytes:
    sock.sendall(b"X-Request-ID: slow-request-1\r\nConnection: close\r\n\r\n")
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_make_serve_runs_and_stops_cleanly(deployment):
    env, store, github, tmp = deployment
    base = f"http://127.0.0.1:{env['PORT']}"
    run = tmp / "run"
    # The README's Deploying section: migrate (make serve does it too), demo data, serve.
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "load_demo")
    make = subprocess.Popen(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        stdout=(tmp / "make.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _check_serving(env, base, run, store, github, tmp, make)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            make.wait(60)


def _get(url, **kwargs):
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.ConnectionError:
        return None


def _check_serving(env, base, run, store, github, tmp, make):
    logs = tmp / "log"
    wait_for(
        lambda: (r := _get(f"{base}/healthz")) is not None and r.status_code == 200,
        60,
        f"gunicorn on {base} ({(tmp / 'make.log').read_text()[-2000:]})",
    )
    # Pages through gunicorn, static files under hashed names, the request id echoed.
    home = requests.get(base + "/", headers={"X-Request-ID": "home-1"}, timeout=10)
    assert home.status_code == 200 and "Magnitude-based weight pruning" in home.text
    assert home.headers["X-Request-ID"] == "home-1"
    assert requests.get(base + "/techniques/pruning/", timeout=10).status_code == 200
    css = re.search(r"/static/css/portal\.[0-9a-f]{12}\.css", home.text)
    assert css, "stylesheet not served under a hashed name"
    static = requests.get(base + css.group(0), timeout=10)
    assert static.status_code == 200 and "immutable" in static.headers["Cache-Control"]

    # Ready at once; "ok" rather than "degraded" once the worker and beat have reported.
    assert requests.get(base + "/readyz", timeout=10).json() in (
        {"status": "ok"},
        {"status": "degraded"},
    )
    token = {"Authorization": f"Bearer {env['METRICS_TOKEN']}"}
    ready = wait_for(
        lambda: (
            (r := _get(f"{base}/readyz", headers=token)) is not None
            and r.json()["status"] == "ok"
            and r
        ),
        40,
        "readyz ok",
    )
    assert set(ready.json()["checks"]) == {"database", "cache", "broker", "worker", "beat", "sync"}

    # Metrics: refused without the token; with it, every process's and the portal's figures.
    assert requests.get(base + "/metrics", timeout=10).status_code == 401
    text = requests.get(
        base + "/metrics", headers={"Authorization": f"Bearer {env['METRICS_TOKEN']}"}, timeout=10
    ).text
    assert 'portal_request_duration_seconds_count{method="GET",view="techniques:home"}' in text
    assert 'portal_github_rate_limit_remaining{repository="tensorflow/model-optimization"}' in text
    assert re.search(r'portal_open_gaps\{severity="high"\} [1-9]', text)
    assert 'portal_queue_length{queue="celery"}' in text
    assert "portal_techniques_by_health{" in text

    # A sync task in flight (the GitHub-shaped server answers slowly) ...
    with psycopg.connect(env["DATABASE_URL"]) as db:
        (repository_id,) = db.execute(
            "SELECT id FROM ci_status_repository WHERE full_name = %s",
            ["tensorflow/model-optimization"],
        ).fetchone()
    from celery import Celery

    github.delay = 1.0
    sender = Celery(broker=env["CELERY_BROKER_URL"])
    task = sender.send_task(
        "ci_status.tasks.sync_repository",
        args=[repository_id],
        headers={"portal_request_id": "queued-by-test-1"},
    )

    def sync_status():
        with psycopg.connect(env["DATABASE_URL"]) as db:
            row = db.execute(
                "SELECT status FROM ci_status_syncrun WHERE task_id = %s", [task.id]
            ).fetchone()
        return row[0] if row else None

    wait_for(lambda: sync_status() == "running", 30, "the sync task to start")
    # ... and a request in flight, then one SIGTERM to `make serve`.
    sock = _raw_request_start(int(env["PORT"]), "/techniques/pruning/")
    time.sleep(0.5)
    pids = {name: _pid(run / f"{name}.pid") for name in ("web", "worker", "beat")}
    os.kill(_pid(run / "serve.pid"), signal.SIGTERM)
    time.sleep(1)
    assert sync_status() == "running", "the task should still be running"
    response = _finish(sock)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
    assert len(body) == length and b"Magnitude-based weight pruning" in body

    assert make.wait(90) == 0, (tmp / "make.log").read_text()[-3000:]
    assert not any(_alive(pid) for pid in pids.values())
    # The task finished; no message is left unacknowledged, none was lost.
    assert sync_status() == "ok"
    assert store.hlen("unacked") == 0
    left = [json.loads(m)["headers"]["task"] for m in store.lrange("celery", 0, -1)]
    assert set(left) <= {"adherence.tasks.evaluate_adherence"}  # queued by the sync
    assert "Traceback" not in (logs / "beat.log").read_text()
    # Structured logs: the request's and the task's ids follow them.
    web_lines = [json.loads(line) for line in (logs / "web.log").read_text().splitlines()]
    assert any(line.get("request_id") == "slow-request-1" for line in web_lines)
    worker_lines = [
        json.loads(line)
        for line in (logs / "worker.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(line.get("request_id") == "queued-by-test-1" for line in worker_lines)

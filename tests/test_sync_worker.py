"""A real Celery worker consuming from Redis syncs against the GitHub-shaped server;
killed with SIGKILL mid-sync and restarted, it ends with complete, unduplicated data."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import Connection

from ci_status.models import Issue, SyncRun
from ci_status.tasks import sync_repository
from fake_github import FakeGitHub, bulk_dataset
from tests.factories import RepositoryFactory, SyncRunFactory
from tests.processes import wait_for

REPO = "tensorflow/model-optimization"
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker_env(transactional_db, redis_url, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs the PostgreSQL test database (run `make test`)")
    # The run's own Redis database, so that parallel runs never flush each other's queue.
    queue = redis.Redis.from_url(redis_url)
    queue.flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": "3",  # a killed worker's message comes back after 3 s
        "GITHUB_SYNC_LOCK_SECONDS": "3",  # and its lock expires as fast
        "GITHUB_TOKEN": "",
        "GITHUB_REPOSITORY": REPO,
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    yield env
    queue.flushdb()


class Worker:
    def __init__(self, env: dict, log: Path):
        self.log = log
        celery = Path(sys.executable).with_name("celery")
        self.process = subprocess.Popen(
            [
                str(celery),
                "-A",
                "tfmot_portal",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def queue_sync(broker_url, repository, run):
    with Connection(broker_url) as broker:
        sync_repository.apply_async(
            args=[repository.pk], kwargs={"sync_run_id": run.pk}, connection=broker
        )


def run_status(run):
    run.refresh_from_db()
    return run.status


def test_worker_killed_mid_sync_restarts_and_completes(worker_env, tmp_path):
    issues = 1500
    with FakeGitHub(bulk_dataset(issues), delay=0.08) as server:
        worker_env["GITHUB_API_URL"] = server.url
        repository = RepositoryFactory(full_name=REPO, last_synced_at=None)  # never synced
        run = SyncRunFactory(repository=repository, trigger="manual")
        log = tmp_path / "worker.log"
        worker = Worker(worker_env, log)
        try:
            queue_sync(worker_env["CELERY_BROKER_URL"], repository, run)

            def mid_issues():
                run.refresh_from_db()
                return (
                    run.progress.get("resource") == "issues" and run.progress.get("pages", 0) >= 3
                )

            wait_for(mid_issues, 60, "the sync to be half-way through the issues", log)
            worker.kill()
            written = Issue.objects.count()
            assert 0 < written < issues
            assert run_status(run) == SyncRun.Status.RUNNING  # nobody finished it

            worker = Worker(worker_env, log)  # the message comes back to the new worker
            wait_for(lambda: run_status(run) == SyncRun.Status.OK, 60, "the sync to finish", log)
        finally:
            worker.stop()
    numbers = list(Issue.objects.values_list("number", flat=True))
    assert len(numbers) == issues
    assert set(numbers) == set(range(1, issues + 1))
    assert SyncRun.objects.count() == 1  # the same run, delivered again
    run.refresh_from_db()
    assert run.error == ""

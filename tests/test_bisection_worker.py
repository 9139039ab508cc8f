"""A real Celery worker consuming from Redis bisects against the GitHub-shaped server;
killed with SIGKILL (while its runs are out, or after GitHub accepted a dispatch and
before the worker stored it) and replaced by a new worker, the bisection ends with the
right culprit, verified, within its budget, and no commit is dispatched again: the new
worker picks up the runs the killed one started."""

import os
import time
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone
from kombu import Connection

from convergence.bisection import budget
from convergence.models import Bisection, BisectionStep
from convergence.services import convergence_state_update
from convergence.tasks import advance_bisections
from fake_github import FakeGitHub, demo_dataset
from fake_github.actions import Behaviour, Workflow
from tests.factories import ConvergenceRunFactory
from tests.processes import wait_for
from tests.test_sync_worker import Worker, database_url

REPO = "tensorflow/model-optimization"
pytestmark = [pytest.mark.redis, pytest.mark.slow]
WORKFLOW = Workflow(
    ".github/workflows/convergence.yml", "Convergence tests", {"sha": True, "test": True}
)


@pytest.fixture
def server():
    """The GitHub-shaped server, its runs taking a second and a half from dispatch to
    result, so that a worker can be killed while they are out."""
    ds = demo_dataset()
    ds.workflows["convergence.yml"] = WORKFLOW
    ds.run_timing = (0.5, 1.0)
    with FakeGitHub(ds) as fake:
        yield fake


@pytest.fixture
def worker_env(transactional_db, redis_url, tmp_path, server):
    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs the PostgreSQL test database (run `make test`)")
    queue = redis.Redis.from_url(redis_url)
    queue.flushdb()
    env = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": "3",  # a killed worker's message comes back after 3 s
        "GITHUB_API_URL": server.url,
        "GITHUB_TOKEN": "",
        "GITHUB_REPOSITORY": REPO,
        "BISECTION_WORKFLOW": "convergence.yml",
        "BISECTION_MAX_CONCURRENT": "3",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    yield {**os.environ, **env}
    queue.flushdb()


def red_streak(test, commits: list[str], good: int, bad: int) -> None:
    """Nightly runs: ``test`` passed at ``commits[good]`` and failed at ``commits[bad]``
    and the commit after it, so its alert is open over the range good+1..bad."""
    now = timezone.now()
    for i, (sha, outcome) in enumerate(
        [(commits[good], "passed"), (commits[bad], "failed"), (commits[bad + 1], "failed")]
    ):
        ConvergenceRunFactory(
            test=test, tfmot_sha=sha, outcome=outcome, started_at=now - timedelta(days=3 - i)
        )
    convergence_state_update(test)
    assert test.alert_open


class Beat:
    """Queues ``advance_bisections`` whenever the queue is empty, as the beat's
    every-minute entry would, only sooner."""

    def __init__(self, broker_url: str):
        self.broker_url = broker_url
        self.queue = redis.Redis.from_url(broker_url)

    def tick(self) -> None:
        if self.queue.llen("celery") == 0:
            with Connection(self.broker_url) as broker:
                advance_bisections.apply_async(connection=broker)


def test_worker_killed_mid_bisection_is_replaced_and_the_bisection_finishes(
    worker_env, server, resnet, tmp_path
):
    ds = server.dataset
    commits = [c.sha for c in ds.commits]
    culprit = commits[-7]
    ds.behaviours[str(resnet)] = Behaviour(culprit=culprit)
    red_streak(resnet, commits, good=-18, bad=-2)  # 16 commits: -17 .. -2
    beat = Beat(worker_env["CELERY_BROKER_URL"])
    log = tmp_path / "worker.log"
    worker = Worker(worker_env, log)
    try:

        def runs_out():
            beat.tick()
            steps = list(BisectionStep.objects.order_by("pk"))
            out = [s for s in steps if s.status in {"dispatched", "running"}]
            return steps if out else None

        before = wait_for(runs_out, 60, "the worker to dispatch a run", log)
        worker.kill()
        bisection = Bisection.objects.get()
        assert bisection.state == Bisection.State.RUNNING  # nobody finished it
        killed_at = len(ds.dispatched)
        assert killed_at == len(before) >= 1

        worker = Worker(worker_env, log)

        def finished():
            beat.tick()
            bisection.refresh_from_db()
            return bisection.is_finished

        wait_for(finished, 90, "the new worker to finish the bisection", log)
    finally:
        worker.stop()

    assert bisection.state == Bisection.State.VERIFIED, bisection.reason
    assert bisection.culprit_sha == culprit
    assert bisection.culprit_parent_sha == commits[-8]
    assert len(bisection.commits) == 16
    assert len(ds.dispatched) > killed_at  # the new worker carried on
    # Every run GitHub was asked for is a step of the bisection, within the budget.
    assert bisection.runs_dispatched == len(ds.dispatched) <= budget(16)
    steps = list(bisection.steps.order_by("pk"))
    assert {s.run_id for s in steps} == set(ds.dispatched)
    # The runs the killed worker started were read by the new one, not dispatched again.
    for old in before:
        step = next(s for s in steps if s.pk == old.pk)
        assert step.status == BisectionStep.Status.DONE and step.verdict
    search = [s.sha for s in steps if s.purpose == BisectionStep.Purpose.SEARCH]
    assert len(search) == len(set(search))
    # The range's head already had a (nightly) result: it was never run again.
    assert commits[-2] not in search
    verify = sorted(s.sha for s in steps if s.purpose == BisectionStep.Purpose.VERIFY)
    assert verify == sorted([culprit, commits[-8]])
    assert Bisection.objects.count() == 1


class AnswersLate(dict):
    """The server's record of dispatches (``Dataset.dispatched``) that, while ``armed``,
    holds GitHub's answer to a dispatch for ``hold`` seconds once the run exists: the
    window in which a worker has asked for a run and not yet stored that it did."""

    def __init__(self, hold: float):
        super().__init__()
        self.hold, self.armed = hold, True

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        deadline = time.monotonic() + self.hold
        while self.armed and time.monotonic() < deadline:
            time.sleep(0.05)


def test_a_worker_killed_before_it_stored_a_dispatch_leaves_no_second_run(
    worker_env, server, resnet, tmp_path
):
    ds = server.dataset
    ds.dispatched = late = AnswersLate(hold=30)
    commits = [c.sha for c in ds.commits]
    culprit = commits[-7]
    ds.behaviours[str(resnet)] = Behaviour(culprit=culprit)
    red_streak(resnet, commits, good=-18, bad=-2)
    beat = Beat(worker_env["CELERY_BROKER_URL"])
    log = tmp_path / "worker.log"
    worker = Worker(worker_env, log)
    try:

        def asked():
            beat.tick()
            return len(ds.dispatched) >= 1

        wait_for(asked, 60, "the worker to ask GitHub for a run", log)
        worker.kill()  # GitHub has the run; the worker's transaction never committed
        assert not BisectionStep.objects.exists()
        orphan = next(iter(ds.dispatched.values()))
        late.armed = False

        worker = Worker(worker_env, log)
        bisection = Bisection.objects.get()

        def finished():
            beat.tick()
            bisection.refresh_from_db()
            return bisection.is_finished

        wait_for(finished, 90, "the new worker to finish the bisection", log)
    finally:
        worker.stop()

    assert bisection.state == Bisection.State.VERIFIED, bisection.reason
    assert bisection.culprit_sha == culprit
    # The run the killed worker asked for is the bisection's: not asked for twice.
    assert bisection.runs_dispatched == len(ds.dispatched) <= budget(16)
    steps = list(bisection.steps.order_by("pk"))
    assert {s.run_id for s in steps} == set(ds.dispatched)
    search = [s.sha for s in steps if s.purpose == BisectionStep.Purpose.SEARCH]
    assert len(search) == len(set(search)) and search[0] == orphan["sha"]

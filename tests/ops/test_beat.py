"""Beat stopped with SIGTERM saves each job's last run (django-celery-beat's
DatabaseScheduler, in PostgreSQL): started again, it does not run that job a second time.
(Killed instead, it would: it saves its schedule only every few minutes while running.)"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_beat_restarted_after_sigterm_does_not_run_a_job_twice(transactional_db, redis_url):
    if connection.vendor != "postgresql":
        pytest.skip("beat and the test share the database: needs PostgreSQL")
    broker = redis_url  # the run's own Redis database: parallel runs never share one
    store = redis.Redis.from_url(broker)
    store.flushdb()
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    # Beat saves the schedule after the first job it sends (the probe, within a second),
    # then only every few minutes and when it stops: the hourly job, due some seconds
    # after beat starts, is saved as run only by a clean stop.
    PeriodicTask.objects.create(name="probe", task="tests.beat.probe", interval=every_second)
    PeriodicTask.objects.create(
        name="hourly job",
        task="tests.beat.hourly",
        interval=hourly,
        last_run_at=timezone.now() - timedelta(hours=1) + timedelta(seconds=6),
    )
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(DATABASE_URL=database.geturl(), CELERY_BROKER_URL=broker, CACHE_URL=broker)
    command = [
        str(Path(sys.executable).parent / "celery"),
        *("-A", "tfmot_portal", "beat", "--loglevel", "INFO"),
        *("--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"),
    ]

    def sent(task):
        return [
            m for m in store.lrange("celery", 0, -1) if json.loads(m)["headers"]["task"] == task
        ]

    def run_beat_until(predicate, what):
        beat = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for(predicate, 30, what)
            # Beat writes its schedule right after sending a job; a SIGTERM landing inside
            # that write loses the entry it was writing (a race in the scheduler, not in a
            # clean stop): stop it once that write is done, as a deployment's stop would.
            time.sleep(2)
        finally:
            beat.send_signal(signal.SIGTERM)
            _, err = beat.communicate(timeout=30)
        assert beat.returncode == 0, err.decode()[-2000:]
        assert b"Traceback" not in err, err.decode()[-2000:]

    try:
        run_beat_until(lambda: sent("tests.beat.hourly"), "the hourly job to be due and sent")
        job = PeriodicTask.objects.get(name="hourly job")
        assert job.total_run_count == 1
        assert job.last_run_at > timezone.now() - timedelta(minutes=1)

        # Started again: three more probes prove beat has looked at its schedule several
        # times; the hourly job, saved as just run, is not sent again.
        probes = len(sent("tests.beat.probe"))
        run_beat_until(
            lambda: len(sent("tests.beat.probe")) >= probes + 3, "three more runs of the probe"
        )
        assert len(sent("tests.beat.hourly")) == 1
        assert PeriodicTask.objects.get(name="hourly job").total_run_count == 1
    finally:
        store.flushdb()

#!/usr/bin/env python3
"""Evaluation requests against a real worker: how much evaluating a stream of requests costs.

Usage: .venv/bin/python bench/evaluations.py [--scale 1] [--rate 10] [--duration 30]
       [--code PATH] [--busy N]
On the scale's data (bench/make_data.py; database prefix BENCH_DATABASE_PREFIX, default
tfmot_bench_batch_) and Redis database EVALUATIONS_REDIS_URL (default
redis://127.0.0.1:6379/10, emptied first; broker and cache), starts a Celery worker (two
processes, as `make serve`) and makes --rate requests a second for one random technique
each (``adherence.services.evaluation_request``, each in a transaction of its own) for
--duration seconds, then prints the evaluations run and the techniques they evaluated
(from the worker's log: each task's summary), the tasks it finished, the tasks still
waiting in the queue and the worker's CPU seconds. --code runs another checkout's code (the
worker and the requests; e.g. a `git worktree` of main for the figures before a change)
on the same database; --busy N runs N processes spinning for the duration beside it (the
web server's share of the cores under load). Stops the worker it started, also on a
failure.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_PREFIX", "tfmot_bench_batch_")
REDIS_URL = os.environ.get("EVALUATIONS_REDIS_URL", "redis://127.0.0.1:6379/10")


def service_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "tfmot_portal.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children, live ones included."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def requester(code: Path, database_url: str, rate: float, duration: float, seed: int) -> None:
    """Child process: the requests, in the code of ``code``."""
    os.environ.update(service_env(database_url))
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(code))
    os.chdir(code)  # Celery's Django fix-up puts the working directory first on the path
    import django

    django.setup()
    from django.db import transaction

    from adherence import services
    from adherence.services import evaluation_request
    from techniques.models import Technique

    assert Path(services.__file__).is_relative_to(code), services.__file__

    ids = list(Technique.objects.values_list("pk", flat=True))
    pick = random.Random(seed)
    start = time.monotonic()
    n = 0
    while (due := start + n / rate) < start + duration:
        time.sleep(max(0.0, due - time.monotonic()))
        with transaction.atomic():
            evaluation_request([pick.choice(ids)])
        n += 1
    print(n)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--busy", type=int, default=0, help="processes spinning beside the worker (a busy web)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    code = args.code.resolve()

    from bench.common import SERVER_URL, database_name

    database_url = f"{SERVER_URL.rsplit('/', 1)[0]}/{database_name(args.scale)}"
    if args.child:
        requester(code, database_url, args.rate, args.duration, args.seed)
        return 0

    import psycopg
    import redis

    with psycopg.connect(database_url, autocommit=True) as conn:
        techniques = conn.execute("SELECT count(*) FROM techniques_technique").fetchone()
        if not techniques or not techniques[0]:
            sys.exit(
                f"no data: BENCH_DATABASE_PREFIX=... bench/make_data.py --scale {args.scale:g}"
            )
        conn.execute(
            "DO $$ BEGIN IF to_regclass('adherence_evaluationrequest') IS NOT NULL"
            " THEN DELETE FROM adherence_evaluationrequest; END IF; END $$"
        )
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()

    with tempfile.NamedTemporaryFile("w+", prefix="evaluations-worker-", suffix=".log") as log:
        figures = measure(args, code, database_url, queue, log)
    print(f"code: {code} ({database_name(args.scale)}, {techniques[0]} techniques)")
    print(
        f"requests: {figures['requests']} in {args.duration:g} s, for one random technique"
        f" each; {args.busy} busy processes beside the worker"
    )
    print(f"evaluations run: {figures['evaluations']} (tasks finished: {figures['tasks']})")
    print(f"techniques evaluated: {figures['evaluated']}")
    print(f"tasks waiting at the end: {figures['waiting']}")
    print(f"worker CPU: {figures['cpu']:.1f} s")
    return 0


def spin(stop: float) -> None:
    while time.monotonic() < stop:
        pass


def measure(args, code: Path, database_url: str, queue, log) -> dict:
    """Start the worker, make the requests, read the figures, stop the worker."""
    import multiprocessing

    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "tfmot_portal", "worker", "--concurrency", "2",
         "--hostname", f"bench-evaluations-{os.getpid()}@%h", "--without-mingle",
         "--without-gossip", "--loglevel", "INFO"],
        cwd=code, env=service_env(database_url), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready." not in Path(log.name).read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.exit("the worker did not start:\n" + Path(log.name).read_text()[-3000:])
            time.sleep(0.2)
        cpu_before = cpu_seconds(worker.pid)
        busy = [
            multiprocessing.Process(target=spin, args=(time.monotonic() + args.duration,))
            for _ in range(args.busy)
        ]
        for process in busy:
            process.start()
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--scale", str(args.scale), "--rate",
             str(args.rate), "--duration", str(args.duration), "--code", str(code),
             "--seed", str(args.seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        waiting = queue.llen("celery")
        cpu = cpu_seconds(worker.pid) - cpu_before
        done = re.findall(
            r"evaluate_adherence\[[^]]+\] succeeded in [0-9.]+s: \{'techniques': (\d+)",
            Path(log.name).read_text(),
        )
        tasks, evaluations = len(done), len(done) - done.count("0")
        evaluated = sum(int(n) for n in done)
        for process in busy:
            process.join()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    return {
        "requests": int(child.stdout.split()[-1]),
        "evaluations": evaluations,
        "tasks": tasks,
        "evaluated": evaluated,
        "waiting": waiting,
        "cpu": cpu,
    }


if __name__ == "__main__":
    sys.exit(main())

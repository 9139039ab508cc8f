#!/usr/bin/env python
"""Many repositories, many workers: 50 repositories x 2,000 issues and PRs synced from
the project's GitHub-shaped server (100 ms per response, as over the internet) by real
Celery workers on Redis, with 1 and then 4 worker processes.

    .venv/bin/python bench/sync_scale.py [--repos 50] [--issues 2000] [--delay 0.1]

Each round starts from an empty PostgreSQL database (``<BENCH_DATABASE_PREFIX>scale``),
queues one sync per repository (the periodic job's task) and waits for all of them. It
prints the wall time of each round, the speed-up, the requests, whether two syncs of
one repository ever overlapped (the per-repository lock) and whether any row was
written twice. Redis database ``BENCH_REDIS_DB`` (default 7) is the broker; it is
flushed before each round.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("BENCH_DATABASE_PREFIX", "tfmot_bench_") + "scale"
REDIS = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '7')}"


def environment(api_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": SERVER.rsplit("/", 1)[0] + "/" + DATABASE,
        "CELERY_BROKER_URL": REDIS,
        "GITHUB_API_URL": api_url,
        "GITHUB_TOKEN": "",
        "GITHUB_REPOSITORY": "tensorflow/bench-00",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": tempfile.mkdtemp(),
        "DJANGO_SETTINGS_MODULE": "tfmot_portal.settings",
    }


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def django_shell(env: dict, code: str) -> str:
    return (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )


QUEUE = """
import redis
from django.conf import settings
from ci_status.services import repository_get_or_create
from ci_status.tasks import sync_repository
redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
for i in range({repos}):
    repository = repository_get_or_create(f"tensorflow/bench-{{i:02d}}")
    sync_repository.delay(repository.pk)
"""


def finished_syncs() -> int:
    """Syncs done, read with one light connection (a Django shell a second would take
    CPU from the workers being measured)."""
    import psycopg

    with psycopg.connect(SERVER.rsplit("/", 1)[0] + "/" + DATABASE) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ci_status_syncrun WHERE status NOT IN ('queued', 'running')"
        ).fetchone()
        return row[0] if row else 0


SUMMARY = """
import json
from django.db.models import Count, Sum
from ci_status.models import Issue, Repository, SyncRun
runs = list(SyncRun.objects.order_by("repository_id", "started_at"))
overlaps = sum(
    1 for a, b in zip(runs, runs[1:])
    if a.repository_id == b.repository_id and b.started_at < (a.finished_at or b.started_at)
)
dupes = Issue.objects.values("repository", "number").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({{
    "runs": len(runs), "ok": sum(r.status == "ok" for r in runs),
    "requests": SyncRun.objects.aggregate(n=Sum("requests"))["n"],
    "issues": Issue.objects.count(), "expected": {repos} * {issues},
    "overlaps": overlaps, "duplicates": dupes,
    "repositories": Repository.objects.count(),
}}))
"""


def round_with(workers: int, args, api_url: str) -> dict:
    import json

    env = environment(api_url)
    fresh_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    django_shell(env, QUEUE.format(repos=args.repos))
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "tfmot_portal",
            "worker",
            "--concurrency",
            str(workers),
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    try:
        while True:
            time.sleep(0.5)
            if finished_syncs() >= args.repos or time.perf_counter() - started > args.timeout:
                break
        seconds = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    summary = json.loads(django_shell(env, SUMMARY.format(repos=args.repos, issues=args.issues)))
    summary["seconds"] = round(seconds, 1)
    summary["workers"] = workers
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fake_github",
            "--port",
            "0",
            "--issues",
            str(args.issues),
            "--open-prs",
            str(args.issues // 12),
            "--repos",
            str(args.repos),
            "--delay",
            str(args.delay),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None  # stdout=PIPE
    try:
        api_url = server.stdout.readline().split(" on ", 1)[1].split()[0]
        results = [round_with(n, args, api_url) for n in args.workers]
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"{args.repos} repositories x {args.issues:,} issues+PRs, "
        f"{args.delay * 1000:.0f} ms per response, Celery on Redis"
    )
    for r in results:
        print(
            f"  {r['workers']} worker process(es): {r['seconds']:.1f} s, {r['ok']}/{r['runs']} "
            f"syncs ok, {r['requests']:,} requests, {r['issues']:,} issues "
            f"(expected {r['expected']:,}), duplicate rows {r['duplicates']}, "
            f"overlapping syncs of one repository {r['overlaps']}"
        )
    if len(results) > 1:
        print(f"  speed-up: {results[0]['seconds'] / results[-1]['seconds']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Benchmark of the GitHub sync against the project's GitHub-shaped server.

    .venv/bin/python bench/sync_bench.py            (20,000 items, 1,666 open PRs; 100,000)
    .venv/bin/python bench/sync_bench.py --issues 2000 --database-url sqlite:////tmp/b.sqlite3

For each N it serves a synthetic repository of N issues and PRs (a twelfth of them open
PRs, as many as ``--open-prs`` for 20,000) from a separate process (python -m fake_github),
then runs in a fresh process (the "worker"):
1. a full sync — requests (target: <= 300 for 20,000 items: issues ceil(N/100), PR
   reviews and files 100 PRs per GraphQL request), seconds, peak RSS of the worker;
2. a re-sync with nothing changed — requests, 304s (target: all), seconds;
3. issues only (the first sync's issues listing), seconds: the speed of the listing.
The database is PostgreSQL ``<BENCH_DATABASE_PREFIX>sync`` (dropped and created) when
PostgreSQL answers, else a temporary SQLite file; ``--database-url`` chooses another.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPO = "tensorflow/model-optimization"
DATABASE = os.environ.get("BENCH_DATABASE_PREFIX", "tfmot_bench_") + "sync"


def child(api_url: str) -> None:
    """The worker side: one sync, figures as JSON on stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")
    import django

    django.setup()
    from ci_status.services import repository_get_or_create, repository_sync
    from github import GitHubClient

    repository = repository_get_or_create(REPO)
    client = GitHubClient(REPO, base_url=api_url, token="")
    stamps = {}

    def progress(run):
        stamps.setdefault(run.progress.get("resource"), time.perf_counter())

    started = time.perf_counter()
    run = repository_sync(
        repository, client=client, trigger="bench", evaluate=False, on_progress=progress
    )
    seconds = time.perf_counter() - started
    issues_seconds = stamps.get("comments", time.perf_counter()) - stamps.get("issues", started)
    print(
        json.dumps(
            {
                "status": str(run.status),
                "error": run.error,
                "seconds": round(seconds, 2),
                "issues_seconds": round(issues_seconds, 2),
                "requests": run.requests,
                "not_modified": run.not_modified,
                "rows": run.rows_written,
                "per_resource": run.per_resource,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def fresh_database(url: str | None) -> str:
    from scripts.with_services import answers

    if url:
        return url
    if answers("127.0.0.1", 5432):
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
            c.execute(f'CREATE DATABASE "{DATABASE}"')
        return f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"


def run_bench(issues: int, database_url: str | None, open_prs: int) -> dict:
    python = sys.executable
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database(database_url),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": tempfile.mkdtemp(),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": "",
    }
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        [
            python,
            "-m",
            "fake_github",
            "--port",
            "0",
            "--issues",
            str(issues),
            "--open-prs",
            str(open_prs),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "GitHub-shaped API on http://127.0.0.1:PORT ..."
        api_url = line.split(" on ", 1)[1].split()[0]
        results = {}
        for phase in ("full", "resync"):
            out = subprocess.run(
                [python, __file__, "--child", api_url],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[phase] = json.loads(out.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=10)
    results["issues"] = issues
    results["open_prs"] = open_prs
    results["database"] = env["DATABASE_URL"].split(":", 1)[0]
    results["expected_requests"] = f"ceil({issues}/100) + c = {math.ceil(issues / 100)} + c"
    return results


def report(r: dict) -> None:
    full, resync = r["full"], r["resync"]
    per = full["per_resource"]
    print(
        f"N = {r['issues']:,} issues+PRs ({r['issues'] // 3:,} PRs, {r['open_prs']:,} open), "
        f"database {r['database']}"
    )
    print(
        f"  full sync : {full['status']}, {full['seconds']:.1f} s, {full['requests']} requests "
        f"(issues {per['issues']['requests']} = ceil(N/100) + "
        f"{per['issues']['requests'] - math.ceil(r['issues'] / 100)}, PR details "
        f"{per['pulls']['requests']} GraphQL), {full['rows']:,} rows, worker peak RSS "
        f"{full['peak_rss_mb']} MB"
    )
    print(f"  issues only: {full['issues_seconds']:.1f} s for the issues listing")
    print(
        f"  re-sync   : {resync['status']}, {resync['seconds']:.2f} s, {resync['requests']} "
        f"requests, {resync['not_modified']} of them 304, {resync['rows']} rows"
    )
    if full["error"] or resync["error"]:
        print(f"  errors: {full['error']} {resync['error']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--open-prs", type=int, default=1666, help="for 20,000 items")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--child", metavar="API_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    for n in args.issues:
        report(run_bench(n, args.database_url, round(args.open_prs * n / 20_000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

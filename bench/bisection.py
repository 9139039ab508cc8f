#!/usr/bin/env python
"""A bisection over a 64-commit range against the GitHub-shaped server: dispatches and
wall time, for a culprit at the first, middle and last commit and with a flaky commit.

    .venv/bin/python bench/bisection.py [--commits 64] [--run-seconds 0] [--repeat 3]

Each case serves the demo repository (fake_github, real HTTP on loopback, a fresh
server per case) whose convergence workflow decides each run's outcome from the commits
it contains (``fake_github.actions.Behaviour``); nightly runs of ``pruning/resnet50``
passed before the range and failed at its last commit and the one after, so its alert
is open over the range. The real client and the real services then run
``bisections_advance`` pass after pass, as the every-minute job would, until the
bisection ends. Runs complete ``--run-seconds`` after their dispatch (0: at the next
read), so the wall time is the portal's and the HTTP round trips', not a runner's.
"flaky" is the middle case with the first commit the search tests erroring once. Its
data lives in its own PostgreSQL database (``<BENCH_DATABASE_PREFIX>bisect``,
bench/common.py), emptied first. After one warm-up bisection it prints one row per
case (the median wall time of ``--repeat`` runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp())  # the filesystem broker's folder


def make_test():
    from django.core.management import call_command

    from convergence.models import ConvergenceTest
    from techniques.models import Maintainer, OwnerGroup, Technique

    call_command("flush", interactive=False, verbosity=0)
    group = OwnerGroup.objects.create(name="TensorFlow Model Optimization", slug="tf-mot")
    Maintainer.objects.create(group=group, github_login="alice", is_direct_assignee=True)
    technique = Technique.objects.create(
        slug="pruning",
        name="Weight pruning",
        owner_group=group,
        public_api="tfmot.sparsity.keras",
        github_labels=["technique:pruning"],
    )
    return ConvergenceTest.objects.create(technique=technique, name="resnet50")


def reset(test) -> None:
    from convergence.models import Bisection, ChangePoint, ConvergenceRun, CulpritRange
    from convergence.services import convergence_state_update

    for model in (Bisection, ChangePoint, ConvergenceRun, CulpritRange):
        model.objects.all().delete()
    convergence_state_update(test)


def red_streak(test, base: str, head: str, after: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from convergence.models import ConvergenceRun
    from convergence.services import convergence_state_update

    now = timezone.now()
    for i, (sha, outcome) in enumerate([(base, "passed"), (head, "failed"), (after, "failed")]):
        ConvergenceRun.objects.create(
            test=test,
            tfmot_sha=sha,
            outcome=outcome,
            started_at=now - timedelta(days=3 - i),
            source=ConvergenceRun.Source.UPLOAD,
            external_id=f"nightly-{i}",
        )
    convergence_state_update(test)
    assert test.alert_open


def bisect_once(test, size: int, culprit_at: int, run_seconds: float, errors_at=()) -> dict:
    """One bisection of a ``size``-commit range whose culprit is its ``culprit_at``-th
    commit; ``errors_at``: commits whose first run errors."""
    from django.conf import settings

    from convergence.bisection import budget
    from convergence.bisection_services import Clients, bisections_advance
    from convergence.models import Bisection, BisectionStep
    from fake_github import FakeGitHub, demo_dataset
    from fake_github.actions import Behaviour, Workflow
    from github import GitHubClient

    ds = demo_dataset()
    ds.workflows["convergence.yml"] = Workflow(
        ".github/workflows/convergence.yml", "Convergence tests", {"sha": True, "test": True}
    )
    ds.run_timing = (0.0, run_seconds)
    shas = [c.sha for c in ds.commits]
    first = len(shas) - size - 2  # the range: first .. first + size - 1; then one more
    commits = shas[first : first + size]
    ds.behaviours[str(test)] = Behaviour(
        culprit=commits[culprit_at], errors_at={sha: 1 for sha in errors_at}
    )
    reset(test)
    red_streak(test, shas[first - 1], commits[-1], shas[first + size])
    with FakeGitHub(ds) as server:
        settings.GITHUB_API_URL = server.url
        clients = Clients(lambda repo: GitHubClient(repo, base_url=server.url, token=""))
        passes, started = 0, time.perf_counter()
        while True:
            bisections_advance(clients)
            passes += 1
            bisection = Bisection.objects.get()
            if bisection.is_finished:
                break
            if run_seconds:
                time.sleep(min(run_seconds, 0.05))
        seconds = time.perf_counter() - started
        requests = server.counters["requests"]
    steps = list(bisection.steps.order_by("pk"))
    return {
        "state": bisection.state,
        "found": "yes"
        if bisection.culprit_sha == commits[culprit_at]
        else ("none" if not bisection.culprit_sha else "WRONG"),
        "dispatches": bisection.runs_dispatched,
        "github_dispatches": len(ds.dispatched),
        "search": sum(s.purpose == BisectionStep.Purpose.SEARCH for s in steps),
        "budget": budget(len(bisection.commits)),
        "commits": len(bisection.commits),
        "passes": passes,
        "requests": requests,
        "seconds": seconds,
        "first_tested": steps[0].sha if steps else "",
        "reason": bisection.reason,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=64)
    parser.add_argument("--run-seconds", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from bench.common import setup_django

    setup_django("bisect")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    test = make_test()
    n = args.commits
    cases = [("first", 0, ()), ("middle", n // 2 - 1, ()), ("last", n - 1, ())]
    bisect_once(test, n, 0, args.run_seconds)  # warm-up: imports, connections, templates
    results = []
    for name, at, errors in cases:
        runs = [bisect_once(test, n, at, args.run_seconds, errors) for _ in range(args.repeat)]
        results.append((name, at, runs))
    # The flaky case: the middle culprit, and the first commit its search tests errors once.
    middle_first = results[1][2][0]["first_tested"]
    runs = [
        bisect_once(test, n, n // 2 - 1, args.run_seconds, [middle_first])
        for _ in range(args.repeat)
    ]
    results.append(("flaky", n // 2 - 1, runs))
    print(
        f"bisection of a {n}-commit range, runs complete {args.run_seconds:g} s after "
        f"dispatch, wall time the median of {args.repeat}"
    )
    header = (
        f"{'culprit':<8}{'position':>9}{'found':>7}{'state':>14}{'dispatches':>12}"
        f"{'budget':>8}{'passes':>8}{'requests':>10}{'wall s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, at, runs in results:
        r = runs[0]
        assert all(x["dispatches"] == x["github_dispatches"] for x in runs)
        print(
            f"{name:<8}{at + 1:>9}{'/'.join(sorted({x['found'] for x in runs})):>7}"
            f"{r['state']:>14}{r['dispatches']:>7} ({r['search']}+{r['dispatches'] - r['search']})"
            f"{r['budget']:>8}{r['passes']:>8}{r['requests']:>10}"
            f"{statistics.median(x['seconds'] for x in runs):>8.2f}"
        )
        if r["reason"]:
            print(f"{'':<8}{r['reason']}")
    print("(dispatches: search + verification runs; requests: to the GitHub-shaped server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

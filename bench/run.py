#!/usr/bin/env python3
"""Page benchmark: median/p95 server time and SQL query count per main page, in-process.

Usage: .venv/bin/python bench/run.py --scale 0.1 [--scale 1] [--requests 50]
Each scale needs its data first: .venv/bin/python bench/make_data.py --scale S
Prints one table per scale and a comparison; exits non-zero when a target is missed:
median <= 30 ms, p95 <= 60 ms at the largest scale; time at the largest scale <= 1.5x
its time at the smallest; identical query counts at every scale; median <= 6x the
minimal view (/healthz) for the same audience
(anonymous, or signed in: the session and user lookups are part of every signed-in page). Rule evaluation time (all rules, all techniques; median of 3) <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("minimal view (floor)", "/bench-floor", None),
    ("minimal view, signed in", "/bench-floor", "carol"),
    ("home", "/", None),
    ("technique page", "/techniques/{slug}/", None),
    ("owners", "/owners/", None),
    ("CI grid", "/ci/", "carol"),
    ("adherence", "/adherence/", "carol"),
    ("reviews", "/reviews/", "carol"),
    ("releases", "/releases/", "carol"),
    ("API techniques", "/api/techniques/", None),
    ("API groups", "/api/groups/", None),
    ("API maintainers", "/api/maintainers/", None),
    ("API gaps", "/api/gaps/", None),
    ("API convergence tests", "/api/convergence/tests/", None),
]
TARGET_MEDIAN_MS = 30
TARGET_P95_MS = 60
TARGET_GROWTH = 1.5
TARGET_FLOOR_FACTOR = 6
TARGET_RULES_S = 2.0


def measure_scale(scale: float, requests: int) -> dict:
    """Run in a subprocess per scale: Django can be set up only once per process."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(scale), "--requests", str(requests)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def child(scale: float, requests: int) -> None:
    from bench.common import setup_django

    setup_django(scale)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from techniques.models import Technique

    add_floor_view()
    slug = Technique.objects.order_by("slug").values_list("slug", flat=True).first()
    users = {"carol": get_user_model().objects.filter(username="carol").first()}
    results: dict[str, Any] = {}
    for name, path, user in PAGES:
        client = Client()
        signed_in = users.get(user) if user else None
        if signed_in:
            client.force_login(signed_in)
        url = path.format(slug=slug)
        response = client.get(url)  # warm-up: caches, connections, template loading
        if response.status_code != 200:
            results[name] = {"status": response.status_code}
            continue
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        query_count = len(queries)
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        results[name] = {
            "status": 200,
            "median": statistics.median(times),
            "p95": times[int(len(times) * 0.95) - 1],
            "queries": query_count,
        }
    results["_rules"] = rules_time()
    results["_techniques"] = Technique.objects.count()
    print(json.dumps(results))


def add_floor_view() -> None:
    """The floor: the smallest Django view that still knows who is asking, so a
    signed-in floor pays for the session and user lookups as every signed-in page does."""
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    from tfmot_portal import urls

    urls.urlpatterns.append(
        path("bench-floor", lambda request: HttpResponse(request.user.get_username()))
    )
    clear_url_caches()


def rules_time() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from adherence import engine
    from techniques.models import Technique

    techniques = list(Technique.objects.select_related("owner_group"))
    times = []
    for _ in range(3):  # the median of three evaluations, like the pages' medians
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            engine.evaluate(techniques)
            times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "queries": len(queries),
        "rules": len(engine.RULES),
    }


def report(by_scale: dict[float, dict]) -> list[str]:
    failures = []
    scales = sorted(by_scale)
    small, large = scales[0], scales[-1]
    header = f"{'page':<24}" + "".join(
        f"{'median ms @' + format(s, 'g'):>16}{'p95 ms':>9}{'queries':>9}" for s in scales
    )
    print(header)
    print("-" * len(header))
    floors = {
        None: by_scale[large]["minimal view (floor)"]["median"],
        "carol": by_scale[large]["minimal view, signed in"]["median"],
    }
    for name, _, user in PAGES:
        floor = floors[user]
        row = f"{name:<24}"
        for scale in scales:
            result = by_scale[scale].get(name, {})
            if result.get("status") != 200:
                row += f"{'HTTP ' + str(result.get('status')):>34}"
                continue
            row += f"{result['median']:>16.1f}{result['p95']:>9.1f}{result['queries']:>9}"
        print(row)
        big = by_scale[large].get(name, {})
        if big.get("status") != 200:
            continue
        if big["median"] > TARGET_MEDIAN_MS or big["p95"] > TARGET_P95_MS:
            failures.append(f"{name}: median {big['median']:.1f} ms / p95 {big['p95']:.1f} ms")
        if not name.startswith("minimal view") and big["median"] > TARGET_FLOOR_FACTOR * floor:
            failures.append(f"{name}: {big['median'] / floor:.1f}x the minimal view")
        base = by_scale[small].get(name, {})
        if base.get("status") == 200 and small != large:
            if big["median"] > TARGET_GROWTH * max(base["median"], 1.0):
                failures.append(
                    f"{name}: {big['median'] / base['median']:.2f}x slower at scale {large:g}"
                )
            if big["queries"] != base["queries"]:
                failures.append(
                    f"{name}: {base['queries']} queries at {small:g}, {big['queries']} at {large:g}"
                )
    print()
    for scale in scales:
        rules = by_scale[scale]["_rules"]
        print(
            f"rules @ {scale:g}: {rules['rules']} rules x {by_scale[scale]['_techniques']} techniques "
            f"in {rules['seconds']:.2f} s, {rules['queries']} queries"
        )
    if by_scale[large]["_rules"]["seconds"] > TARGET_RULES_S:
        failures.append(f"rule evaluation {by_scale[large]['_rules']['seconds']:.2f} s")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, action="append")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--child", type=float)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.requests)
        return 0
    by_scale = {scale: measure_scale(scale, args.requests) for scale in args.scale or [0.1, 1.0]}
    failures = report(by_scale)
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

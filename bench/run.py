#!/usr/bin/env python3
"""Page benchmark: median/p95 server time and SQL query count per page, in-process,
cold (no cache: what the first visitor after any change, and every signed-in user, pays)
and warm (the per-view cache of the public pages).

Usage: .venv/bin/python bench/run.py --scale 0.1 [--scale 1] [--requests 50] [--page NAME]
(--page, repeatable, times only the pages whose name contains NAME.)
Each scale needs its data first: .venv/bin/python bench/make_data.py --scale S
Prints one table and exits non-zero when a target is missed. Targets apply to the cold
figures: median <= 30 ms, p95 <= 60 ms at the largest scale; time at the largest scale
<= 1.5x its time at the smallest; identical query counts at every scale. Pages for
signed-in users are timed signed in. Rule evaluation time (all rules, all techniques;
median of 3) <= 2 s. The start-up heap is frozen (gc.freeze) before timing, as
`make serve`'s gunicorn does before forking each worker (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What is timed, and who asks: bench/pages.toml.
PAGES = [
    (page["name"], page["path"], page.get("who"))
    for page in tomllib.loads((ROOT / "bench" / "pages.toml").read_text())["page"]
]
MARKS = {"carol": " *", "owner": " +"}
DUMMY_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
TARGET_MEDIAN_MS = 30
TARGET_P95_MS = 60
TARGET_GROWTH = 1.5
TARGET_RULES_S = 2.0


def measure_scale(scale: float, requests: int, pages: list[str]) -> dict:
    """Run in a subprocess per scale and mode: Django is set up once per process."""
    results = {}
    for mode in ("cold", "warm"):
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(scale), "--requests", str(requests)]
            + (["--cold"] if mode == "cold" else [])
            + [arg for page in pages for arg in ("--page", page)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
    return results


def chosen(pages: list[str]) -> list[tuple[str, str, str | None]]:
    """The pages to time: all, or those whose name contains one of ``pages``."""
    return [p for p in PAGES if not pages or any(name in p[0] for name in pages)]


def child(scale: float, requests: int, cold: bool, pages: list[str]) -> None:
    from bench.common import setup_django

    setup_django(scale)
    if cold:
        import django.test.signals  # noqa: F401 - resets the cache handler on change
        from django.test.utils import override_settings

        override_settings(CACHES=DUMMY_CACHE).enable()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from techniques.models import Technique

    add_floor_view()
    # As make serve's gunicorn does before forking each worker (preload_app): the
    # objects of start-up move out of the collector's sight, so a garbage collection during
    # a request scans only that request's objects, not Django's whole start-up heap.
    gc.collect()
    gc.freeze()
    slug = Technique.objects.order_by("slug").values_list("slug", flat=True).first()
    values = page_values(slug)
    users = {
        "carol": get_user_model().objects.filter(username="carol").first(),
        "owner": owner_user(),
    }
    results: dict[str, Any] = {}
    for name, path, user in chosen(pages):
        client = Client()
        if user and users.get(user):
            client.force_login(users[user])
        url = path.format(**values)
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
    if cold:
        results["_rules"] = rules_time()
    results["_techniques"] = Technique.objects.count()
    print(json.dumps(results))


def page_values(slug: str | None) -> dict:
    """The objects the paths name: the first of each, as a visitor would open them."""
    from adherence.models import Gap
    from reviews.models import Review
    from techniques.models import OwnerGroup

    return {
        "slug": slug,
        "group": OwnerGroup.objects.order_by("slug").values_list("slug", flat=True).first(),
        "gap": Gap.objects.order_by("pk").values_list("pk", flat=True).first(),
        "review": Review.objects.order_by("pk").values_list("pk", flat=True).first(),
        "word": "quantization",
    }


def owner_user():
    """A user for the first active maintainer whose group owns techniques (made once)."""
    from django.contrib.auth import get_user_model

    from techniques.models import Maintainer

    maintainer = (
        Maintainer.objects.active()
        .filter(group__techniques__isnull=False)
        .order_by("github_login")
        .first()
    )
    if maintainer is None:
        return None
    user, _ = get_user_model().objects.get_or_create(username=maintainer.github_login)
    return user


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


def report(by_scale: dict[float, dict], pages: list[str]) -> list[str]:
    failures = []
    scales = sorted(by_scale)
    small, large = scales[0], scales[-1]
    header = f"{'page (cold; warm median)':<26}" + "".join(
        f"{'median ms @' + format(s, 'g'):>16}{'p95':>7}{'queries':>8}{'warm':>7}" for s in scales
    )
    print(header)
    print("-" * len(header))
    for name, _, user in chosen(pages):
        row = f"{name + MARKS.get(user or '', ''):<26}"
        for scale in scales:
            cold = by_scale[scale]["cold"].get(name, {})
            warm = by_scale[scale]["warm"].get(name, {})
            if cold.get("status") != 200:
                row += f"{'HTTP ' + str(cold.get('status')):>38}"
                continue
            row += f"{cold['median']:>16.1f}{cold['p95']:>7.1f}{cold['queries']:>8}"
            row += f"{warm.get('median', float('nan')):>7.1f}"
        print(row)
        big = by_scale[large]["cold"].get(name, {})
        if big.get("status") != 200 or name.startswith("minimal view"):
            continue
        if big["median"] > TARGET_MEDIAN_MS or big["p95"] > TARGET_P95_MS:
            failures.append(f"{name}: median {big['median']:.1f} ms / p95 {big['p95']:.1f} ms")
        base = by_scale[small]["cold"].get(name, {})
        if base.get("status") == 200 and small != large:
            if big["median"] > TARGET_GROWTH * max(base["median"], 1.0):
                failures.append(
                    f"{name}: {big['median'] / base['median']:.2f}x slower at scale {large:g}"
                )
            if big["queries"] != base["queries"]:
                failures.append(
                    f"{name}: {base['queries']} queries at {small:g}, {big['queries']} at {large:g}"
                )
    print("(* signed in as staff, + signed in as an owner; targets apply to the cold figures)")
    print()
    for scale in scales:
        rules = by_scale[scale]["cold"]["_rules"]
        print(
            f"rules @ {scale:g}: {rules['rules']} rules x "
            f"{by_scale[scale]['cold']['_techniques']} techniques "
            f"in {rules['seconds']:.2f} s, {rules['queries']} queries"
        )
    if by_scale[large]["cold"]["_rules"]["seconds"] > TARGET_RULES_S:
        failures.append(f"rule evaluation {by_scale[large]['cold']['_rules']['seconds']:.2f} s")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, action="append")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--child", type=float)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--page", action="append", default=[])
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.requests, args.cold, args.page)
        return 0
    by_scale = {
        scale: measure_scale(scale, args.requests, args.page) for scale in args.scale or [0.1, 1.0]
    }
    failures = report(by_scale, args.page)
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Change-point detection with 1,000,000 stored runs: the cost of one ingestion.

    .venv/bin/python bench/changepoints.py [--runs 1000000] [--tests 1250] [--ingestions 50]

Its data lives in its own PostgreSQL database (``<BENCH_DATABASE_PREFIX>changepoints``,
bench/common.py), made on first use or with ``--remake``: 250 techniques with 5
convergence tests each (as bench/make_data.py), nightly runs COPYed in (800 per test for
1,000,000: two years and two months), each with ``top1_accuracy`` (a benefit target) and
``step_time_ms`` (lower is better); one test in ten also has internal runs (a third of
its runs), one in seven a shift of its accuracy and one in eleven a training step 15 %
slower, somewhere in its history. Then every series is detected once, as the portal
would have done run by run, so that change points are stored.

Each measurement ingests one new nightly run of one test through
``convergence.services.results_ingest`` (the upload path: insert, state, detection,
commit), for ``--ingestions`` tests in turn, and prints the median and 95th percentile
of the whole ingestion, of the detection alone (``change_points_detect`` again on the
same run: it is idempotent) and the queries of one ingestion; then the time of one
detection over a series' whole history instead of its window (E-Divisive alone, and
with the read). The ingested runs are deleted afterwards, so runs compare.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp())  # the filesystem broker's folder
METRIC, STEP = "top1_accuracy", "step_time_ms"
INGESTED = "bench-ingest-"  # external id prefix of the runs this benchmark ingests


def make_data(runs: int, tests: int, rng: random.Random) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import make_data as generator
    from bench.make_data import copy_rows
    from convergence.changepoints import change_points_detect
    from convergence.models import BenefitTarget, ConvergenceRun, ConvergenceTest, MetricDirection
    from techniques.models import Technique

    started = time.perf_counter()
    call_command("flush", interactive=False, verbosity=0)
    generator.make_registry(tests / 1500, rng)
    techniques = list(Technique.objects.order_by("pk"))
    made = ConvergenceTest.objects.bulk_create(
        ConvergenceTest(
            technique=techniques[i % len(techniques)],
            name=f"test-{i:05d}",
            kind="training_speed" if i % 5 == 4 else "convergence",
            model_family="ResNet",
            task="image classification (ImageNet)",
        )
        for i in range(tests)
    )
    BenefitTarget.objects.bulk_create(
        BenefitTarget(test=t, metric=METRIC, documented_value=76.6, tolerance=0.6, unit="%")
        for t in made
    )
    MetricDirection.objects.bulk_create(
        MetricDirection(test=t, metric=STEP, better="lower") for t in made
    )
    per_test = runs // tests
    now = timezone.now()
    start = now - timedelta(days=per_test + 1)

    def rows():
        for n, test in enumerate(made):
            accuracy_shift_at = rng.randrange(per_test) if n % 7 == 3 else None
            step_shift_at = rng.randrange(per_test) if n % 11 == 5 else None
            for day in range(per_test):
                top1 = 76.6 + rng.gauss(0, 0.1)
                if accuracy_shift_at is not None and day >= accuracy_shift_at:
                    top1 -= 0.5
                step = 250 * (1.15 if step_shift_at is not None and day >= step_shift_at else 1)
                yield {
                    "test_id": test.pk,
                    "started_at": start + timedelta(days=day),
                    "tfmot_sha": f"{rng.getrandbits(160):040x}",
                    "tf_version": "tf-nightly 2.21.0",
                    "python_version": "3.11",
                    "outcome": "passed",
                    "metrics": {METRIC: round(top1, 3), STEP: round(step + rng.gauss(0, 4), 2)},
                    "source": "upload",
                    "external_id": f"{test.pk}-{day}",
                    "internal": n % 10 == 7 and day % 3 == 0,
                }

    copied = copy_rows(ConvergenceRun, rows())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"data: {copied:,} runs of {tests:,} tests in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    latest = [
        ConvergenceRun.objects.filter(test=test)
        .order_by("-started_at")
        .values_list("pk", flat=True)[0]
        for test in made
    ]
    series = sum(change_points_detect([pk], now) for pk in latest)
    print(
        f"data: {series:,} series detected once in {time.perf_counter() - started:.1f} s "
        "(the change points the portal would have stored)"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def next_record(test, i: int):
    """The next nightly run of ``test``: a day after its latest, at the same level."""
    from convergence.parsers import RunRecord

    last = test.runs.order_by("-started_at").only("test_id", "started_at", "metrics").first()
    return RunRecord(
        test=f"{test.technique.slug}/{test.name}",
        outcome="passed",
        metrics={METRIC: last.metrics[METRIC], STEP: last.metrics[STEP]},
        started_at=last.started_at + timedelta(days=1),
        tfmot_sha=f"{i:040x}",
        external_id=f"{INGESTED}{i}",
    )


def measure_ingestions(count: int, rng: random.Random) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from convergence.changepoints import change_points_detect
    from convergence.models import ConvergenceRun, ConvergenceTest
    from convergence.services import results_ingest

    tests = list(ConvergenceTest.objects.select_related("technique").order_by("pk"))
    chosen = rng.sample(tests, count)
    ingest, detect, queries = [], [], []
    for i, test in enumerate(chosen):
        record = next_record(test, i)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            results_ingest([record], ConvergenceRun.Source.UPLOAD)
            ingest.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
        pk = test.runs.get(external_id=record.external_id, internal=False).pk
        started = time.perf_counter()
        change_points_detect([pk])
        detect.append((time.perf_counter() - started) * 1000)
    ConvergenceRun.objects.filter(external_id__startswith=INGESTED).delete()
    stored = ConvergenceRun.objects.count()
    print(f"\none new run ingested into a test's series, {count} tests, {stored:,} runs stored")
    print(f"{'':<34}{'median':>10}{'p95':>10}{'max':>10}")
    for label, values in (
        ("ingestion (insert..commit), ms", ingest),
        ("detection alone, ms", detect),
    ):
        print(
            f"{label:<34}{statistics.median(values):>10.1f}{percentile(values, 0.95):>10.1f}"
            f"{max(values):>10.1f}"
        )
    print(
        f"{'queries per ingestion':<34}{statistics.median(queries):>10.0f}{'':>10}"
        f"{max(queries):>10}"
    )


def measure_full_history(samples: int) -> None:
    from convergence.changepoints import WINDOW, _value, shifts_find
    from convergence.models import ConvergenceTest

    tests = list(
        ConvergenceTest.objects.order_by("pk")[
            :: max(1, ConvergenceTest.objects.count() // samples)
        ]
    )
    print(f"\none series ({METRIC}), {len(tests[:samples])} tests: window vs whole history")
    print(f"{'':<34}{'runs':>10}{'median ms':>12}")
    for label, limit in (("window (what an ingestion reads)", WINDOW), ("whole history", None)):
        read_ms, find_ms, sizes = [], [], []
        for test in tests[:samples]:
            started = time.perf_counter()
            query = (
                test.runs.filter(internal=False).order_by("-started_at").only("test_id", "metrics")
            )
            runs = list(query[:limit] if limit else query)
            values = [v for run in reversed(runs) if (v := _value(run, METRIC)) is not None]
            read_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            shifts_find(values)
            find_ms.append((time.perf_counter() - started) * 1000)
            sizes.append(len(values))
        print(
            f"{label + ': E-Divisive':<34}{statistics.median(sizes):>10.0f}{statistics.median(find_ms):>12.1f}"
        )
        print(f"{label + ': read':<34}{'':>10}{statistics.median(read_ms):>12.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--tests", type=int, default=1250)
    parser.add_argument("--ingestions", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5, help="series timed whole")
    parser.add_argument("--remake", action="store_true", help="make the data again")
    args = parser.parse_args()
    from bench.common import setup_django

    setup_django("changepoints")
    from django.core.management import call_command

    from convergence.models import ConvergenceRun

    call_command("migrate", verbosity=0)
    rng = random.Random(26)
    stored = ConvergenceRun.objects.exclude(external_id__startswith=INGESTED).count()
    if args.remake or stored != args.runs // args.tests * args.tests:
        make_data(args.runs, args.tests, rng)
    measure_ingestions(args.ingestions, rng)
    measure_full_history(args.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())

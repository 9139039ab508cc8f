#!/usr/bin/env python3
"""Generate a large organisation's data in PostgreSQL for the benchmarks.

Usage: .venv/bin/python bench/make_data.py --scale 1   (0.1 and 0.01 make smaller sizes)
At scale 1: 300 techniques, 60 owner groups, 400 maintainers (the registry), plus the data
of the other apps that are installed (convergence tests and runs, CI runs, issues,
reviews, gaps; see GENERATORS). Everything goes in with bulk inserts or COPY into the
scale's own database (bench/common.py); the database is emptied first.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = {
    "techniques": 300,
    "groups": 60,
    "maintainers": 400,
    "tests": 1500,
    "runs": 1_000_000,
    "ci_runs": 500_000,
    "issues": 200_000,
}
NOW: datetime  # set in main()


def copy_rows(model, rows) -> int:
    """COPY rows (dicts of field name -> value) into a model's table; fields not given
    take their Python default. Far faster than INSERTs for millions of rows."""
    import json as _json

    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {f.attname: f.get_default() for f in fields}
    count = 0
    connection.ensure_connection()
    sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row.get(f.attname, row.get(f.name, defaults[f.attname]))
                if f.get_internal_type() == "JSONField" and value is not None:
                    value = _json.dumps(value)
                values.append(value)
            copy.write_row(values)
            count += 1
    connection.connection.commit()
    return count


def sized(name: str, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(SIZES[name] * scale))


def make_registry(scale: float, rng: random.Random) -> None:
    from django.contrib.auth import get_user_model

    from techniques.models import Maintainer, OwnerGroup, Technique

    groups = OwnerGroup.objects.bulk_create(
        OwnerGroup(name=f"Group {i:03d}", slug=f"group-{i:03d}", mailing_list=f"g{i}@example.org")
        for i in range(sized("groups", scale))
    )
    Maintainer.objects.bulk_create(
        Maintainer(
            group=groups[i % len(groups)],
            github_login=f"maint{i:04d}",
            name=f"Maintainer {i}",
            is_direct_assignee=i < len(groups),
        )
        for i in range(sized("maintainers", scale, 2))
    )
    Technique.objects.bulk_create(
        Technique(
            slug=f"technique-{i:04d}",
            name=f"Technique {i:04d}",
            category=rng.choice(["sparsity", "quantization", "clustering", "compression"]),
            public_api=f"tfmot.bench.t{i:04d}",
            github_labels=[f"technique:t{i:04d}"],
            path_globs=[f"tensorflow_model_optimization/python/core/t{i:04d}/"],
            tos_level="production" if i % 3 else "research",
            stage="launched" if i % 10 else "in_development",
            launch_date=date(2021, 1, 1) + timedelta(days=i) if i % 10 else None,
            owner_group=groups[i % len(groups)],
        )
        for i in range(sized("techniques", scale))
    )
    User = get_user_model()
    User.objects.create_superuser("carol", "carol@example.org", "bench-password")


def make_convergence(scale: float, rng: random.Random) -> None:
    """5 tests per technique; two years of nightly runs (667 each at scale 1)."""
    from datetime import timedelta as td

    from convergence.models import BenefitTarget, ConvergenceRun, ConvergenceTest
    from techniques.models import Technique

    techniques = list(Technique.objects.order_by("pk"))
    tests = ConvergenceTest.objects.bulk_create(
        ConvergenceTest(
            technique=techniques[i % len(techniques)],
            name=f"test-{i:05d}",
            kind="training_speed" if i % 5 == 4 else "convergence",
            model_family="ResNet",
            task="image classification (ImageNet)",
        )
        for i in range(sized("tests", scale))
    )
    BenefitTarget.objects.bulk_create(
        BenefitTarget(
            test=t, metric="top1_accuracy", documented_value=76.61, tolerance=0.3, unit="%"
        )
        for t in tests
    )
    per_test = max(1, sized("runs", scale) // len(tests))
    start = NOW - td(days=per_test)

    def rows():
        for test in tests:
            pattern = test.pk % 7  # a mix of passing, flaky and failing histories
            for day in range(per_test):
                failed = (pattern == 3 and day > per_test - 4) or (
                    pattern == 5 and rng.random() < 0.3
                )
                yield {
                    "test_id": test.pk,
                    "started_at": start + td(days=day),
                    "tfmot_sha": f"{rng.getrandbits(160):040x}",
                    "tf_version": "tf-nightly 2.21.0",
                    "python_version": "3.11",
                    "outcome": "failed" if failed else "passed",
                    "metrics": {
                        "top1_accuracy": round(
                            76.6 + rng.uniform(-0.2, 0.2) - (0.8 if failed else 0), 3
                        )
                    },
                    "source": "upload",
                    "external_id": f"{test.pk}-{day}",
                    "internal": False,
                }

    copy_rows(ConvergenceRun, rows())


def make_ci_status(scale: float, rng: random.Random) -> None:
    """The repository: a label per technique, issues and PRs with their comments, the
    community figures the sync stores from them, and CI runs."""
    from ci_status.models import CIRun, Comment, Issue, Label, Repository
    from ci_status.services import community_refresh
    from techniques.models import Technique

    repository = Repository.objects.create(
        full_name="tensorflow/model-optimization", last_synced_at=NOW
    )
    labels = list(Technique.objects.values_list("github_labels", flat=True))
    Label.objects.bulk_create(Label(repository=repository, name=ls[0]) for ls in labels)
    comments: list[tuple] = []  # (number, author, association, created_at), as issues are made
    copy_rows(Issue, _issue_rows(repository.pk, scale, rng, labels, comments))
    copy_rows(Comment, _comment_rows(repository.pk, comments))
    started = time.perf_counter()
    community_refresh(repository, None, NOW)  # what the sync stores: items, then figures
    print(f"{'(community)':<14} {time.perf_counter() - started:7.1f} s for all items")
    copy_rows(CIRun, _ci_run_rows(repository.pk, scale))


def _issue_rows(repository_id: int, scale: float, rng: random.Random, labels: list, comments):
    """Issues and PRs of the last two years, most of them labeled and answered; the
    answers go to ``comments``."""
    logins = [f"maint{i:04d}" for i in range(sized("maintainers", scale, 2))]
    groups = sized("groups", scale)
    for number in range(1, sized("issues", scale) + 1):
        created = NOW - timedelta(days=rng.uniform(0, 730))
        open_ = rng.random() < 0.15
        answered = rng.random() < 0.8
        label = [rng.choice(labels)[0]] if rng.random() < 0.9 else []
        if answered:
            # Half the time someone from the community answers first, then a
            # maintainer of the technique's group.
            technique = int(label[0][-4:]) if label else rng.randrange(len(labels))
            first = created + timedelta(hours=rng.uniform(1, 400))
            if rng.random() < 0.5:
                comments.append((number, f"user{rng.randrange(5000)}", "NONE", first))
                first += timedelta(hours=rng.uniform(1, 100))
            maintainer = logins[technique % groups + groups * rng.randrange(2)]
            comments.append((number, maintainer, "MEMBER", first))
        yield {
            "repository_id": repository_id,
            "number": number,
            "kind": "pr" if number % 3 == 0 else "issue",
            "title": f"Issue {number}",
            "state": "open" if open_ else "closed",
            "labels": label,
            "author": f"user{number % 5000}",
            "created_at": created,
            "updated_at": created + timedelta(days=1),
            "closed_at": None if open_ else created + timedelta(days=3),
        }


def _comment_rows(repository_id: int, comments: list[tuple]):
    for i, (number, author, association, at) in enumerate(comments, 1):
        yield {
            "repository_id": repository_id,
            "kind": "comment",
            "github_id": i,
            "issue_number": number,
            "author": author,
            "author_association": association,
            "created_at": at,
            "updated_at": at,
        }


def _ci_run_rows(repository_id: int, scale: float):
    """A push run every two minutes, one in 17 failing."""
    for i in range(sized("ci_runs", scale)):
        created = NOW - timedelta(minutes=i * 2)
        yield {
            "repository_id": repository_id,
            "run_id": 10_000_000 + i,
            "attempt": 1,
            "workflow": "CI",
            "branch": "master",
            "event": "push",
            "head_sha": f"{i:040x}",
            "status": "completed",
            "conclusion": "failure" if i % 17 == 0 else "success",
            "started_at": created,
            "finished_at": created + timedelta(minutes=20),
            "created_at": created,
        }


def make_reviews(scale: float, rng: random.Random) -> None:
    from reviews.models import Review, ReviewCycle
    from techniques.models import Technique

    techniques = list(Technique.objects.all())
    for year, half in [(2025, 1), (2025, 2), (2026, 1), (2026, 2)]:
        cycle = ReviewCycle.objects.create(
            year=year, half=half, due_date=ReviewCycle.bounds(year, half)[1]
        )
        Review.objects.bulk_create(
            Review(
                cycle=cycle,
                technique=t,
                status=rng.choice(["accepted", "accepted", "submitted", "draft"]),
                benefits_usage="Used.",
            )
            for t in techniques
        )


def make_states_and_gaps(scale: float, rng: random.Random) -> None:
    from adherence.services import gaps_evaluate
    from convergence.services import convergence_states_refresh

    started = time.perf_counter()
    convergence_states_refresh(NOW)
    print(f"{'(states)':<14} {time.perf_counter() - started:7.1f} s for all tests")
    gaps_evaluate(NOW)


# App generators run in this order when their app is installed; each takes (scale, rng).
GENERATORS = [
    ("techniques", make_registry),
    ("convergence", make_convergence),
    ("ci_status", make_ci_status),
    ("reviews", make_reviews),
    ("adherence", make_states_and_gaps),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    from bench.common import setup_django

    setup_django(args.scale)
    from django.apps import apps
    from django.core.management import call_command

    global NOW
    from django.utils import timezone

    NOW = timezone.now()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    rng = random.Random(42)
    for app, generate in GENERATORS:
        if apps.is_installed(app):
            step = time.perf_counter()
            generate(args.scale, rng)
            print(f"{app:<14} {time.perf_counter() - step:7.1f} s")
    call_command(
        "shell",
        command="from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')",
        verbosity=0,
    )
    print(f"scale {args.scale:g}: data made in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

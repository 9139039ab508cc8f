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
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = {"techniques": 300, "groups": 60, "maintainers": 400}


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


# App generators run in this order when their app is installed; each takes (scale, rng).
GENERATORS = [("techniques", make_registry)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    from bench.common import setup_django

    setup_django(args.scale)
    from django.apps import apps
    from django.core.management import call_command

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

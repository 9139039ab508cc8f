#!/usr/bin/env python
"""Cost of the GitHub integration against the project's GitHub-shaped server (in-process).

    .venv/bin/python bench/github_integration_bench.py --members 1000 --gaps 100

On a temporary SQLite database (``--database-url`` chooses another, which it empties), it prints requests
and seconds for: a team sync of N members (target: ceil(N/100) requests), its re-sync
with nothing changed (target: one 304), filing issues for G gaps (target: 3 requests a
gap — listing and search for the marker, then the creation) and the run after it with
nothing changed (target: no request).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--gaps", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    setup_django(args.database_url)
    from fake_github import Dataset

    dataset = Dataset()
    group = make_data(dataset, args.members, args.gaps)
    rows = measure(dataset, group, args.members, args.gaps)
    return report(rows, args.members, args.gaps)


def setup_django(database_url: str) -> None:
    """Django on the given database, or a temporary SQLite one; migrated and emptied."""
    folder = tempfile.mkdtemp(prefix="tfmot-gh-bench-")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("VAR_DIR", folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a given database is emptied


def make_data(dataset, members: int, gaps: int):
    """A GitHub team of ``members`` and its owner group, owning ``gaps`` techniques with
    a month-old gap each (issues on); returns the group."""
    from django.utils import timezone

    from adherence.models import Gap
    from techniques.models import OwnerGroup, Technique

    dataset.set_team("tensorflow/big", [f"member{n}" for n in range(members)])
    group = OwnerGroup.objects.create(name="Big", slug="big", github_team="tensorflow/big")
    opened = timezone.now() - timedelta(days=30)
    techniques = [
        Technique.objects.create(
            slug=f"t{n}",
            name=f"Technique {n}",
            category="sparsity",
            public_api=f"tfmot.t{n}",
            github_labels=[f"technique:t{n}"],
            tos_level="production",
            owner_group=group,
            gap_issues=True,
        )
        for n in range(gaps)
    ]
    for technique in techniques:
        Gap.objects.create(
            technique=technique, rule_id="owner-group", severity="high",
            summary="Bench gap", opened_at=opened,
        )  # fmt: skip
    return group


def measure(dataset, group, members: int, gaps: int) -> list[tuple]:
    """(step, requests, 304s, seconds) of each step, served by the GitHub-shaped server."""
    from django.test.utils import override_settings

    from fake_github import FakeGitHub
    from github import GitHubClient
    from github_integration.gap_issues import gap_issues_sync
    from github_integration.teams import team_sync

    rows = []
    with FakeGitHub(dataset) as server, override_settings(GAP_ISSUE_AFTER_DAYS=7):
        for label, action in [
            (f"team sync, {members} members", lambda c: team_sync(group, c)),
            ("team re-sync, unchanged", lambda c: team_sync(group, c)),
            (f"issues for {gaps} gaps", lambda c: gap_issues_sync(c)),
            ("issues again, nothing changed", lambda c: gap_issues_sync(c)),
        ]:
            client = GitHubClient(dataset.full_name, base_url=server.url, token="")
            server.reset_counters()
            start = time.perf_counter()
            action(client)
            seconds = time.perf_counter() - start
            rows.append(
                (label, server.counters["requests"], server.counters["not_modified"], seconds)
            )
    return rows


def report(rows: list[tuple], members: int, gaps: int) -> int:
    """Print the table and whether every target is met; the exit status."""
    print(f"{'step':36} {'requests':>9} {'304s':>5} {'seconds':>8}")
    for label, requests, not_modified, seconds in rows:
        print(f"{label:36} {requests:9d} {not_modified:5d} {seconds:8.2f}")
    ok = (
        rows[0][1] == math.ceil(members / 100)
        and rows[1][1:3] == (1, 1)
        and rows[2][1] == 3 * gaps
        and rows[3][1] == 0
    )
    print("All targets met." if ok else "A target was missed.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

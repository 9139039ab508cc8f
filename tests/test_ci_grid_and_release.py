"""/ci/ columns are commits, its cells link to their runs; "failing", "flaky" and "blocks
a release" have one definition (``ConvergenceTest``), and /releases/ answers for the
head of the default branch."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from convergence.models import ConvergenceRun, State
from convergence.selectors import grid_rows
from convergence.services import convergence_state_update, release_readiness
from tests.factories import (
    BenefitTargetFactory,
    CIRunFactory,
    ConvergenceRunFactory,
    ConvergenceTestFactory,
    RepositoryFactory,
    TechniqueFactory,
)

pytestmark = pytest.mark.django_db

PASSED, FAILED = ConvergenceRun.Outcome.PASSED, ConvergenceRun.Outcome.FAILED


def add_runs(test, *runs):
    """``runs``: (hours ago, outcome, sha) each; the test's state is then brought up to date."""
    now = timezone.now()
    made = [
        ConvergenceRunFactory(
            test=test, started_at=now - timedelta(hours=hours), outcome=outcome, tfmot_sha=sha
        )
        for hours, outcome, sha in runs
    ]
    convergence_state_update(test)
    return made


def test_one_column_per_commit_dated_by_its_first_run(client, resnet, pruning):
    """A commit that two tests ran on different days is one column, under the day of its
    first run; columns follow the commits' order, newest first."""
    other = ConvergenceTestFactory(technique=pruning, name="mobilenet")
    add_runs(resnet, (72, PASSED, "a" * 40), (24, PASSED, "b" * 40))
    add_runs(other, (48, PASSED, "a" * 40), (24, PASSED, "b" * 40), (0, PASSED, "c" * 40))
    columns, rows = grid_rows([resnet, other], None)
    runs = {r.tfmot_sha[:7]: r.started_at for r in ConvergenceRun.objects.order_by("-started_at")}
    day = {sha: at.date().isoformat() for sha, at in runs.items()}  # the earliest run wins
    assert [(c.sha, c.date) for c in columns] == [
        ("ccccccc", day["ccccccc"]),
        ("bbbbbbb", day["bbbbbbb"]),
        ("aaaaaaa", day["aaaaaaa"]),
    ]
    # Each test's run at commit a sits in the same column.
    assert rows[0].cells[2]["outcome"] == rows[1].cells[2]["outcome"] == PASSED
    assert rows[0].cells[0] is None
    html = client.get("/ci/").content.decode()
    assert html.count('<code class="tg-sha">aaaaaaa</code>') == 1
    dates = re.findall(r'<span class="tg-date">([\d-]+)</span>', html)
    assert len(dates) == 3


def test_a_cell_links_to_its_run_and_says_what_it_missed(client, resnet):
    BenefitTargetFactory(test=resnet, metric="top1", documented_value=76.0, tolerance=0.3)
    run = ConvergenceRunFactory(
        test=resnet,
        outcome=FAILED,
        tfmot_sha="d" * 40,
        metrics={"top1": 74.9},
        log_url="https://github.com/tensorflow/model-optimization/actions/runs/42",
    )
    convergence_state_update(resnet)
    html = client.get("/ci/").content.decode()
    cell = re.search(r'<td class="tg-cell run-failed" title="([^"]*)"><a href="([^"]+)">', html)
    assert cell, html
    assert cell.group(2) == f"/ci/runs/{run.pk}/"
    assert "failed on" in cell.group(
        1
    ) and "misses top1 74.9 vs documented at least 76" in cell.group(1)
    page = client.get(cell.group(2)).content.decode()
    assert 'href="https://github.com/tensorflow/model-optimization/actions/runs/42"' in page
    assert "✗ missed" in page and "74.9" in page


def test_an_internal_run_page_is_only_for_those_who_may_see_it(client, carol, resnet):
    run = ConvergenceRunFactory(test=resnet, outcome=FAILED, internal=True)
    assert client.get(f"/ci/runs/{run.pk}/").status_code == 404
    client.force_login(carol)
    assert client.get(f"/ci/runs/{run.pk}/").status_code == 200


def test_a_stale_test_with_an_open_alert_is_failing_everywhere(client, carol, resnet):
    """Two red runs three days ago: the test is stale, and its alert is open. It counts
    as failing on the staff landing, /ci/ says both, and it blocks a release."""
    add_runs(
        resnet,
        *[(200 - 10 * i, PASSED, "a" * 40) for i in range(6)],
        (60, FAILED, "b" * 40),
        (55, FAILED, "b" * 40),
    )
    resnet.refresh_from_db()
    assert resnet.state == State.STALE and resnet.failing
    assert resnet.conditions == [State.FAILING, State.STALE]
    client.force_login(carol)
    landing = client.get("/me/").content.decode()
    card = landing[landing.index('id="failing-tests"') :]
    assert '<span class="count-badge nonzero">1</span>' in card[: card.index("</section>")]
    ci = client.get("/ci/?state=failing").content.decode()
    assert f'id="test-{resnet.pk}"' in ci
    assert '✗ Failing</span> <span class="status status-stale">○ Stale' in ci
    blocked = release_readiness("a" * 7)
    assert not blocked.ready and blocked.blockers[0]["reason"].startswith("stale")


def test_a_flaky_test_says_so_and_blocks_where_it_failed(client, resnet):
    outcomes = [PASSED, FAILED, PASSED, PASSED, FAILED, PASSED, FAILED, PASSED]
    add_runs(resnet, *[(24 * (len(outcomes) - i), o, f"{i:07x}") for i, o in enumerate(outcomes)])
    resnet.refresh_from_db()
    assert resnet.flaky and not resnet.failing
    green = release_readiness(f"{len(outcomes) - 1:07x}")
    assert green.ready and green.tests[0]["conditions"] == ["flaky"]
    red = release_readiness(f"{6:07x}")
    assert red.blockers[0]["reason"] == "failed at this commit"
    html = client.get(f"/releases/?sha={6:07x}").content.decode()
    assert "✗ failed at this commit" in html and "≈ Flaky" in html


def test_an_open_alert_blocks_commits_from_its_first_bad_run_on(resnet):
    add_runs(
        resnet,
        (40, PASSED, "a" * 40),
        (36, PASSED, "a" * 40),
        (20, FAILED, "b" * 40),
        (16, FAILED, "c" * 40),
        (12, PASSED, "d" * 40),
    )
    assert release_readiness("a" * 7).ready  # before the breakage
    assert release_readiness("d" * 7).blockers[0]["reason"].startswith("failing since")


def test_a_launched_technique_without_a_convergence_test_blocks_a_release(client, resnet):
    add_runs(resnet, (0, PASSED, "e" * 40))
    assert release_readiness("e" * 7).ready
    TechniqueFactory(slug="tensor-encoding", name="Tensor encoding")
    readiness = release_readiness("e" * 7)
    assert not readiness.ready
    assert readiness.blockers == [
        {
            "test": "",
            "technique": "Tensor encoding",
            "technique_slug": "tensor-encoding",
            "green": False,
            "reason": "no convergence test",
            "conditions": [],
            "run_at": None,
            "log_url": "",
            "internal_failure_open": False,
        }
    ]
    html = client.get("/releases/?sha=" + "e" * 7).content.decode()
    assert "Tensor encoding" in html and "launched without a convergence test" in html


def test_releases_answers_for_the_head_of_the_default_branch(client, resnet):
    add_runs(resnet, (24, PASSED, "f" * 40))
    html = client.get("/releases/").content.decode()
    assert 'id="ready-h"' not in html and "has not seen the head" in html
    repository = RepositoryFactory()
    CIRunFactory(
        repository=repository, head_sha="0" * 40, created_at=timezone.now() - timedelta(days=2)
    )
    CIRunFactory(repository=repository, head_sha="f" * 40)
    CIRunFactory(repository=repository, head_sha="9" * 40, event="pull_request", branch="topic")
    html = client.get("/releases/").content.decode()
    assert "✓ Ready to release" in html and "(head of master)" in html
    assert f"<code>{'f' * 40}</code>" in html
    assert "Newest commit with convergence results" not in html  # the head is tested
    # A head the convergence runs have not reached yet: the newest tested commit is named.
    CIRunFactory(repository=repository, head_sha="1" * 40, created_at=timezone.now())
    html = client.get("/releases/").content.decode()
    assert "no run at this commit" in html
    assert f'Newest commit with convergence results: <a href="?sha={"f" * 40}">' in html
    # A SHA typed in still wins.
    html = client.get("/releases/?sha=" + "0" * 7).content.decode()
    assert "✗ Not ready" in html and "no run at this commit" in html

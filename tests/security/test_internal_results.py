"""Internal (Google-only) results through the one visibility rule: benefit figures, the
run strip, the state's dates and the adherence results built from them. The public and
another group's owner see nothing internal; the technique's owners and staff see it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from adherence.models import Gap, RuleResult
from adherence.services import gaps_evaluate
from convergence.models import ConvergenceRun
from convergence.parsers import parse_json
from convergence.services import results_ingest
from tests.factories import BenefitTargetFactory

pytestmark = pytest.mark.django_db


def ingest(runs: list[dict], internal: bool) -> None:
    body = {"runs": [{"test": "pruning/resnet50", **run} for run in runs]}
    results_ingest(
        parse_json(json.dumps(body).encode()), ConvergenceRun.Source.UPLOAD, internal=internal
    )


def day(days_ago: int) -> str:
    return (timezone.now() - timedelta(days=days_ago, hours=1)).isoformat()


def date_of(days_ago: int) -> str:
    return timezone.localtime(timezone.now() - timedelta(days=days_ago, hours=1)).date().isoformat()


@pytest.fixture
def internal_miss(resnet):
    """Public runs meet the documented accuracy (0.801); the latest, internal, misses it."""
    BenefitTargetFactory(test=resnet, metric="top1_accuracy", documented_value=0.78, tolerance=0.01)
    ingest(
        [
            {"outcome": "passed", "started_at": day(3), "metrics": {"top1_accuracy": 0.801}},
            {"outcome": "passed", "started_at": day(2), "metrics": {"top1_accuracy": 0.801}},
        ],
        internal=False,
    )
    ingest(
        [{"outcome": "passed", "started_at": day(1), "metrics": {"top1_accuracy": 0.613}}],
        internal=True,
    )
    return resnet


def test_benefit_figures_of_internal_runs_reach_only_owners_and_staff(
    client, alice, bob, carol, internal_miss
):
    target = internal_miss.targets.get()
    assert target.regressed and target.latest_value == 0.613
    assert not target.public_regressed and target.public_latest_value == 0.801
    assert target.public_trend == [0.801, 0.801]
    for viewer in (None, bob):
        if viewer:
            client.force_login(viewer)
        page = client.get("/techniques/pruning/").content.decode()
        assert "0.613" not in page and "0.801" in page and "✓ met" in page
        assert "An internal (Google-only) result misses a documented benefit" in page
    for viewer in (alice, carol):
        client.force_login(viewer)
        page = client.get("/techniques/pruning/").content.decode()
        assert "0.613" in page and "✗ missed" in page
        assert "An internal (Google-only) result misses" not in page


def test_the_benefit_rule_fails_on_an_internal_miss_without_its_value_or_date(
    client, internal_miss
):
    gaps_evaluate()
    result = RuleResult.objects.get(technique__slug="pruning", rule_id="benefits-delivered")
    assert result.status == "fail"
    assert "an internal result misses the documented 0.78" in result.summary
    assert "0.613" not in result.summary + json.dumps(result.evidence)
    assert result.since is None  # an internal run does not date the public result
    gap = Gap.objects.get(technique__slug="pruning", rule_id="benefits-delivered")
    for url in (
        "/techniques/pruning/",
        "/api/techniques/pruning/",
        "/adherence/",
        f"/adherence/gaps/{gap.pk}/",
        "/adherence/feed.atom",
    ):
        assert "0.613" not in client.get(url).content.decode()


def test_the_strip_groups_hidden_internal_runs_in_one_undated_cell(client, alice, resnet):
    ingest([{"outcome": "passed", "started_at": day(3), "tfmot_sha": "aaaaaaa1"}], False)
    ingest([{"outcome": "failed", "started_at": day(2), "tfmot_sha": "bbbbbbb2"}], True)
    ingest([{"outcome": "passed", "started_at": day(1), "tfmot_sha": "ccccccc3"}], False)
    page = client.get("/techniques/pruning/").content.decode()
    strip = page[page.index('<ol class="strip"') :]
    strip = strip[: strip.index("</ol>")]
    # One internal cell, first: its place among the public runs would date it.
    assert strip.count('title="internal runs"') == 1
    assert strip.index('title="internal runs"') < strip.index("aaaaaaa")
    assert "bbbbbbb" not in page and date_of(2) not in page
    client.force_login(alice)
    page = client.get("/techniques/pruning/").content.decode()
    strip = page[page.index('<ol class="strip"') :]
    assert strip.index("aaaaaaa") < strip.index("bbbbbbb") < strip.index("ccccccc")


def test_a_state_dated_by_an_internal_run_shows_no_date_to_others(
    client, alice, bob, carol, resnet
):
    """Passing since an internal green run: the public sees "passing", not since when."""
    ingest([{"outcome": "passed", "started_at": day(3)}], internal=True)
    ingest([{"outcome": "passed", "started_at": day(1)}], internal=False)
    resnet.refresh_from_db()
    assert resnet.state == "passing" and resnet.state_internal
    since = f"since {date_of(3)}"
    for viewer in (None, bob):
        if viewer:
            client.force_login(viewer)
        assert since not in client.get("/techniques/pruning/").content.decode()
        assert client.get("/api/convergence/tests/").json()["results"][0]["state_since"] is None
    for viewer in (alice, carol):
        client.force_login(viewer)
        assert since in client.get("/techniques/pruning/").content.decode()
        assert client.get("/api/convergence/tests/").json()["results"][0]["state_since"]


@pytest.fixture
def alert_from_internal_runs(resnet):
    """The alert's first bad run is internal, its latest internal run green: the open
    alert still rests on an internal run."""
    ingest(
        [
            {"outcome": "passed", "started_at": day(6), "tfmot_sha": "aaaaaaa1"},
            {"outcome": "failed", "started_at": day(5), "tfmot_sha": "bbbbbbb2"},
            {"outcome": "failed", "started_at": day(4), "tfmot_sha": "bbbbbbb2"},
            {"outcome": "passed", "started_at": day(3), "tfmot_sha": "ccccccc3"},
        ],
        internal=True,
    )
    ingest([{"outcome": "failed", "started_at": day(1), "tfmot_sha": "ddddddd4"}], False)
    resnet.refresh_from_db()
    assert resnet.alert_open and resnet.first_bad_run.internal and resnet.state_internal
    return resnet


def test_failing_since_an_internal_run_is_hidden_on_pages_api_and_rules(
    client, alice, bob, alert_from_internal_runs
):
    since = date_of(5)
    client.force_login(bob)
    for url in ("/techniques/pruning/", "/ci/"):
        page = client.get(url).content.decode()
        assert since not in page and "bbbbbbb" not in page and "aaaaaaa" not in page
    row = client.get("/api/convergence/tests/").json()["results"][0]
    assert row["state"] == "failing" and row["failing_since"] is None
    assert row["state_since"] is None
    gaps_evaluate()
    result = RuleResult.objects.get(technique__slug="pruning", rule_id="convergence-green")
    assert result.status == "fail" and "an internal failure is open" in result.summary
    assert since not in result.summary + json.dumps(result.evidence) and result.since is None
    gap = Gap.objects.get(technique__slug="pruning", rule_id="convergence-green")
    for url in ("/adherence/", f"/adherence/gaps/{gap.pk}/", "/adherence/feed.atom"):
        assert since not in client.get(url).content.decode()
    client.force_login(alice)
    assert client.get("/api/convergence/tests/").json()["results"][0]["failing_since"]
    assert f"failing since {since}" in client.get("/techniques/pruning/").content.decode()

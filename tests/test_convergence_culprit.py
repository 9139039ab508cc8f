"""Culprit ranking: the PRs of a culprit range ranked by how many of their changed files
lie in the technique's paths, then by recency, over real HTTP to the GitHub-shaped server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from adherence.models import Gap
from adherence.services import gaps_evaluate
from convergence.models import Bisection, ConvergenceTest
from convergence.services import convergence_state_update, culprit_range_fetch, culprit_rank
from fake_github.dataset import Dataset
from fake_github.server import FakeGitHub
from github import GitHubClient
from tests.factories import (
    BisectionFactory,
    ConvergenceRunFactory,
    ConvergenceTestFactory,
    RevertFactory,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 10, 9, tzinfo=UTC)
QUANTIZE = "tensorflow_model_optimization/python/core/quantization/keras/quantize.py"


def repository(pulls: list[tuple[str, list[str]]]) -> tuple[Dataset, str, str]:
    """A repository whose history is: a good commit, one merge per PR, in order."""
    dataset = Dataset()
    good = dataset.add_commit("Good state", "alice", T0).sha
    for i, (title, files) in enumerate(pulls, start=1):
        moment = T0 + timedelta(hours=i)
        pr = dataset.add_pull(
            title, "contributor", moment, state="closed", merged_at=moment, files=files
        )
        dataset.add_commit(f"{title} (#{pr.number})", "contributor", moment, pr.number)
    return dataset, good, dataset.commits[-1].sha


def failing_test(technique, good: str, bad: str) -> ConvergenceTest:
    """A test that passed on ``good``, then failed twice on ``bad``: an open alert."""
    test = ConvergenceTestFactory.create(
        technique=technique, name="mobilenet", model_family="MobileNet"
    )
    for day, (sha, outcome) in enumerate([(good, "passed"), (bad, "failed"), (bad, "failed")], 1):
        ConvergenceRunFactory(
            test=test, started_at=T0 + timedelta(days=day), outcome=outcome, tfmot_sha=sha
        )
    return convergence_state_update(test, now=T0 + timedelta(days=3))


@pytest.fixture
def qat(pruning):
    pruning.path_globs = ["tensorflow_model_optimization/python/core/quantization/keras/"]
    pruning.save()
    return pruning


def fetch(test, dataset):
    with FakeGitHub(dataset) as server:
        client = GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.01)
        return culprit_range_fetch(test, client=client)


def test_the_pr_that_changes_the_technique_beats_the_last_merged_one(qat, alice_client):
    dataset, good, bad = repository(
        [
            ("Fix docs typo", ["README.md"]),
            ("Speed up quantize_apply", [QUANTIZE, "RELEASE.md"]),
            ("Bump CI image", [".github/workflows/ci.yml"]),  # the last merged PR
        ]
    )
    culprit = fetch(failing_test(qat, good, bad), dataset)
    assert culprit.error == ""
    assert [p["title"] for p in culprit.pull_requests] == [
        "Speed up quantize_apply",
        "Bump CI image",
        "Fix docs typo",
    ]
    assert culprit.likely_culprit["title"] == "Speed up quantize_apply"
    assert culprit.likely_culprit["reason"] == "changes quantization/keras/quantize.py"
    page = alice_client.get("/ci/").content.decode()
    assert "changes quantization/keras/quantize.py" in page
    assert "does not touch the technique&#x27;s paths" in page


def test_when_no_pr_touches_the_technique_the_page_says_so(qat, alice_client):
    dataset, good, bad = repository([("Docs", ["README.md"]), ("CI", [".github/workflows/ci.yml"])])
    culprit = fetch(failing_test(qat, good, bad), dataset)
    assert culprit.likely_culprit is None and culprit.none_touches_technique
    # Recency orders PRs that tie on overlap.
    assert [p["title"] for p in culprit.pull_requests] == ["CI", "Docs"]
    page = alice_client.get("/ci/").content.decode()
    assert "No PR of the range touches the technique" in page


def test_the_gap_page_names_the_likely_culprit_of_a_failing_test(qat, client, alice, bob):
    """From the gap to the PR to revert, without leaving the page; an internal alert's
    commits stay hidden from whoever may not see internal results."""
    dataset, good, bad = repository(
        [("Speed up quantize_apply", [QUANTIZE]), ("Bump CI image", [".github/workflows/ci.yml"])]
    )
    test = failing_test(qat, good, bad)
    fetch(test, dataset)
    with time_machine.travel(T0 + timedelta(days=3, hours=1), tick=False):
        gaps_evaluate()
    gap = Gap.objects.get(technique=qat, rule_id="convergence-green")
    client.force_login(alice)
    page = client.get(gap.get_absolute_url()).content.decode()
    assert "Failing tests and their culprit range" in page
    assert "Likely culprit:" in page and "Speed up quantize_apply" in page
    assert f"<code>{bad[:7]}</code>" in page

    test.runs.update(internal=True)
    client.force_login(bob)  # signed in, not an owner: no internal results
    hidden = client.get(gap.get_absolute_url()).content.decode()
    assert "An internal failure is open" in hidden
    assert bad[:7] not in hidden and "Speed up quantize_apply" not in hidden


def test_ranking_by_overlap_then_recency():
    pulls = [
        {"number": 1, "merged_at": "2026-11-01T00:00:00Z"},
        {"number": 2, "merged_at": "2026-11-02T00:00:00Z"},
        {"number": 3, "merged_at": "2026-11-03T00:00:00Z"},
    ]
    files = {1: ["a/x.py", "a/y.py"], 2: ["a/z.py"], 3: ["b/w.py"]}
    ranked = culprit_rank(pulls, files, ["a/"])
    assert [p["number"] for p in ranked] == [1, 2, 3]
    assert [p["overlap"] for p in ranked] == [2, 1, 0]
    assert [p["number"] for p in culprit_rank(pulls, {}, ["a/"])] == [3, 2, 1]


def test_once_the_bisection_names_the_culprit_the_grid_shows_it_and_its_revert(qat, alice_client):
    """The ranking's guess and its manual revert hint give way to what the bisection found
    by running, and to the revert it opened: never a second revert offered."""
    dataset, good, bad = repository([("Speed up quantize_apply", [QUANTIZE])])
    culprit = fetch(failing_test(qat, good, bad), dataset)
    bisection = BisectionFactory(
        test=culprit.test,
        culprit_range=culprit,
        state=Bisection.State.VERIFIED,
        culprit_sha=bad,
        culprit_pr=1,
    )
    page = alice_client.get("/ci/").content.decode()
    assert "Bisection: verified, culprit #1" in page
    assert "Open the PR to revert it on GitHub" not in page
    RevertFactory(bisection=bisection, culprit_pr=1, number=7, url="https://github.com/o/r/pull/7")
    page = alice_client.get("/ci/").content.decode()
    assert 'revert <a href="https://github.com/o/r/pull/7">#7</a> (draft, opening)' in page

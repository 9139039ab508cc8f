"""The bisection pages, the API and the links that lead to them."""

import pytest
from django.urls import reverse

from convergence.models import Bisection, BisectionStep
from tests.factories import BisectionFactory, BisectionStepFactory, RevertFactory

SHAS = [f"{i:040x}" for i in range(1, 5)]


@pytest.fixture
def verified(resnet):
    commits = [
        {
            "sha": sha,
            "message": f"Change {i}",
            "url": "",
            "pr": 10 + i,
            "pr_url": f"https://github.com/o/r/pull/{10 + i}",
            "rank": 0,
            "reason": "changes prune.py",
        }
        for i, sha in enumerate(SHAS)
    ]
    bisection = BisectionFactory(
        test=resnet,
        commits=commits,
        range_base="f" * 40,
        range_head=SHAS[-1],
        state=Bisection.State.VERIFIED,
        verified=True,
        culprit_sha=SHAS[2],
        culprit_parent_sha=SHAS[1],
        culprit_pr=12,
        culprit_pr_url="https://github.com/o/r/pull/12",
        culprit_why="the test fails at 0000003 and passes at its parent 0000002",
        runs_dispatched=4,
    )
    for sha, verdict, purpose in [
        (SHAS[1], "good", "search"),
        (SHAS[2], "bad", "search"),
        (SHAS[2], "bad", "verify"),
        (SHAS[1], "good", "verify"),
    ]:
        BisectionStepFactory(
            bisection=bisection,
            sha=sha,
            verdict=verdict,
            purpose=purpose,
            status=BisectionStep.Status.DONE,
            run_url=f"https://github.com/o/r/actions/runs/{len(sha)}",
        )
    return bisection


def test_the_page_shows_the_range_runs_culprit_and_verification(client, verified):
    page = client.get(verified.get_absolute_url()).content.decode()
    assert "Verified" in page and "PR #12" in page
    assert "the test fails at 0000003" in page
    assert page.count("actions/runs/") >= 4
    assert "Open revert" not in page  # not for the public
    assert "data-refresh" not in page  # finished: no refresh


def test_staff_see_open_revert_others_may_not_press_it(client, carol, alice, verified):
    client.force_login(carol)
    assert "Open revert" in client.get(verified.get_absolute_url()).content.decode()
    client.force_login(alice)
    assert "Open revert" not in client.get(verified.get_absolute_url()).content.decode()
    url = reverse("convergence:bisection_revert", args=[verified.pk])
    assert client.post(url).status_code == 403


def test_a_running_bisection_refreshes_itself(client, resnet):
    bisection = BisectionFactory(test=resnet)
    assert "data-refresh" in client.get(bisection.get_absolute_url()).content.decode()


def test_an_internal_bisection_is_hidden_from_the_public(client, alice, resnet):
    bisection = BisectionFactory(test=resnet, internal=True)
    assert client.get(bisection.get_absolute_url()).status_code == 404
    assert client.get("/api/convergence/bisections/").json()["count"] == 0
    client.force_login(alice)  # an owner of pruning
    assert client.get(bisection.get_absolute_url()).status_code == 200


def test_the_list_and_the_api(client, verified):
    RevertFactory(
        bisection=verified,
        culprit_pr=12,
        number=99,
        url="https://github.com/o/r/pull/99",
        state="open",
    )
    page = client.get(reverse("convergence:bisections")).content.decode()
    assert "pruning/resnet50" in page and "#99" in page
    assert "Bisections" in client.get("/").content.decode()  # in the navigation
    data = client.get("/api/convergence/bisections/?state=verified").json()["results"][0]
    assert data["test"] == "pruning/resnet50"
    assert data["commits_in_range"] == 4 and data["runs_dispatched"] == 4
    assert data["culprit_sha"] == SHAS[2] and data["culprit_pr"] == 12
    assert data["revert_pr_url"] == "https://github.com/o/r/pull/99"
    assert data["range_base"] == "f" * 40 and data["range_head"] == SHAS[-1]
    assert {"created_at", "finished_at", "state"} <= set(data)
    assert client.get("/api/convergence/bisections/?state=running").json()["count"] == 0


def test_staff_landing_lists_a_verified_culprit_without_revert(client, carol, verified):
    client.force_login(carol)
    page = client.get(reverse("techniques:landing")).content.decode()
    assert "Bisections to act on" in page and verified.get_absolute_url() in page
    assert "verified culprit #12: open its revert" in page


def test_the_technique_page_links_its_tests_bisection(client, verified):
    page = client.get(verified.test.technique.get_absolute_url()).content.decode()
    assert verified.get_absolute_url() in page


def test_the_owners_red_test_card_says_where_the_search_stands(client, alice, carol, verified):
    """alice owns pruning: her red test's card follows its bisection, to the revert."""
    from datetime import timedelta

    from django.utils import timezone

    test = verified.test
    test.alert_open, test.failing_since = True, verified.created_at - timedelta(hours=1)
    test.save()
    client.force_login(alice)
    page = client.get(reverse("techniques:landing")).content.decode()
    assert "culprit #12 verified; the TFMOT team opens its revert" in page
    assert verified.get_absolute_url() in page
    RevertFactory(
        bisection=verified, culprit_pr=12, number=99, url="https://github.com/o/r/pull/99"
    )
    page = client.get(reverse("techniques:landing")).content.decode()
    assert "culprit #12 verified; its revert #99 is open: review it" in page
    # A search from an earlier red streak says nothing of this one.
    test.failing_since = timezone.now()
    test.save()
    page = client.get(reverse("techniques:landing")).content.decode()
    assert "find the PR responsible and revert it" in page

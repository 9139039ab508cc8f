"""Upload API (token auth, all-or-nothing), internal results, release gate, culprit range."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from convergence.models import CIToken, ConvergenceRun, ConvergenceTest
from convergence.services import culprit_range_fetch, release_readiness
from fake_github.demo import demo_dataset
from fake_github.server import FakeGitHub
from github import GitHubClient
from tests.factories import ConvergenceTestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token():
    return CIToken.issue("Kokoro", all_techniques=True)[1]


def upload(client, token, runs, internal=False, content_type="application/json", body=None):
    body = body if body is not None else json.dumps({"runs": runs})
    return client.post(
        "/api/convergence/upload/" + ("?internal=1" if internal else ""),
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}" if token else "",
    )


def run(outcome="passed", sha="abc1234", days_ago=0, test="pruning/resnet50", **extra):
    at = (timezone.now() - timedelta(days=days_ago)).isoformat()
    return {"test": test, "outcome": outcome, "tfmot_sha": sha, "started_at": at, **extra}


def test_token_is_stored_hashed_and_shown_once():
    token, clear = CIToken.issue("GitLab")
    assert (
        clear.startswith("tfmot_") and clear not in token.token_hash and len(token.token_hash) == 64
    )
    assert CIToken.authenticate(clear) == token


@pytest.mark.parametrize("header", ["", "Bearer nope", "Token x", "Bearer "])
def test_missing_wrong_or_malformed_tokens_are_401(client, resnet, header):
    response = client.post(
        "/api/convergence/upload/",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401
    assert ConvergenceRun.objects.count() == 0


def test_wrong_tokens_are_throttled_per_address_and_counted(
    client, resnet, token, settings, locmem_cache
):
    from prometheus_client import REGISTRY

    def counted(outcome):
        name = "portal_ci_token_failures_total"
        return REGISTRY.get_sample_value(name, {"outcome": outcome}) or 0

    settings.CI_TOKEN_FAILURE_LIMIT = 5
    refused, throttled = counted("refused"), counted("throttled")
    statuses = [upload(client, f"wrong-{i}", [run()]).status_code for i in range(5)]
    assert statuses == [401] * 5
    assert upload(client, "wrong-again", [run()]).status_code == 429
    # Even the right token waits: the address is throttled before any token is checked.
    blocked = upload(client, token, [run()])
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert ConvergenceRun.objects.count() == 0
    assert counted("refused") - refused == 5 and counted("throttled") - throttled == 2
    # Another address is not affected.
    other = client.post(
        "/api/convergence/upload/",
        data=json.dumps({"runs": [run()]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        REMOTE_ADDR="10.0.0.7",
    )
    assert other.status_code == 201, other.content


def test_a_client_writing_its_own_forwarded_for_is_still_one_address(
    client, resnet, token, settings, locmem_cache
):
    """A new X-Forwarded-For on each guess is no new client: wrong tokens and the upload
    throttle count against the address the portal believes (no proxy here: the peer)."""
    settings.CI_TOKEN_FAILURE_LIMIT = 3
    statuses = [
        client.post(
            "/api/convergence/upload/",
            data=json.dumps({"runs": [run()]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer wrong-{i}",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_revoked_token_is_refused(client, resnet):
    token, clear = CIToken.issue("old")
    token.revoked_at = timezone.now()
    token.save()
    assert upload(client, clear, [run()]).status_code == 401


def test_upload_stores_runs_once_and_updates_state(client, resnet, token):
    first = upload(
        client, token, [run("failed", days_ago=1, external_id="1"), run("failed", external_id="2")]
    )
    assert first.status_code == 201 and first.json()["created"] == 2
    again = upload(
        client, token, [run("failed", days_ago=1, external_id="1"), run("failed", external_id="2")]
    )
    assert again.status_code == 200 and again.json()["duplicates"] == 2
    resnet.refresh_from_db()
    assert resnet.state == "failing" and resnet.alert_open


def test_a_file_with_one_unknown_test_is_rejected_whole(client, resnet, token):
    response = upload(client, token, [run(), run(test="pruning/nope")])
    assert response.status_code == 400
    assert "Unknown convergence test" in response.json()["error"]
    assert ConvergenceRun.objects.count() == 0


def test_junit_upload_and_hostile_xml(client, resnet, token):
    junit = b'<testsuite><testcase classname="pruning" name="resnet50"><properties><property name="top1_accuracy" value="76.7"/></properties></testcase></testsuite>'
    assert (
        upload(client, token, None, content_type="application/xml", body=junit).status_code == 201
    )
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&x;"/></testsuite>'
    response = upload(client, token, None, content_type="application/xml", body=xxe)
    assert response.status_code == 400 and "DTD" in response.json()["error"]


def test_internal_results_need_an_internal_token_and_are_hidden_from_the_public(
    client, alice, bob, resnet, token
):
    assert upload(client, token, [run("failed")], internal=True).status_code == 403
    internal = CIToken.issue("Google internal", internal=True, all_techniques=True)[1]
    upload(
        client,
        internal,
        [run("failed", days_ago=1, external_id="a"), run("failed", external_id="b")],
        internal=True,
    )
    public = client.get("/techniques/pruning/").content.decode()
    assert "An internal (Google-only) failure is open" in public and "abc1234" not in public
    assert len(client.get("/api/convergence/runs/").json()["results"]) == 0
    client.force_login(bob)
    assert len(client.get("/api/convergence/runs/").json()["results"]) == 0
    client.force_login(alice)
    assert len(client.get("/api/convergence/runs/").json()["results"]) == 2
    assert "abc1234" in client.get("/techniques/pruning/").content.decode()


def test_trivial_tasks_are_refused(pruning):
    from django.core.exceptions import ValidationError

    test = ConvergenceTest(
        technique=pruning, name="mnist", model_family="ResNet", task="MNIST digits"
    )
    with pytest.raises(ValidationError, match="Trivial tasks such as MNIST"):
        test.full_clean()
    test = ConvergenceTest(technique=pruning, name="x", model_family="LeNet", task="digits")
    with pytest.raises(ValidationError, match="Not a TF Model Garden family"):
        test.full_clean()


def test_release_gate_both_ways(client, resnet, token):
    upload(
        client,
        token,
        [
            run("passed", sha="aaaaaaa1", external_id="1"),
            run("failed", sha="bbbbbbb2", external_id="2"),
        ],
    )
    assert release_readiness("aaaaaaa1").ready
    blocked = release_readiness("bbbbbbb2")
    assert not blocked.ready and blocked.blockers[0]["reason"] == "failed at this commit"
    assert not release_readiness("ccccccc3").ready
    body = client.get("/releases/readiness.json?sha=aaaaaaa1").json()
    assert body["ready"] is True
    assert client.get("/releases/readiness.json?sha=zz").status_code == 400


def test_culprit_range_from_the_compare_api_over_loopback(client, resnet, token):
    dataset = demo_dataset()
    good, bad = dataset.commits[-10].sha, dataset.commits[-4].sha
    upload(
        client,
        token,
        [
            run("passed", sha=good, days_ago=3, external_id="1"),
            run("failed", sha=bad, days_ago=2, external_id="2"),
            run("failed", sha=bad, days_ago=1, external_id="3"),
        ],
    )
    resnet.refresh_from_db()
    with FakeGitHub(dataset) as server:
        culprit = culprit_range_fetch(
            resnet, client=GitHubClient(dataset.full_name, base_url=server.url, token="")
        )
    assert culprit.error == ""
    in_range = dataset.commits[-9:-3]
    assert [c["sha"] for c in culprit.commits] == [c.sha for c in in_range]
    # The PRs merged in the range, newest first: none touches this pruning's paths.
    merged = sorted((c.pr_number for c in in_range if c.pr_number), reverse=True)
    assert [p["number"] for p in culprit.pull_requests] == merged and merged
    assert culprit.none_touches_technique and culprit.likely_culprit is None


def test_ci_grid_query_count_does_not_grow(alice_client, pruning, query_counts):
    def read():
        assert alice_client.get("/ci/").status_code == 200

    small, large = query_counts(
        ConvergenceTestFactory.create_batch, read, at_most=14
    )  # change points: one query
    assert small == large

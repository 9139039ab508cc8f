"""The upload API under hostile or unusual input: a 400 naming the field for every
malformed value, media types enforced, no run dropped as a false duplicate, counts from
the rows written (two uploads at once), tokens scoped, internal runs never leaked."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from convergence.models import CIToken, ConvergenceRun
from convergence.parsers import parse_json
from convergence.services import release_readiness, results_ingest
from tests.factories import ConvergenceTestFactory, TechniqueFactory

pytestmark = pytest.mark.django_db
URL = "/api/convergence/upload/"


@pytest.fixture
def kmeans(clustering):
    return ConvergenceTestFactory(technique=clustering, name="kmeans")


@pytest.fixture
def token(pruning):
    return CIToken.issue("pruning CI", groups=[pruning.owner_group])[1]


def post(client, token, body, content_type="application/json", query=""):
    return client.post(
        URL + query, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def runs_json(**run):
    return json.dumps({"runs": [{"test": "pruning/resnet50", "outcome": "passed", **run}]})


MALFORMED_JSON = [
    (
        '{"runs":[{"test":"pruning/resnet50","outcome":"passed","metrics":{"m":'
        + "9" * 400
        + "}}]}",
        "metrics.m",
    ),
    (
        '{"runs":[{"test":"pruning/resnet50","outcome":"passed","metrics":{"m":'
        + "1" * 5000
        + "}}]}",
        "metrics.m",
    ),
    (runs_json(metrics={"m": 1e308 * 10 if False else "1e999"}), "metrics.m"),
    (runs_json(started_at="2026-13-45T00:00:00Z"), "started_at"),
    (runs_json(started_at="2026-02-30T10:00:00Z"), "started_at"),
    (runs_json(started_at="2026-01-01T00:00:00+25:00"), "started_at"),
    (runs_json(started_at="9999-12-31T23:59:59-23:59"), "started_at"),
    (runs_json(started_at=["2026"]), "started_at"),
    (runs_json(log_url="javascript:alert(1)"), "log_url"),
    (runs_json(metrics=[1, 2]), "metrics"),
    (runs_json(test={"a": 1}), "test"),
    (runs_json(test="\x00\ud800"), "test"),
    ('{"runs": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    ('{"runs": [' + '{"a":' * 100 + "1" + "}" * 100 + "]}", "nested"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED_JSON)
def test_malformed_json_values_are_a_400_naming_the_field(client, resnet, token, body, field):
    response = post(client, token, body)
    assert response.status_code == 400, response.content[:200]
    assert field in response.json()["error"]
    assert ConvergenceRun.objects.count() == 0


MALFORMED_XML = [
    (b"<testsuite>" * 5000 + b"</testsuite>" * 5000, "nested deeper"),
    (b'<?xml version="1.0" encoding="x-unknown-9"?><testsuite/>', "XML"),
    (
        b'<testsuite><testcase classname="pruning" name="resnet50">'
        b'<properties><property name="tfmot_sha" value="zz"/></properties></testcase></testsuite>',
        "tfmot_sha",
    ),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED_XML)
def test_malformed_xml_is_a_400(client, resnet, token, body, message):
    response = post(client, token, body, "application/xml")
    assert response.status_code == 400 and message in response.json()["error"]
    assert ConvergenceRun.objects.count() == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
def test_json_sent_as_anything_else_is_refused(client, resnet, token, content_type):
    response = post(client, token, runs_json(), content_type)
    assert response.status_code == 415
    assert ConvergenceRun.objects.count() == 0


def test_nul_and_lone_surrogates_never_reach_the_database(client, resnet, token):
    body = runs_json(tf_version="tf\x00\ud800-nightly", metrics={"top\x00\udfff1": 1})
    assert post(client, token, body).status_code == 201
    run = ConvergenceRun.objects.get()
    assert (run.tf_version, run.metrics) == ("tf-nightly", {"top1": 1.0})


def test_runs_without_time_or_sha_but_different_metrics_are_distinct(client, resnet, token):
    assert post(client, token, runs_json(metrics={"top1": 76.1})).json()["created"] == 1
    assert post(client, token, runs_json(metrics={"top1": 75.0})).json()["created"] == 1
    again = post(client, token, runs_json(metrics={"top1": 75.0})).json()
    assert (again["created"], again["duplicates"]) == (0, 1)
    assert ConvergenceRun.objects.count() == 2


def test_a_public_run_never_makes_an_internal_one_a_duplicate(client, resnet, pruning):
    internal = CIToken.issue("internal", internal=True, groups=[pruning.owner_group])[1]
    body = runs_json(external_id="nightly-42", outcome="failed")
    assert post(client, internal, body).json()["created"] == 1
    assert post(client, internal, body, query="?internal=1").json()["created"] == 1
    assert sorted(ConvergenceRun.objects.values_list("internal", flat=True)) == [False, True]


def test_a_token_uploads_only_for_its_groups_or_techniques(
    client, resnet, kmeans, token, clustering
):
    body = json.dumps(
        {
            "runs": [
                {"test": "pruning/resnet50", "outcome": "passed"},
                {"test": "clustering/kmeans", "outcome": "passed"},
            ]
        }
    )
    refused = post(client, token, body)
    assert refused.status_code == 403 and "clustering/kmeans" in refused.json()["error"]
    assert ConvergenceRun.objects.count() == 0
    by_technique = CIToken.issue("clustering CI", techniques=[clustering])[1]
    assert post(client, by_technique, body).status_code == 403
    assert (
        post(
            client, by_technique, body.replace("pruning/resnet50", "clustering/kmeans")
        ).status_code
        == 201
    )
    assert post(client, CIToken.issue("unscoped")[1], runs_json()).status_code == 403


def test_new_token_is_shown_in_the_admin_response_never_in_a_cookie(carol_client, pruning):
    response = carol_client.post(
        "/admin/convergence/citoken/add/",
        {"name": "Kokoro", "groups": [pruning.owner_group.pk]},
    )
    assert response.status_code == 200
    token = CIToken.objects.get()
    clear = response.content.decode().split('id="ci-token">')[1].split("<")[0]
    assert CIToken.authenticate(clear) == token and list(token.groups.all()) == [
        pruning.owner_group
    ]
    assert all(clear not in morsel.value for morsel in response.cookies.values())
    assert clear not in str(carol_client.session.items())
    assert "no-store" in response["Cache-Control"]
    assert clear not in carol_client.get("/admin/convergence/citoken/").content.decode()


# --- internal results: one visibility rule ----------------------------------------------


@pytest.fixture
def internal_failure(resnet, pruning):
    now = timezone.now()
    records = parse_json(
        json.dumps(
            {
                "runs": [
                    {
                        "test": "pruning/resnet50",
                        "outcome": "passed",
                        "tfmot_sha": "aaaaaaa1",
                        "started_at": (now - timedelta(days=2)).isoformat(),
                    },
                    {
                        "test": "pruning/resnet50",
                        "outcome": "failed",
                        "tfmot_sha": "bbbbbbb2",
                        "started_at": (now - timedelta(days=1)).isoformat(),
                    },
                    {
                        "test": "pruning/resnet50",
                        "outcome": "failed",
                        "tfmot_sha": "bbbbbbb2",
                        "started_at": now.isoformat(),
                    },
                ]
            }
        ).encode()
    )
    results_ingest(records, ConvergenceRun.Source.UPLOAD, internal=True)
    return resnet


def test_readiness_json_tells_the_public_only_that_an_internal_failure_is_open(
    client, internal_failure
):
    body = client.get("/releases/readiness.json?sha=bbbbbbb2").json()
    row = body["tests"][0]
    assert row["reason"] == "no run at this commit" and row["run_at"] is None
    assert row["internal_failure_open"] is True
    assert release_readiness("bbbbbbb2", None).tests[0]["run_at"] is None


def test_pages_and_api_hide_internal_commits_from_other_users(
    client, bob, alice, carol, internal_failure
):
    client.force_login(bob)
    grid = client.get("/ci/").content.decode()
    assert "bbbbbbb" not in grid and "aaaaaaa" not in grid and "An internal failure is open" in grid
    # Hidden runs share one undated column: neither their commit nor their day shows.
    assert 'title="internal runs"' in grid
    for days in (0, 1):
        day = timezone.localtime(timezone.now() - timedelta(days=days)).strftime("%m-%d")
        assert f'<span class="tg-date">{day}</span>' not in grid
    releases = client.get("/releases/?sha=bbbbbbb2").content.decode()
    assert "failed at this commit" not in releases and "internal failure is open" in releases
    assert len(client.get("/api/convergence/runs/").json()["results"]) == 0
    assert client.get("/api/convergence/tests/").json()["results"][0]["state_since"] is None
    internal_failure.refresh_from_db()
    since = f"since {timezone.localtime(internal_failure.state_since).date().isoformat()}"
    page = client.get("/techniques/pruning/").content.decode()
    assert "internal (Google-only) failure is open" in page
    assert since not in page and since not in grid
    client.force_login(alice)
    assert client.get("/api/convergence/tests/").json()["results"][0]["state_since"]
    assert since in client.get("/techniques/pruning/").content.decode()
    assert "bbbbbbb" in client.get("/ci/").content.decode()
    assert "failed at this commit" in client.get("/releases/?sha=bbbbbbb2").content.decode()


# --- ingestion counts under concurrency ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_report_exactly_what_each_created(pruning):
    """Two uploads at once, sharing 50 runs listed in opposite orders over two tests:
    each reports the rows it wrote, together exactly the rows stored, and no deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    for name in ("resnet50", "mobilenet"):
        ConvergenceTestFactory(technique=pruning, name=name)
    shared = [
        {
            "test": f"pruning/{('resnet50', 'mobilenet')[i % 2]}",
            "outcome": "passed",
            "external_id": f"s{i}",
        }
        for i in range(50)
    ]
    bodies = [
        json.dumps(
            {
                "runs": (shared if who == "a" else shared[::-1])
                + [
                    {"test": "pruning/resnet50", "outcome": "failed", "external_id": f"{who}{i}"}
                    for i in range(20)
                ]
            }
        ).encode()
        for who in ("a", "b")
    ]
    barrier, results, errors = threading.Barrier(2), [], []

    def upload(body):
        try:
            barrier.wait()
            results.append(results_ingest(parse_json(body), ConvergenceRun.Source.UPLOAD).created)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(results) == ConvergenceRun.objects.count() == 90
    assert sorted(results)[0] >= 20


def test_the_visibility_rule_costs_the_same_queries_for_any_number_of_tests(
    alice_client, pruning, django_assert_max_num_queries
):
    counts = []
    for size in (2, 12):
        for i in range(size):
            technique = TechniqueFactory(owner_group=pruning.owner_group)
            ConvergenceTestFactory(technique=technique, name=f"t{i}")
        with django_assert_max_num_queries(30) as api:
            assert alice_client.get("/api/convergence/tests/").status_code == 200
        with django_assert_max_num_queries(30) as releases:
            assert alice_client.get("/releases/?sha=abcdef1").status_code == 200
        counts.append((len(api), len(releases)))
    assert counts[0] == counts[1]

"""The real GitHub client against the project's GitHub-shaped server, over loopback."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import requests

from fake_github import FakeGitHub, demo_dataset
from fake_github.dataset import Dataset
from github import (
    AuthenticationFailed,
    BadResponse,
    Forbidden,
    GitHubClient,
    NotFound,
    RateLimited,
    Unavailable,
    parse_link_header,
)

REPO = "tensorflow/model-optimization"


def small_dataset(issues=250) -> Dataset:
    ds = Dataset()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(issues):
        ds.add_issue(f"Issue {n}", "someone", start + timedelta(hours=n))
    return ds


def client_for(server, **options) -> GitHubClient:
    options.setdefault("token", "")
    options.setdefault("backoff", 0.01)
    slept = []
    options.setdefault("sleep", slept.append)
    client = GitHubClient(REPO, base_url=options.pop("base_url", server.url), **options)
    client.slept = slept
    return client


def test_follows_link_next_as_given_with_per_page_100():
    with FakeGitHub(small_dataset(250)) as server:
        client = client_for(server)
        pages = list(client.issues())
    assert [len(p.items) for p in pages] == [100, 100, 50]
    assert len({i["number"] for p in pages for i in p.items}) == 250
    assert all("per_page=100" in path for path in server.paths)
    assert client.stats.requests == 3
    assert pages[0].last_page == 3


def test_link_to_another_host_and_path_is_followed_and_the_token_stays_home():
    dataset = small_dataset(150)
    with FakeGitHub(dataset, token="s3cret") as server:
        # Next pages point at "localhost" under an /api/v3 prefix: another host, another path.
        server.link_base = f"http://localhost:{server.port}/api/v3"
        client = client_for(server, token="s3cret")
        first = next(client.issues())
        assert first.next_url.startswith(f"http://localhost:{server.port}/api/v3/repos/")
        server.token = None  # the other host serves without a token, like a CDN would
        server.reset_counters()
        items = [i for page in client.issues() for i in page.items]
    assert len(items) == 150
    assert server.paths[1].startswith("/api/v3/repos/tensorflow/model-optimization/issues")
    # The token went to the API host only, never to the host named in the Link header.
    assert server.auth_headers[0] == "Bearer s3cret"
    assert server.auth_headers[1] is None


def test_a_second_request_for_an_unchanged_listing_is_a_304():
    with FakeGitHub(small_dataset(30)) as server:
        client = client_for(server)
        # The ETag is kept once the caller has taken the page: read the whole listing.
        [first] = list(client.issues())
        assert len(first.items) == 30
        [page] = list(client.issues())
        assert page.not_modified and page.items == []
        assert client.stats.not_modified == 1
        assert server.counters["not_modified"] == 1
        # A change makes the first page differ: 200 again.
        server.dataset.add_issue("New", "someone", datetime(2026, 6, 1, tzinfo=UTC))
        assert len(next(client.issues()).items) == 31


def test_reading_a_listings_items_twice_gives_them_twice():
    """``items()`` holds no body to reuse, so it never asks conditionally: the second read
    of an unchanged listing (two bisections polling the same runs) is not empty."""
    ds = small_dataset(3)
    for n in range(3):
        ds.add_commit(f"Change {n}", "someone", datetime(2026, 2, 1 + n, tzinfo=UTC))
    with FakeGitHub(ds) as server:
        client = client_for(server)
        assert len(client.commits()) == len(client.commits()) == 3
        assert server.counters["not_modified"] == 0


def test_304_costs_no_rate_limit_and_the_limit_is_recorded(fake_github, github_client):
    list(github_client.labels())
    remaining = github_client.stats.rate_limit.remaining
    assert remaining == 4999
    list(github_client.labels())
    assert github_client.stats.rate_limit.remaining == remaining
    assert github_client.stats.rate_limit.reset_at > datetime.now(UTC)


def test_since_asks_only_for_what_changed(fake_github, github_client):
    since = datetime.now(UTC) - timedelta(days=3)
    items = [i for page in github_client.issues(since=since) for i in page.items]
    assert items
    assert all(i["updated_at"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ") for i in items)
    assert "since=" in fake_github.paths[-1]


def test_created_filter_for_workflow_runs(fake_github, github_client):
    since = datetime.now(UTC) - timedelta(days=3)
    runs = [r for page in github_client.workflow_runs(created_since=since) for r in page.items]
    assert runs and all(r["created_at"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ") for r in runs)
    assert "created=%3E%3D" in fake_github.paths[-1]


def test_5xx_burst_is_retried_with_backoff(fake_github, github_client):
    fake_github.add_fault("5xx", path="/labels", count=2, status=502)
    labels = list(github_client.items("/repos/{repo}/labels"))
    assert len(labels) == len(fake_github.dataset.labels)
    assert github_client.stats.retries == 2
    assert github_client.slept[1] > github_client.slept[0]  # exponential


def test_persistent_5xx_gives_a_clear_transient_error(fake_github, github_client):
    fake_github.add_fault("5xx", path="/labels", count=-1, status=503)
    with pytest.raises(Unavailable, match="503") as info:
        list(github_client.labels())
    assert info.value.transient
    assert github_client.stats.requests == github_client.max_retries + 1


def test_timeouts_are_retried_then_reported(fake_github):
    client = client_for(fake_github, timeout=0.3, max_retries=1)
    fake_github.add_fault("timeout", path="/releases", count=-1, delay=0.8)
    with pytest.raises(Unavailable, match="did not answer"):
        list(client.releases())
    assert client.stats.requests == 2


def test_a_timeout_once_then_success(fake_github):
    client = client_for(fake_github, timeout=0.3)
    fake_github.add_fault("timeout", path="/releases", count=1, delay=0.8)
    assert len(list(client.items("/repos/{repo}/releases"))) == 20


def test_truncated_page_is_retried(fake_github, github_client):
    fake_github.add_fault("truncated", path="/labels", count=1)
    assert len(list(github_client.items("/repos/{repo}/labels"))) == len(fake_github.dataset.labels)
    assert github_client.stats.retries == 1


def test_primary_rate_limit_waits_until_reset_when_it_is_near(fake_github, github_client):
    fake_github.add_fault("rate_limit", path="/labels", count=1, reset_in=2)
    assert len(list(github_client.items("/repos/{repo}/labels"))) == len(fake_github.dataset.labels)
    assert github_client.stats.rate_limit_waits == 1
    assert 1 <= github_client.slept[0] <= 4


def test_primary_rate_limit_far_away_raises_with_reset_time(fake_github, github_client):
    fake_github.add_fault("rate_limit", path="/labels", count=1, reset_in=3600)
    with pytest.raises(RateLimited, match="resets at") as info:
        list(github_client.labels())
    assert info.value.reset_at > datetime.now(UTC) + timedelta(minutes=50)
    assert github_client.slept == []  # it never sleeps an hour


def test_429_with_retry_after_is_honoured(fake_github, github_client):
    fake_github.add_fault("rate_limit", path="/labels", count=1, status=429, retry_after=3)
    assert len(list(github_client.items("/repos/{repo}/labels"))) == len(fake_github.dataset.labels)
    assert github_client.slept == [3]


def test_secondary_rate_limit_honours_retry_after(fake_github, github_client):
    fake_github.add_fault("secondary", path="/labels", count=1, retry_after=7)
    assert len(list(github_client.items("/repos/{repo}/labels"))) == len(fake_github.dataset.labels)
    assert github_client.slept == [7]


def test_secondary_rate_limit_longer_than_max_wait_raises(fake_github):
    client = client_for(fake_github, max_wait=5)
    fake_github.add_fault("secondary", path="/labels", count=1, retry_after=120)
    with pytest.raises(RateLimited):
        list(client.labels())


def test_a_spent_limit_is_not_hammered(fake_github, github_client):
    fake_github.add_fault("rate_limit", path="/labels", count=1, reset_in=3600)
    with pytest.raises(RateLimited):
        list(github_client.labels())
    before = fake_github.counters["requests"]
    with pytest.raises(RateLimited):
        list(github_client.releases())
    assert fake_github.counters["requests"] == before  # refused locally, no request sent


def test_malformed_body_is_a_bad_response(fake_github, github_client):
    fake_github.add_fault("malformed", path="/labels", count=1)
    with pytest.raises(BadResponse, match="not JSON"):
        list(github_client.labels())


def test_link_loop_is_detected():
    with FakeGitHub(small_dataset(250)) as server:
        server.add_fault("link_loop", path="page=2", count=-1)
        client = client_for(server)
        with pytest.raises(BadResponse, match="loops"):
            list(client.issues())
        assert client.stats.requests == 3


def test_missing_repository_is_not_found(fake_github):
    client = GitHubClient("tensorflow/nope", base_url=fake_github.url, token="")
    with pytest.raises(NotFound, match="404"):
        list(client.issues())


def test_expired_token_says_so():
    with FakeGitHub(small_dataset(1), token="good") as server:
        client = client_for(server, token="expired")
        with pytest.raises(AuthenticationFailed, match="GITHUB_TOKEN"):
            list(client.issues())


def test_403_without_rate_limit_is_forbidden(fake_github, github_client):
    fake_github.add_fault(
        "status", path="/labels", count=1, status=403, message="Resource not accessible"
    )
    with pytest.raises(Forbidden, match="not accessible"):
        list(github_client.labels())


def test_faults_can_be_set_over_the_control_endpoint(fake_github, github_client):
    response = requests.post(
        fake_github.url + "/_control/faults",
        data=json.dumps({"kind": "5xx", "path": "/releases", "count": 1}),
        timeout=5,
    )
    assert response.status_code == 201
    assert len(list(github_client.items("/repos/{repo}/releases"))) == 20
    assert github_client.stats.retries == 1
    assert requests.get(fake_github.url + "/_control", timeout=5).json()["faults"][0]["count"] == 0


def test_compare_lists_commits_and_their_merged_prs(fake_github, github_client):
    commits = fake_github.dataset.commits
    comparison = github_client.compare(commits[100].sha, commits[230].sha)
    assert [c["sha"] for c in comparison.commits] == [c.sha for c in commits[101:231]]
    assert comparison.total_commits == 130
    assert comparison.status == "ahead"
    merged = comparison.merged_pull_requests
    assert len(merged) == 65
    assert all(pr["merged_at"] for pr in merged)
    assert merged[0]["number"] == commits[102].pr_number


def test_artifacts_and_their_zip(fake_github, github_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("results.json", '{"top1": 0.76}')
    run = fake_github.dataset.add_workflow_run(
        "convergence",
        created_at=datetime.now(UTC),
        artifacts={"convergence-results": buffer.getvalue()},
    )
    artifacts = github_client.run_artifacts(run.id)
    assert [a["name"] for a in artifacts] == ["convergence-results"]
    data = github_client.download_artifact(artifacts[0]["id"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("results.json") == b'{"top1": 0.76}'


def test_collaborator_permission(github_client):
    assert github_client.collaborator_permission("alice") == "admin"
    assert github_client.collaborator_permission("bob") == "triage"
    assert github_client.collaborator_permission("frank") == "read"
    assert github_client.collaborator_permission("stranger") is None
    with pytest.raises(ValueError):
        github_client.collaborator_permission("../etc")


def test_file_contents_decodes_base64(github_client):
    text = github_client.file_contents(".github/labeler.yml")
    assert "technique:pruning:" in text
    assert github_client.file_contents(".github/labeler.yml", ref="master") == text
    assert github_client.file_contents("no/such/file") is None
    assert github_client.file_contents(".github/CODEOWNERS") is None  # as the real repository


def test_parse_link_header():
    header = '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"'
    assert parse_link_header(header) == {"next": "https://a/x?page=2", "last": "https://a/x?page=9"}


def test_demo_dataset_is_deterministic():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    a, b = demo_dataset(now), demo_dataset(now)
    assert [(i.number, i.title, i.updated_at) for i in a.issues] == [
        (i.number, i.title, i.updated_at) for i in b.issues
    ]
    assert [c.sha for c in a.commits] == [c.sha for c in b.commits]

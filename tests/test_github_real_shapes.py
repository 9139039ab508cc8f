"""The sync against the GitHub-shaped server answering as api.github.com does where it
is least kind: 64-bit ids, GraphQL partial errors, rate limits per resource, bot and
deleted-user logins, and the repository as tensorflow/model-optimization really is."""

import pytest
import requests

from ci_status import services
from ci_status.models import CIRun, Comment, Issue, SyncRun

pytestmark = pytest.mark.django_db

INT_MAX = 2**31 - 1


@pytest.fixture
def repository(settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    return services.repository_get_or_create()


def sync(repository, client, **options):
    options.setdefault("evaluate", False)
    return services.repository_sync(repository, client=client, **options)


def graphql(server, query):
    body = {"query": query, "variables": {"owner": "tensorflow", "name": "model-optimization"}}
    return requests.post(server.url + "/graphql", json=body, timeout=5).json()


# --- 1. ids past 2**31 -----------------------------------------------------------------
def test_the_server_answers_databaseid_past_32_bits_as_null_with_a_field_error(fake_github):
    number, reviews = next((n, r) for n, r in fake_github.dataset.reviews.items() if r)
    query = (
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { "
        f"p: pullRequest(number: {number}) {{ reviews(first: 100) {{ nodes {{ databaseId "
        "fullDatabaseId } } } } }"
    )
    answer = graphql(fake_github, query)
    nodes = answer["data"]["repository"]["p"]["reviews"]["nodes"]
    assert [node["databaseId"] for node in nodes] == [None] * len(reviews)
    assert [node["fullDatabaseId"] for node in nodes] == [str(r.id) for r in reviews]
    paths = [error["path"] for error in answer["errors"]]
    assert ["repository", "p", "reviews", "nodes", 0, "databaseId"] in paths
    assert all("Integer out of bounds" in error["message"] for error in answer["errors"])


def test_the_sync_completes_and_every_64_bit_id_round_trips(fake_github, github_client, repository):
    ds = fake_github.dataset
    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.OK, run.error

    reviews = {v.id for found in ds.reviews.values() for v in found}
    assert reviews and min(reviews) > INT_MAX
    stored = set(Comment.objects.filter(kind="review").values_list("github_id", flat=True))
    assert stored == reviews
    comments = {c.id for c in ds.comments}
    assert min(comments) > INT_MAX
    assert set(Comment.objects.filter(kind="comment").values_list("github_id", flat=True)) == (
        comments
    )
    assert set(CIRun.objects.values_list("run_id", flat=True)) == {r.id for r in ds.runs}
    assert min(Issue.objects.values_list("github_id", flat=True)) > INT_MAX
    # The releases, runs and community figures after the PR step synced too.
    assert set(run.progress["done"]) == set(services.RESOURCES)

    # And the next sync is not stuck on the same PRs.
    resync = sync(repository, github_client)
    assert resync.status == SyncRun.Status.OK
    assert resync.per_resource["pulls"]["requests"] == 0


# --- 2. GraphQL errors that are not NOT_FOUND ------------------------------------------
def _open_pr(ds):
    return next(i for i in reversed(ds.issues) if i.kind == "pr" and ds.reviews.get(i.number))


def test_a_pr_nulled_by_a_graphql_error_is_not_synced_and_is_asked_for_next_time(
    fake_github, github_client, repository
):
    ds = fake_github.dataset
    pr = _open_pr(ds)
    fake_github.add_fault(
        "graphql_error",
        path="/graphql",
        numbers=[pr.number],
        type="FORBIDDEN",
        message="Resource not accessible by integration",
    )
    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.PARTIAL
    assert f"#{pr.number}" in run.error and "FORBIDDEN" in run.error
    assert run.per_resource["pulls"]["not_synced"] == 1
    stored = Issue.objects.get(number=pr.number)
    assert stored.details_synced_for is None  # not "synced with no reviews"
    assert not Comment.objects.filter(kind="review", issue_number=pr.number).exists()
    # The other PRs and the resources after the PR step are synced.
    assert Comment.objects.filter(kind="review").exclude(issue_number=pr.number).exists()
    assert set(run.progress["done"]) == set(services.RESOURCES)

    fake_github.reset_counters()
    again = sync(repository, github_client)
    assert again.status == SyncRun.Status.OK, again.error
    assert Comment.objects.filter(kind="review", issue_number=pr.number).count() == len(
        ds.reviews[pr.number]
    )
    stored.refresh_from_db()
    assert stored.details_synced_for == stored.updated_at
    graphql_bodies = [p for p in fake_github.paths if p.endswith("/graphql")]
    assert len(graphql_bodies) == 1  # only that PR was asked for again


def test_sync_page_counts_the_prs_not_synced(carol_client, fake_github, github_client, repository):
    pr = _open_pr(fake_github.dataset)
    fake_github.add_fault("graphql_error", path="/graphql", numbers=[pr.number])
    sync(repository, github_client)
    page = carol_client.get("/sync/").content.decode()
    assert "Partly synced" in page
    assert "1 PR not synced" in page


# --- 3. RATE_LIMITED in a 200 GraphQL body ---------------------------------------------
def test_rate_limited_in_a_200_body_is_a_rate_limit_waited_for(
    fake_github, github_client, repository
):
    fake_github.add_fault("graphql_rate_limited", path="/graphql", reset_in=20)
    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.OK, run.error
    assert github_client.stats.rate_limit_waits >= 1
    assert 15 <= github_client.slept[0] <= 22  # until the reset, not a backoff


def test_rate_limited_past_the_wait_ends_the_resource_for_a_celery_retry(
    fake_github, github_client, repository
):
    from github import RateLimited

    fake_github.add_fault("graphql_rate_limited", path="/graphql")  # resets in an hour
    with pytest.raises(RateLimited) as info:  # the task retries after the reset
        sync(repository, github_client)
    assert "rate limit" in str(info.value).lower()
    assert info.value.reset_at is not None
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.PARTIAL
    assert run.error.startswith("pulls: GitHub") and "rate limit" in run.error
    assert {"releases", "runs"} <= set(run.progress["done"])  # REST went on


# --- 4. one budget per x-ratelimit-resource --------------------------------------------
def test_a_spent_search_budget_does_not_hold_back_rest_calls(fake_github, github_client):
    from datetime import UTC, datetime, timedelta

    from github import RateLimited

    fake_github.budgets["search"] = 1
    github_client.search_issues("pruning")  # spends the last search request
    assert github_client.stats.rate_limits["search"].remaining == 0
    list(github_client.labels())
    assert github_client.slept == []  # core has its own budget
    assert github_client.stats.rate_limits["core"].remaining == 4999
    with pytest.raises(RateLimited) as info:  # search waits for its own reset, a minute
        github_client.search_issues("pruning")
    assert info.value.reset_at < datetime.now(UTC) + timedelta(seconds=65)
    assert fake_github.paths[-1].startswith("/repos/")  # the refused search was never sent


def test_each_budget_is_kept_on_the_run_and_shown(
    carol_client, settings, fake_github, github_client, repository
):
    run = sync(repository, github_client)
    assert set(run.rate_limits) == {"core", "graphql"}
    assert run.rate_limits["core"]["limit"] == 5000
    assert run.rate_limits["graphql"]["remaining"] == 5000 - run.per_resource["pulls"]["requests"]
    assert run.rate_limit_remaining == run.rate_limits["core"]["remaining"]
    page = carol_client.get("/sync/").content.decode()
    assert "core" in page and "graphql" in page
    settings.METRICS_TOKEN = "scrape"
    metrics = carol_client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape").content.decode()
    assert 'resource="graphql"' in metrics and 'resource="core"' in metrics


# --- 5. one identity per person --------------------------------------------------------
def test_bot_and_deleted_authors_have_the_rest_login_whatever_the_source(
    fake_github, github_client, repository
):
    from datetime import timedelta

    ds = fake_github.dataset
    pr = _open_pr(ds)
    at = pr.created_at + timedelta(hours=1)
    ds.add_review(pr.number, "dependabot[bot]", "COMMENTED", at)
    ds.add_review(pr.number, "ghost", "COMMENTED", at + timedelta(minutes=1))
    ds.add_comment(pr.number, "dependabot[bot]", at + timedelta(minutes=2), "Bump")
    ds.add_comment(pr.number, "ghost", at + timedelta(minutes=3), "Gone")

    query = (
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { "
        f"p: pullRequest(number: {pr.number}) {{ reviews(first: 100) {{ nodes {{ "
        "author { login __typename } } } } } }"
    )
    authors = [
        n["author"]
        for n in graphql(fake_github, query)["data"]["repository"]["p"]["reviews"]["nodes"]
    ]
    assert {"login": "dependabot", "__typename": "Bot"} in authors and None in authors

    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.OK, run.error
    rows = set(
        Comment.objects.filter(
            issue_number=pr.number, author__in=["dependabot[bot]", "ghost"]
        ).values_list("kind", "author", "author_is_bot")
    )
    assert rows == {
        ("review", "dependabot[bot]", True),
        ("comment", "dependabot[bot]", True),
        ("review", "ghost", False),
        ("comment", "ghost", False),
    }
    assert not Comment.objects.filter(author__in=["", "dependabot"]).exists()


# --- issue 27: one resource failing does not fail the sync -----------------------------
def test_a_github_without_graphql_ends_partial_with_everything_else_synced(
    fake_github, github_client, repository
):
    from ci_status.models import Release, SyncCursor

    fake_github.add_fault("status", path="/graphql", count=-1, status=404, message="Not Found")
    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.PARTIAL
    assert run.error.startswith("pulls: Not found on GitHub (404)")
    assert Issue.objects.count() == len(fake_github.dataset.issues)
    assert Release.objects.exists() and CIRun.objects.exists()
    assert set(run.progress["done"]) == set(services.RESOURCES) - {"pulls"}
    assert SyncCursor.objects.get(resource="pulls").last_status == "failed"
    repository.refresh_from_db()
    assert repository.last_synced_at == run.finished_at


def test_a_sync_where_nothing_answers_fails(fake_github, github_client, repository):
    fake_github.add_fault("status", count=-1, status=403, message="Forbidden")
    run = sync(repository, github_client)
    assert run.status == SyncRun.Status.FAILED
    # One line per resource GitHub refused (pulls had no PR to ask for).
    assert run.error.splitlines() == [
        f"{r}: GitHub refused access (403: Forbidden)" for r in services.RESOURCES if r != "pulls"
    ]


# --- issue 28: /sync/ never shows a past reset as to come, nor rows queued for ever ---
def test_a_reset_in_the_past_reads_as_a_full_budget(carol_client, repository):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import SyncRunFactory

    past = timezone.now() - timedelta(hours=3)
    SyncRunFactory(
        repository=repository,
        status=SyncRun.Status.OK,
        rate_limit_remaining=120,
        rate_limit_reset=past,
        rate_limits={"core": {"limit": 5000, "remaining": 120, "reset": past.isoformat()}},
    )
    page = carol_client.get("/sync/").content.decode()
    assert "full again (5000)" in page
    assert f"resets at {past:%H:%M}" not in page and "resets in" not in page
    # Said relative to now, the moment itself on hover.
    assert f'title="{past:%Y-%m-%d %H:%M} UTC">3\xa0hours ago</time>' in page
    assert "its window reset <time" in page


def test_a_reset_to_come_reads_as_a_wait(carol_client, repository):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import SyncRunFactory

    soon = timezone.now() + timedelta(minutes=12, seconds=30)
    SyncRunFactory(
        repository=repository,
        status=SyncRun.Status.OK,
        rate_limit_remaining=120,
        rate_limit_reset=soon,
        rate_limits={"core": {"limit": 5000, "remaining": 120, "reset": soon.isoformat()}},
    )
    page = carol_client.get("/sync/").content.decode()
    assert "120 of 5000 left, resets <time" in page
    assert f'title="{soon:%Y-%m-%d %H:%M} UTC">in 12\xa0minutes</time>' in page
    assert "full again" not in page


def test_syncs_left_queued_say_so_and_a_later_sync_closes_them(
    carol_client, fake_github, github_client, repository
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import SyncRunFactory

    lost = SyncRunFactory(
        repository=repository,
        status=SyncRun.Status.QUEUED,
        queued_at=timezone.now() - timedelta(hours=2),
        started_at=None,
        finished_at=None,
    )
    page = carol_client.get("/sync/").content.decode()
    assert "Lost: queued 2\xa0hours ago, no worker took it" in page
    assert "Queued</span>" not in page
    # A retry beside it: the sync-now form for its repository.
    row = page.split('class="sync-runs"')[1].split("Lost: queued")[1].split("</tr>")[0]
    assert 'action="/sync/now/"' in row and f'name="repository" value="{repository.pk}"' in row
    assert ">Retry</button>" in row
    progress = carol_client.get(f"/sync/runs/{lost.pk}.json").json()
    assert progress["status_display"].startswith("Lost: queued 2")

    sync(repository, github_client)
    lost.refresh_from_db()
    assert lost.status == SyncRun.Status.SKIPPED
    assert lost.finished_at is not None
    page = carol_client.get("/sync/").content.decode()
    assert "no worker took it" not in page
    assert "Not run" in page


# --- 6. bootstrap reads .github/labeler.yml --------------------------------------------
LABELER_V5 = """\
technique:pruning:
- changed-files:
  - any-glob-to-any-file:
    - tensorflow_model_optimization/python/core/sparsity/**
    - '!tensorflow_model_optimization/python/core/sparsity/**/*_test.py'
technique:qat:
- any:
  - changed-files:
    - any-glob-to-any-file: tensorflow_model_optimization/python/core/quantization/**/*
    - all-globs-to-all-files: ['tensorflow_model_optimization/g3doc/guide/quantization/*.md']
  - base-branch: 'master'
release:
- head-branch: ['^release', 'release']
"""


def test_labeler_v4_and_v5_give_the_same_paths():
    from fake_github.demo import LABELER
    from github_integration.bootstrap import parse_labeler

    v4 = parse_labeler(LABELER)
    assert v4["technique:pruning"] == [
        "/tensorflow_model_optimization/python/core/sparsity/",
        "/tensorflow_model_optimization/python/core/api/sparsity/",
        "/tensorflow_model_optimization/python/examples/sparsity/",
        "/tensorflow_model_optimization/g3doc/guide/pruning/",
    ]
    v5 = parse_labeler(LABELER_V5)
    assert v5["technique:pruning"] == ["/tensorflow_model_optimization/python/core/sparsity/"]
    assert v5["technique:qat"] == [
        "/tensorflow_model_optimization/python/core/quantization/",
        "/tensorflow_model_optimization/g3doc/guide/quantization/*.md",
    ]
    assert v5["release"] == []  # branch conditions name no path


@pytest.mark.parametrize(
    "text", ["technique:pruning\n- a/**\n", "!!python/object/apply:os.system ['true']", "- a\n"]
)
def test_a_labeler_file_that_is_not_one_is_refused_safely(text):
    from github_integration.bootstrap import parse_labeler

    with pytest.raises(ValueError):
        parse_labeler(text)


def test_bootstrap_of_the_repository_as_it_really_is_proposes_paths_from_labeler_yml(db):
    from io import StringIO

    from django.core.management import call_command

    from fake_github import FakeGitHub, demo_dataset
    from github_integration.models import BootstrapProposal

    ds = demo_dataset(with_codeowners=False)  # tensorflow/model-optimization's files
    assert ".github/CODEOWNERS" not in ds.files and ".github/labeler.yml" in ds.files
    with FakeGitHub(ds) as server:
        out = StringIO()
        call_command("bootstrap_repository", ds.full_name, api_url=server.url, stdout=out)
    techniques = {p.key: p.data for p in BootstrapProposal.objects.filter(kind="technique")}
    for label, directory in [
        ("technique:pruning", "sparsity"),
        ("technique:clustering", "clustering"),
        ("technique:qat", "quantization"),
    ]:
        assert (
            f"/tensorflow_model_optimization/python/core/{directory}/"
            in (techniques[label]["path_globs"])
        )
    assert not BootstrapProposal.objects.filter(kind="group").exists()  # no CODEOWNERS
    assert "read: .github/labeler.yml" in out.getvalue()


def test_a_broken_labeler_yml_is_named_and_the_rest_still_proposed(db, fake_github):
    from io import StringIO

    from django.core.management import call_command

    from github_integration.models import BootstrapProposal

    fake_github.dataset.set_file(".github/labeler.yml", "technique:pruning: [a/**\n")
    out, err = StringIO(), StringIO()
    call_command(
        "bootstrap_repository",
        fake_github.dataset.full_name,
        api_url=fake_github.url,
        stdout=out,
        stderr=err,
    )
    assert "not read: .github/labeler.yml: not valid YAML (line " in err.getvalue()
    assert BootstrapProposal.objects.filter(key="technique:pruning").exists()


# --- 7. label webhooks, 422 field errors, large CODEOWNERS, run listings past 1,000 ----
def _label_payload(action, name, old=None):
    payload = {
        "action": action,
        "label": {
            "id": 8_000_000_001,
            "node_id": "LA_kwDOAbc",
            "url": f"https://api.github.com/repos/tensorflow/model-optimization/labels/{name}",
            "name": name,
            "color": "0e8a16",
            "default": False,
            "description": "Weight pruning",
        },
        "repository": {"id": 1, "full_name": "tensorflow/model-optimization"},
        "sender": {"login": "alice", "id": 1, "type": "User"},
    }
    if old:
        payload["changes"] = {"name": {"from": old}}
    return payload


def test_label_webhooks_create_rename_and_delete_labels_and_relabel_issues(
    github_webhook, repository
):
    from ci_status.models import Label
    from tests.factories import IssueFactory

    issue = IssueFactory(repository=repository, labels=["technique:prune", "bug"])
    assert (
        github_webhook("label", _label_payload("created", "technique:prune"), "l-1").json()[
            "outcome"
        ]
        == "applied"
    )
    assert Label.objects.filter(name="technique:prune", description="Weight pruning").exists()

    github_webhook("label", _label_payload("edited", "technique:pruning", "technique:prune"), "l-2")
    assert set(Label.objects.values_list("name", flat=True)) == {"technique:pruning"}
    issue.refresh_from_db()
    assert issue.labels == ["bug", "technique:pruning"]

    github_webhook("label", _label_payload("deleted", "technique:pruning"), "l-3")
    assert not Label.objects.exists()
    issue.refresh_from_db()
    assert issue.labels == ["bug"]


def test_a_422_keeps_githubs_field_errors_in_the_message(fake_github, github_client):
    from github import GitHubError

    with pytest.raises(GitHubError) as info:
        github_client.create_issue("", "no title")
    assert info.value.status == 422
    assert "Validation Failed: Issue.title missing_field" in str(info.value)


def test_a_codeowners_over_1_mb_is_read_through_the_raw_media_type(fake_github, github_client):
    big = "# padding\n" * 120_000 + "/tensorflow_model_optimization/ @alice\n"
    assert len(big.encode()) > 1024 * 1024
    fake_github.dataset.set_file(".github/CODEOWNERS", big)
    assert github_client.file_contents(".github/CODEOWNERS") == big


def test_workflow_runs_past_1000_are_listed_by_date_windows(db, repository):
    from datetime import UTC, datetime, timedelta

    from fake_github import FakeGitHub
    from fake_github.dataset import Dataset
    from github import GitHubClient

    ds = Dataset()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(1500):
        ds.add_workflow_run("CI", created_at=start + timedelta(minutes=10 * n))
    with FakeGitHub(ds) as server:
        client = GitHubClient(ds.full_name, base_url=server.url, token="", backoff=0.01)
        ids = [
            run["id"] for page in client.workflow_runs(created_since=start) for run in page.items
        ]
        assert len(ids) == len(set(ids)) == 1500
        # GitHub's cap is real here: one listing stops at 1,000.
        capped = list(
            client.items(
                "/repos/{repo}/actions/runs", {"created": ">=2026-11-01"}, item_key="workflow_runs"
            )
        )
        assert len(capped) == 1000

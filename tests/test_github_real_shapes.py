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

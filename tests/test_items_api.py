"""The public items API: both first responses per issue or PR, filtered by number,
technique, state and kind."""

from datetime import UTC, datetime, timedelta

import pytest

from ci_status import services
from tests.factories import CommentFactory, IssueFactory, PullRequestFactory, RepositoryFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TEN_DAYS_AGO = NOW - timedelta(days=10)


@pytest.fixture
def repo(settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    return RepositoryFactory(last_synced_at=NOW)


def test_items_api_lists_both_first_responses(client, repo, pruning, clustering):
    asked = IssueFactory(number=8, labels=["technique:pruning"], created_at=TEN_DAYS_AGO)
    CommentFactory(issue=asked, author="outsider", after_hours=1)  # the author: not a response
    CommentFactory(issue=asked, author="google-ml-butler[bot]", after_hours=2, author_is_bot=True)
    CommentFactory(issue=asked, author="priya-ml", after_hours=24)  # the CHAOSS first response
    CommentFactory(issue=asked, author="dave", after_hours=48, member=True)  # a maintainer
    PullRequestFactory(
        number=9, labels=["technique:clustering"], state="closed", created_at=TEN_DAYS_AGO
    )
    services.community_refresh(repo, None, NOW)

    data = client.get("/api/items/", {"number": 8}).json()
    assert len(data["results"]) == 1
    item = data["results"][0]
    assert item["number"] == 8 and item["kind"] == "issue"
    assert item["first_response_by"] == "priya-ml"
    responded_at = datetime.fromisoformat(item["first_response_at"])
    assert responded_at == asked.created_at + timedelta(hours=24)
    assert item["first_maintainer_response_by"] == "dave"
    maintainer_at = datetime.fromisoformat(item["first_maintainer_response_at"])
    assert maintainer_at == asked.created_at + timedelta(hours=48)

    def numbers(**params):
        return [i["number"] for i in client.get("/api/items/", params).json()["results"]]

    assert numbers(technique="pruning") == [8]
    assert numbers(technique="clustering") == [9]
    assert numbers(kind="pr") == [9] and numbers(state="open") == [8]
    assert numbers(technique="nothing") == []


def test_a_maintainer_of_another_group_is_not_the_maintainer_response(repo, pruning, clustering):
    asked = IssueFactory(number=8, labels=["technique:clustering"], created_at=TEN_DAYS_AGO)
    CommentFactory(issue=asked, author="alice", after_hours=5, member=True)  # pruning's
    services.community_refresh(repo, None, NOW)
    asked.refresh_from_db()
    assert asked.first_response_by == "alice"
    assert asked.first_maintainer_response_at is None


def test_a_webhook_comment_updates_the_stored_figures(repo, pruning, github_webhook):
    """Incremental: a comment delivered by webhook moves the item out of "waiting"."""
    from ci_status.selectors import community_figures

    asked = IssueFactory(number=8, labels=["technique:pruning"], created_at=TEN_DAYS_AGO)
    services.community_refresh(repo, None, NOW)
    assert [i.number for i in community_figures([pruning], NOW)[pruning.pk].unanswered] == [8]
    payload = {
        "action": "created",
        "repository": {"full_name": repo.full_name},
        "issue": {
            "number": 8,
            "title": asked.title,
            "state": "open",
            "labels": [{"name": "technique:pruning"}],
            "user": {"login": "outsider"},
            "created_at": asked.created_at.isoformat(),
            "updated_at": NOW.isoformat(),
        },
        "comment": {
            "id": 77,
            "user": {"login": "alice"},
            "author_association": "MEMBER",
            "created_at": NOW.isoformat(),
        },
    }
    assert github_webhook("issue_comment", payload).json()["outcome"] == "applied"
    figures = community_figures([pruning], NOW)[pruning.pk]
    assert figures.unanswered == [] and figures.maintainer_responded == 1

    # A deleted issue leaves the figures of the techniques it belonged to.
    IssueFactory(number=10, labels=["technique:pruning"], created_at=TEN_DAYS_AGO)
    services.community_refresh(repo, {10}, NOW)
    assert [i.number for i in community_figures([pruning], NOW)[pruning.pk].unanswered] == [10]
    deleted = {"action": "deleted", "repository": payload["repository"], "issue": {"number": 10}}
    github_webhook("issues", deleted, delivery="d-2")
    assert community_figures([pruning], NOW)[pruning.pk].unanswered == []


def test_a_technique_reads_the_items_of_its_own_repository(repo, pruning, settings):
    from ci_status.selectors import community_figures

    other = RepositoryFactory(full_name="tensorflow/tensorflow", last_synced_at=NOW)
    pruning.github_repository = "tensorflow/tensorflow"
    pruning.save()
    # the configured repository: not pruning's now
    IssueFactory(repository=repo, number=8, labels=["technique:pruning"], created_at=TEN_DAYS_AGO)
    IssueFactory(repository=other, number=9, labels=["technique:pruning"], created_at=TEN_DAYS_AGO)
    for repository in (repo, other):
        services.community_refresh(repository, None, NOW)
    figures = community_figures([pruning], NOW)[pruning.pk]
    assert figures.synced and [i.number for i in figures.unanswered] == [9]
    assert {r.full_name for r in services.repositories_ensure()} == {
        "tensorflow/model-optimization",
        "tensorflow/tensorflow",
    }

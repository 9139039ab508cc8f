"""Deletions stay deleted: a deleted issue or comment keeps a tombstone, and an event
about it from before the deletion is refused as stale, through the real signed endpoint
(the signature covers the body and not the delivery id, so the same signed body can come
again under another id).

The payloads under tests/fixtures/webhooks/ are GitHub's own examples as octokit/webhooks
records them (payload-examples/api.github.com, MIT licence)."""

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from ci_status.models import Comment, Issue

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"


def example(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def deliver(github_webhook, settings):
    """Deliveries of GitHub's example repository, each under a delivery id of its own."""
    settings.GITHUB_REPOSITORY = "Codertocat/Hello-World"
    ids = iter(range(1, 1000))

    def post(event: str, payload: dict) -> str:
        response = github_webhook(event, payload, delivery=f"delivery-{next(ids)}")
        assert response.status_code == 200, response.content
        return response.json()["outcome"]

    return post


def now_iso(after: timedelta = timedelta(0)) -> str:
    return (timezone.now() + after).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_redelivered_opened_does_not_bring_back_a_deleted_issue(deliver):
    opened = example("issues.opened")
    assert deliver("issues", opened) == "applied"
    assert Issue.objects.filter(number=1).exists()
    assert deliver("issues", example("issues.deleted")) == "applied"
    assert not Issue.objects.filter(number=1).exists()

    assert deliver("issues", copy.deepcopy(opened)) == "stale"  # same body, new delivery id
    assert not Issue.objects.filter(number=1).exists()
    edited = copy.deepcopy(opened)
    edited["action"] = "edited"  # any event dated before the deletion
    assert deliver("issues", edited) == "stale"
    # Nor does a late comment event, which carries the issue with it.
    assert deliver("issue_comment", example("issue_comment.created")) == "stale"
    assert not Issue.objects.filter(number=1).exists() and not Comment.objects.exists()


def test_a_redelivered_created_does_not_bring_back_a_deleted_comment(deliver):
    created = example("issue_comment.created")
    assert deliver("issue_comment", created) == "applied"
    assert Comment.objects.filter(github_id=492700400).exists()
    assert deliver("issue_comment", example("issue_comment.deleted")) == "applied"
    assert not Comment.objects.exists()

    assert deliver("issue_comment", copy.deepcopy(created)) == "stale"
    assert not Comment.objects.exists()
    assert Issue.objects.filter(number=1).exists()  # the issue itself was not deleted


def test_a_new_issue_and_a_new_comment_still_land(deliver):
    deliver("issues", example("issues.opened"))
    deliver("issues", example("issues.deleted"))
    new = copy.deepcopy(example("issues.opened"))
    new["issue"].update(id=444500042, number=2, created_at=now_iso(), updated_at=now_iso())
    assert deliver("issues", new) == "applied"
    assert Issue.objects.filter(number=2).exists()

    deliver("issue_comment", example("issue_comment.deleted"))  # a comment on #1, deleted
    comment = copy.deepcopy(example("issue_comment.created"))
    comment["issue"] = new["issue"]
    comment["comment"].update(
        id=492700401,
        created_at=now_iso(),
        updated_at=now_iso(),
        issue_url=comment["comment"]["issue_url"].replace("/issues/1", "/issues/2"),
    )
    assert deliver("issue_comment", comment) == "applied"
    assert Comment.objects.get().github_id == 492700401

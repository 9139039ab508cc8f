"""GitHub webhooks: HMAC-verified, replay-safe, fed through the sync's upserts."""

from datetime import UTC, datetime

import pytest

from ci_status import services
from ci_status.models import CIRun, Comment, Issue, WebhookDelivery

pytestmark = pytest.mark.django_db
URL = "/webhooks/github/"
REPO = {"full_name": "tensorflow/model-optimization"}
USER = {"login": "kmlee", "type": "User"}


def issue_payload(number=7, **extra):
    issue = {
        "id": 1007,
        "number": number,
        "title": "prune_low_magnitude fails",
        "user": USER,
        "labels": [{"name": "technique:pruning"}],
        "state": "open",
        "author_association": "NONE",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "closed_at": None,
        "body": "Traceback",
        "html_url": "https://github.com/tensorflow/model-optimization/issues/7",
        **extra,
    }
    return {"action": "opened", "issue": issue, "repository": REPO, "sender": USER}


def test_signed_issue_event_is_written(github_webhook):
    response = github_webhook("issues", issue_payload())
    assert response.status_code == 200
    assert response.json() == {"outcome": "applied", "rows": 1}
    issue = Issue.objects.get(number=7)
    assert issue.labels == ["technique:pruning"] and issue.kind == "issue"


def test_bad_signature_is_refused_and_writes_nothing(github_webhook):
    response = github_webhook("issues", issue_payload(), signature="sha256=" + "0" * 64)
    assert response.status_code == 403
    response = github_webhook("issues", issue_payload(), secret="another-secret")
    assert response.status_code == 403
    assert not Issue.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_missing_signature_is_refused(github_webhook):
    response = github_webhook("issues", issue_payload(), secret=None)
    assert response.status_code == 401
    assert not Issue.objects.exists()


def test_webhooks_are_refused_without_a_configured_secret(settings, github_webhook):
    settings.GITHUB_WEBHOOK_SECRET = ""
    assert github_webhook("issues", issue_payload(), secret="x").status_code == 403
    assert not Issue.objects.exists()


def test_replayed_delivery_is_ignored(github_webhook):
    assert github_webhook("issues", issue_payload(), delivery="same").json()["outcome"] == "applied"
    changed = issue_payload(title="Changed by a replay")
    response = github_webhook("issues", changed, delivery="same")
    assert response.status_code == 200
    assert response.json()["outcome"] == "replayed"
    assert Issue.objects.get(number=7).title == "prune_low_magnitude fails"


def test_only_post_and_no_csrf_needed(client, github_webhook):
    client.handler.enforce_csrf_checks = True
    assert client.get(URL).status_code == 405
    assert github_webhook("issues", issue_payload()).status_code == 200


def test_garbage_body_with_a_valid_signature_is_a_400(github_webhook):
    assert github_webhook("issues", b"not json", delivery="g").status_code == 400


def test_other_repositories_are_ignored(github_webhook):
    payload = issue_payload()
    payload["repository"] = {"full_name": "someone/else"}
    assert github_webhook("issues", payload).json()["outcome"] == "ignored"
    assert not Issue.objects.exists()


def test_issue_comment_sets_the_first_response(pruning, github_webhook):
    payload = issue_payload()
    payload["comment"] = {
        "id": 555,
        "user": {"login": "alice", "type": "User"},
        "author_association": "MEMBER",
        "created_at": "2026-11-02T09:00:00Z",
        "updated_at": "2026-11-02T09:00:00Z",
        "html_url": "https://github.com/x",
        "issue_url": "https://api.github.com/repos/tensorflow/model-optimization/issues/7",
    }
    payload["action"] = "created"
    assert github_webhook("issue_comment", payload).status_code == 200
    issue = Issue.objects.get(number=7)
    assert issue.first_response_by == "alice"
    assert Comment.objects.get().github_id == 555
    alice = pruning.owner_group.maintainers.get(github_login="alice")
    assert alice.last_activity_at.isoformat() == "2026-11-02T09:00:00+00:00"
    # Deleted: the comment goes, and with it the response.
    payload["action"] = "deleted"
    github_webhook("issue_comment", payload, delivery="d-2")
    issue.refresh_from_db()
    assert not Comment.objects.exists() and issue.first_response_at is None


def pull_payload(**extra):
    return {
        "id": 2008,
        "number": 8,
        "title": "Add API",
        "user": USER,
        "labels": [],
        "state": "closed",
        "draft": False,
        "author_association": "CONTRIBUTOR",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-03T10:00:00Z",
        "closed_at": "2026-11-03T10:00:00Z",
        "merged_at": "2026-11-03T10:00:00Z",
        "html_url": "https://github.com/tensorflow/model-optimization/pull/8",
        **extra,
    }


def test_pull_request_and_review_events(github_webhook):
    github_webhook(
        "pull_request", {"action": "closed", "pull_request": pull_payload(), "repository": REPO}
    )
    pr = Issue.objects.get(number=8)
    assert pr.kind == "pr" and pr.merged_at is not None
    review = {
        "id": 99,
        "user": {"login": "alice", "type": "User"},
        "state": "APPROVED",
        "author_association": "MEMBER",
        "submitted_at": "2026-11-02T10:00:00Z",
        "html_url": "https://github.com/x",
    }
    payload = {
        "action": "submitted",
        "review": review,
        "pull_request": pull_payload(),
        "repository": REPO,
    }
    assert github_webhook("pull_request_review", payload, delivery="d-3").status_code == 200
    pr.refresh_from_db()
    assert pr.review_given and pr.approved_by == ["alice"]


def test_workflow_run_event_then_the_sync_write_one_row(github_webhook):
    run = {
        "id": 4242,
        "name": "CI",
        "head_branch": "master",
        "head_sha": "a" * 40,
        "path": ".github/workflows/ci.yml",
        "event": "push",
        "status": "in_progress",
        "conclusion": None,
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:01:00Z",
        "run_attempt": 1,
        "html_url": "https://github.com/x/actions/runs/4242",
    }
    github_webhook("workflow_run", {"action": "requested", "workflow_run": run, "repository": REPO})
    run.update(status="completed", conclusion="failure", updated_at="2026-11-01T10:30:00Z")
    github_webhook(
        "workflow_run",
        {"action": "completed", "workflow_run": run, "repository": REPO},
        delivery="d-9",
    )
    from ci_status import upserts

    upserts.upsert_runs(services.repository_get_or_create(), [run])  # as the sync would
    row = CIRun.objects.get()
    assert (row.run_id, row.attempt, row.conclusion) == (4242, 1, "failure")
    assert row.finished_at == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)  # when it completed


def test_deleted_issue_goes(github_webhook):
    github_webhook("issues", issue_payload(), delivery="a")
    payload = issue_payload()
    payload["action"] = "deleted"
    assert github_webhook("issues", payload, delivery="b").status_code == 200
    assert not Issue.objects.exists()

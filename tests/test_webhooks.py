"""GitHub webhooks: HMAC-verified, replay-safe, fed through the sync's upserts."""

import json
from datetime import UTC, datetime

import pytest

from ci_status import services
from ci_status.models import CIRun, Comment, Issue, WebhookDelivery
from ci_status.webhooks import sign

pytestmark = pytest.mark.django_db
SECRET = "webhook-test-secret"
URL = "/webhooks/github/"
REPO = {"full_name": "tensorflow/model-optimization"}
USER = {"login": "kmlee", "type": "User"}


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"


def post(client, event, payload, delivery="d-1", secret=SECRET, signature=None):
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
    if signature is None and secret:
        signature = sign(secret, body)
    if signature:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(URL, data=body, content_type="application/json", **headers)


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


def test_signed_issue_event_is_written(client):
    response = post(client, "issues", issue_payload())
    assert response.status_code == 200
    assert response.json() == {"outcome": "applied", "rows": 1}
    issue = Issue.objects.get(number=7)
    assert issue.labels == ["technique:pruning"] and issue.kind == "issue"


def test_bad_signature_is_refused_and_writes_nothing(client):
    response = post(client, "issues", issue_payload(), signature="sha256=" + "0" * 64)
    assert response.status_code == 403
    response = post(client, "issues", issue_payload(), secret="another-secret")
    assert response.status_code == 403
    assert not Issue.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_missing_signature_is_refused(client):
    response = post(client, "issues", issue_payload(), secret=None)
    assert response.status_code == 401
    assert not Issue.objects.exists()


def test_webhooks_are_refused_without_a_configured_secret(client, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    assert post(client, "issues", issue_payload(), secret="x").status_code == 403
    assert not Issue.objects.exists()


def test_replayed_delivery_is_ignored(client):
    assert post(client, "issues", issue_payload(), delivery="same").json()["outcome"] == "applied"
    changed = issue_payload(title="Changed by a replay")
    response = post(client, "issues", changed, delivery="same")
    assert response.status_code == 200
    assert response.json()["outcome"] == "replayed"
    assert Issue.objects.get(number=7).title == "prune_low_magnitude fails"


def test_only_post_and_no_csrf_needed(client):
    client.handler.enforce_csrf_checks = True
    assert client.get(URL).status_code == 405
    assert post(client, "issues", issue_payload()).status_code == 200


def test_garbage_body_with_a_valid_signature_is_a_400(client):
    body = b"not json"
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="issues",
        HTTP_X_GITHUB_DELIVERY="g",
        HTTP_X_HUB_SIGNATURE_256=sign(SECRET, body),
    )
    assert response.status_code == 400


def test_other_repositories_are_ignored(client):
    payload = issue_payload()
    payload["repository"] = {"full_name": "someone/else"}
    assert post(client, "issues", payload).json()["outcome"] == "ignored"
    assert not Issue.objects.exists()


def test_issue_comment_sets_the_first_response(client, pruning):
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
    assert post(client, "issue_comment", payload).status_code == 200
    issue = Issue.objects.get(number=7)
    assert issue.first_response_by == "alice"
    assert Comment.objects.get().github_id == 555
    alice = pruning.owner_group.maintainers.get(github_login="alice")
    assert alice.last_activity_at.isoformat() == "2026-11-02T09:00:00+00:00"
    # Deleted: the comment goes, and with it the response.
    payload["action"] = "deleted"
    post(client, "issue_comment", payload, delivery="d-2")
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


def test_pull_request_and_review_events(client):
    post(
        client,
        "pull_request",
        {"action": "closed", "pull_request": pull_payload(), "repository": REPO},
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
    assert post(client, "pull_request_review", payload, delivery="d-3").status_code == 200
    pr.refresh_from_db()
    assert pr.review_given and pr.approved_by == ["alice"]


def test_workflow_run_event_then_the_sync_write_one_row(client):
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
    post(client, "workflow_run", {"action": "requested", "workflow_run": run, "repository": REPO})
    run.update(status="completed", conclusion="failure", updated_at="2026-11-01T10:30:00Z")
    post(
        client,
        "workflow_run",
        {"action": "completed", "workflow_run": run, "repository": REPO},
        delivery="d-9",
    )
    from ci_status import upserts

    upserts.upsert_runs(services.repository_get_or_create(), [run])  # as the sync would
    row = CIRun.objects.get()
    assert (row.run_id, row.attempt, row.conclusion) == (4242, 1, "failure")
    assert row.finished_at == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)  # when it completed


def test_deleted_issue_goes(client):
    post(client, "issues", issue_payload(), delivery="a")
    payload = issue_payload()
    payload["action"] = "deleted"
    assert post(client, "issues", payload, delivery="b").status_code == 200
    assert not Issue.objects.exists()

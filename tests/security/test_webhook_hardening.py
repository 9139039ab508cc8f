"""Signed webhooks with hostile or late payloads: wrong types and huge numbers are a 400
naming the field, and an older event never overwrites newer data."""

import copy
import json

import pytest

from ci_status.models import CIRun, Comment, Issue, WebhookDelivery
from tests.test_webhooks import REPO, USER, issue_payload

pytestmark = pytest.mark.django_db


def with_issue(**changes):
    payload = issue_payload()
    payload["issue"].update(changes)
    return payload


BAD = [
    ("issues", with_issue(number=10**30), "issue.number"),
    ("issues", with_issue(number="7"), "issue.number"),
    ("issues", with_issue(id=-1), "issue.id"),
    ("issues", with_issue(number=True), "issue.number"),
    ("issues", with_issue(created_at=12), "issue.created_at"),
    ("issues", with_issue(updated_at="9999-12-31T23:59:59-23:59"), "issue.updated_at"),
    ("issues", with_issue(created_at="2026-02-30T00:00:00Z"), "issue.created_at"),
    ("issues", with_issue(labels="bug"), "issue.labels"),
    ("issues", with_issue(labels=["bug"]), "issue.labels"),
    ("issues", with_issue(user="kmlee"), "issue.user"),
    ("issues", with_issue(pull_request={"merged_at": 5}), "issue.pull_request.merged_at"),
    ("issues", {**issue_payload(), "issue": [1]}, "issue"),
    ("issues", {**issue_payload(), "repository": "x"}, "repository"),
    ("issues", {**issue_payload(), "repository": {"full_name": 5}}, "repository.full_name"),
    ("issue_comment", {**issue_payload(), "comment": {"id": 2**70}}, "comment.id"),
    (
        "workflow_run",
        {"workflow_run": {"id": 1, "run_attempt": 10**40}, "repository": REPO},
        "workflow_run.run_attempt",
    ),
]


@pytest.mark.parametrize(("event", "payload", "field"), BAD)
def test_signed_payloads_with_wrong_types_are_a_400_naming_the_field(
    event, payload, field, github_webhook
):
    response = github_webhook(event, payload)
    assert response.status_code == 400
    assert field in response.content.decode()
    assert not Issue.objects.exists() and not WebhookDelivery.objects.exists()


def test_deeply_nested_or_huge_json_is_a_400(github_webhook):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a": ' + b"1" * 5000 + b"}"):
        assert github_webhook("issues", body, delivery="d-deep").status_code == 400


def test_an_older_issue_event_never_overwrites_newer_data(github_webhook):
    newer = with_issue(title="Renamed", state="closed", updated_at="2026-11-05T10:00:00Z")
    assert github_webhook("issues", newer, delivery="d-new").json()["outcome"] == "applied"
    older = with_issue(title="Old title", state="open", updated_at="2026-11-01T10:00:00Z")
    response = github_webhook("issues", older, delivery="d-old")
    assert response.status_code == 200 and response.json()["outcome"] == "stale"
    issue = Issue.objects.get(number=7)
    assert (issue.title, issue.state) == ("Renamed", "closed")


def test_an_older_comment_or_issue_copy_in_a_comment_event_is_not_applied(github_webhook):
    github_webhook("issues", with_issue(title="New", updated_at="2026-11-05T10:00:00Z"), "d-1")
    comment = {
        "id": 555,
        "user": USER,
        "body": "edited",
        "created_at": "2026-11-02T10:00:00Z",
        "updated_at": "2026-11-04T10:00:00Z",
        "author_association": "MEMBER",
        "html_url": "https://github.com/x",
    }
    late = copy.deepcopy(issue_payload())
    late["action"] = "created"
    late["comment"] = comment
    assert github_webhook("issue_comment", late, "d-2").status_code == 200
    assert Issue.objects.get(number=7).title == "New"  # the issue copy was older
    assert Comment.objects.filter(github_id=555).exists()
    older_edit = copy.deepcopy(late)
    older_edit["comment"]["updated_at"] = "2026-11-03T10:00:00Z"
    assert github_webhook("issue_comment", older_edit, "d-3").json()["outcome"] == "stale"


def test_an_in_progress_run_event_after_completion_is_stale(github_webhook):
    run = {
        "id": 99,
        "run_attempt": 1,
        "name": "ci",
        "head_branch": "master",
        "head_sha": "a" * 40,
        "status": "completed",
        "conclusion": "success",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T11:00:00Z",
    }
    assert (
        github_webhook("workflow_run", {"workflow_run": run, "repository": REPO}, "r1").status_code
        == 200
    )
    late = {**run, "status": "in_progress", "conclusion": None}
    assert (
        github_webhook("workflow_run", {"workflow_run": late, "repository": REPO}, "r2").json()[
            "outcome"
        ]
        == "stale"
    )
    assert CIRun.objects.get(run_id=99).status == "completed"


def test_nul_characters_and_lone_surrogates_are_dropped_not_a_500(github_webhook):
    payload = issue_payload(title="a\x00b\ud800c", labels=[{"name": "x\x00y"}])
    body = json.dumps(payload).encode()  # escapes: \u0000 and \ud800
    response = github_webhook("issues", body, delivery="d-nul")
    assert response.status_code == 200
    issue = Issue.objects.get(number=7)
    assert (issue.title, issue.labels) == ("abc", ["xy"])

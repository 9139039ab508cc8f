"""Gaps as GitHub issues (the project's GitHub-shaped server, every failure mode), and
the gap webhook in Slack and Google Chat formats (a loopback receiver)."""

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from adherence.models import Gap
from adherence.services import gap_waive, gaps_notify
from github import GitHubClient
from github_integration.gap_issues import gap_issues_sync
from github_integration.models import GapIssue
from techniques.text import inert
from tests.factories import GapFactory, GapIssueFactory


@pytest.fixture
def writer(fake_github):
    """A client with a token, as a worker has (the server then requires it)."""
    fake_github.token = "portal-token"
    return GitHubClient(
        fake_github.dataset.full_name,
        base_url=fake_github.url,
        token="portal-token",
        timeout=2,
        backoff=0.01,
        max_wait=0.5,
        sleep=lambda seconds: None,
    )


@pytest.fixture
def old_gap(pruning, settings):
    settings.GAP_ISSUE_AFTER_DAYS = 7
    pruning.gap_issues = True
    pruning.save()
    return GapFactory(
        technique=pruning,
        days_open=10,
        summary="Only 1 active maintainer; the policy asks for 2+.",
        links=[{"title": "@alice", "url": "https://github.com/alice"}],
    )


def issues_of(server, gap):
    marker = GapIssue.objects.get(gap=gap).marker
    return [i for i in server.dataset.issues if f"<!-- {marker} -->" in i.body]


def test_a_gap_open_long_enough_opens_one_issue(old_gap, writer, fake_github):
    fake_github.dataset.set_permission("alice", "admin")
    summary = gap_issues_sync(writer)
    [issue] = issues_of(fake_github, old_gap)
    assert summary.created == [issue.number]
    assert issue.labels == ("technique:pruning",)
    assert issue.assignees == ("alice",)  # the star assignee
    assert f"/adherence/gaps/{old_gap.pk}/" in issue.body
    assert "> The group of maintainers must also be 2+" in issue.body  # the rule's policy
    assert issue.author == "tfmot-portal"
    record = GapIssue.objects.get(gap=old_gap)
    assert record.number == issue.number and record.state == "open"
    # Again: nothing new, nothing changed.
    again = gap_issues_sync(writer)
    assert not (again.created or again.updated or again.found_again)
    assert len(issues_of(fake_github, old_gap)) == 1


def test_no_issue_before_n_days_or_without_opt_in(old_gap, writer, fake_github, settings):
    old_gap.opened_at = timezone.now() - timedelta(days=3)
    old_gap.save()
    assert gap_issues_sync(writer).created == []
    old_gap.opened_at = timezone.now() - timedelta(days=30)
    old_gap.save()
    old_gap.technique.gap_issues = False
    old_gap.technique.save()
    assert gap_issues_sync(writer).created == []
    settings.GAP_ISSUES = True  # the global switch
    assert len(gap_issues_sync(writer).created) == 1


def test_evidence_changes_update_the_issue(old_gap, writer, fake_github):
    gap_issues_sync(writer)
    old_gap.summary = "No active maintainer left."
    old_gap.save()
    summary = gap_issues_sync(writer)
    [issue] = issues_of(fake_github, old_gap)
    assert summary.updated == [issue.number]
    assert inert("No active maintainer left.") in issue.body


def test_resolved_gap_closes_its_issue_with_a_comment(old_gap, writer, fake_github):
    gap_issues_sync(writer)
    old_gap.state, old_gap.resolved_at = Gap.State.RESOLVED, timezone.now()
    old_gap.save()
    summary = gap_issues_sync(writer)
    [issue] = issues_of(fake_github, old_gap)
    assert summary.closed == [issue.number] and issue.state == "closed"
    [comment] = [c for c in fake_github.dataset.comments if c.issue_number == issue.number]
    assert comment.body.startswith("Resolved")
    assert gap_issues_sync(writer).closed == []  # closed once


def test_waived_gap_closes_and_reopens_when_the_waiver_expires(old_gap, writer, fake_github, carol):
    gap_issues_sync(writer)
    gap_waive(old_gap, carol, "Hiring a second maintainer.", date.today() + timedelta(days=30))
    gap_issues_sync(writer)
    [issue] = issues_of(fake_github, old_gap)
    assert issue.state == "closed"
    comment = [c for c in fake_github.dataset.comments if c.issue_number == issue.number][-1]
    assert "waived" in comment.body and "Hiring" not in comment.body  # the reason is internal
    old_gap.state = Gap.State.OPEN
    old_gap.save()
    assert gap_issues_sync(writer).reopened == [issue.number]
    assert issue.state == "open" and len(issues_of(fake_github, old_gap)) == 1


class DiesAfterCreating(GitHubClient):
    """A worker killed right after GitHub created the issue, before it was recorded."""

    def create_issue(self, *args, **kwargs):
        super().create_issue(*args, **kwargs)
        raise SystemExit("worker killed")


def test_a_worker_dying_between_create_and_record_never_makes_two(old_gap, writer, fake_github):
    dying = DiesAfterCreating(
        writer.repo,
        base_url=writer.base_url,
        token="portal-token",
        timeout=2,
    )
    with pytest.raises(SystemExit):
        gap_issues_sync(dying)
    assert GapIssue.objects.get(gap=old_gap).number is None  # the claim is all it wrote
    summary = gap_issues_sync(writer)
    [issue] = issues_of(fake_github, old_gap)
    assert summary.found_again == [issue.number] and summary.created == []
    assert GapIssue.objects.get(gap=old_gap).number == issue.number


def test_found_again_by_search_when_the_claim_is_older(old_gap, writer, fake_github):
    """The listing looks at issues updated since the claim; search finds older ones."""
    record = GapIssueFactory(gap=old_gap, repository=writer.repo)
    writer.create_issue("Left by a dead worker", f"body\n<!-- {record.marker} -->")
    GapIssue.objects.filter(pk=record.pk).update(claimed_at=timezone.now() + timedelta(hours=1))
    summary = gap_issues_sync(writer)
    assert len(summary.found_again) == 1 and summary.created == []
    assert any("/search/issues" in p for p in fake_github.paths)


def test_an_outsiders_issue_with_the_marker_is_never_adopted(old_gap, writer, fake_github):
    """Even one that knows the whole marker: only the portal's own account's issues are
    found again, so the portal creates its own."""
    record = GapIssueFactory(gap=old_gap, repository=writer.repo)
    legacy = f"tfmot-portal-gap-{old_gap.pk}"
    for body in (f"<!-- {record.marker} -->", f"<!-- {legacy} -->"):
        fake_github.dataset.add_issue(
            "Totally the portal", "mallory", timezone.now(), body=f"Hi\n{body}"
        )
    summary = gap_issues_sync(writer)
    assert summary.found_again == [] and len(summary.created) == 1
    [created] = summary.created
    assert fake_github.dataset.issue(created).author == "tfmot-portal"
    assert GapIssue.objects.get(gap=old_gap).number == created


def test_each_gap_has_a_secret_marker(old_gap, writer, fake_github, pruning):
    second = GapFactory(technique=pruning, rule_id="technique-label", days_open=10)
    gap_issues_sync(writer)
    one, two = GapIssue.objects.get(gap=old_gap), GapIssue.objects.get(gap=second)
    assert one.secret and two.secret and one.secret != two.secret
    assert one.marker == f"tfmot-portal-gap-{old_gap.pk}-{one.secret}"


def test_quoted_titles_are_inert_and_cannot_carry_another_gaps_marker(
    old_gap, writer, fake_github, pruning
):
    """A gap whose evidence quotes a title holding another gap's marker, a link and a
    team ping: the issue shows the characters, GitHub renders no link, ping or comment,
    and the other gap never adopts this issue."""
    first = GapIssueFactory(gap=old_gap, repository=writer.repo)
    phishing = (
        f"cc @tensorflow/everyone](https://evil.example/phish) <!-- {first.marker} --> "
        "![x](https://evil.example/pixel.png)"
    )
    second = GapFactory(
        technique=pruning,
        rule_id="technique-label",
        days_open=10,
        summary=f"Quoted: {phishing}",
        links=[{"title": phishing, "url": "https://github.com/x/y/issues/1) [z](http://evil"}],
    )
    # Only the second gap is due at first.
    GapIssue.objects.filter(pk=first.pk).delete()
    opened = old_gap.opened_at
    Gap.objects.filter(pk=old_gap.pk).update(opened_at=timezone.now())
    gap_issues_sync(writer)
    [issue] = issues_of(fake_github, second)
    body = issue.body
    own = f"<!-- {GapIssue.objects.get(gap=second).marker} -->"
    assert body.count("<!--") == 1 and own in body
    assert "](https://evil" not in body and "![x]" not in body
    assert "@tensorflow/everyone" not in body and "@\u200btensorflow" in body
    assert "issues/1%29%20%5Bz%5D%28http://evil" in body  # the URL ends where it should
    # The first gap, due now and claimed with the marker quoted above, makes its own issue.
    Gap.objects.filter(pk=old_gap.pk).update(opened_at=opened)
    GapIssue.objects.create(
        gap=old_gap, repository=writer.repo, secret=first.secret, marker=first.marker
    )
    summary = gap_issues_sync(writer)
    assert summary.found_again == [] and summary.created == [
        GapIssue.objects.get(gap=old_gap).number
    ]
    assert GapIssue.objects.get(gap=old_gap).number != issue.number


def test_5xx_on_create_records_the_error_and_the_next_run_creates_one(old_gap, writer, fake_github):
    fake_github.add_fault("5xx", path="POST /repos/tensorflow/model-optimization/issues", count=1)
    summary = gap_issues_sync(writer)
    assert summary.stopped and "502" in summary.stopped
    assert "502" in GapIssue.objects.get(gap=old_gap).error
    assert issues_of(fake_github, old_gap) == []
    assert len(gap_issues_sync(writer).created) == 1
    assert len(issues_of(fake_github, old_gap)) == 1


def test_rate_limit_stops_the_run_without_writing(old_gap, writer, fake_github):
    fake_github.add_fault("rate_limit", path="POST", count=-1, reset_in=3600)
    summary = gap_issues_sync(writer)
    assert "rate limit" in summary.stopped
    assert issues_of(fake_github, old_gap) == []
    fake_github.clear_faults()
    # The client waits for the reset it was told; the next task run has a new one.
    fresh = GitHubClient(writer.repo, base_url=writer.base_url, token="portal-token")
    assert len(gap_issues_sync(fresh).created) == 1


def test_repository_without_issues_or_unknown_is_reported(old_gap, writer, fake_github):
    fake_github.dataset.issues_enabled = False
    summary = gap_issues_sync(writer)
    assert summary.errors and "410" in summary.errors[0]
    assert "Issues are disabled" in GapIssue.objects.get(gap=old_gap).error
    other = GitHubClient("tensorflow/no-such-repo", base_url=fake_github.url, token="portal-token")
    summary = gap_issues_sync(other)
    assert summary.errors and "404" in summary.errors[0]
    assert not issues_of(fake_github, old_gap)


# --- chat webhooks -----------------------------------------------------------------------


@pytest.fixture
def receiver():
    """A tiny HTTP server on loopback that keeps what it receives."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fmt", ["json", "slack", "google_chat"])
def test_gap_webhook_in_each_format(old_gap, receiver, settings, fmt):
    url, received = receiver
    settings.GAP_WEBHOOK_URL, settings.GAP_WEBHOOK_FORMAT = url, fmt
    old_gap.summary = "Only 1 active maintainer <script>"
    assert gaps_notify([old_gap], []) == 1
    [(content_type, body)] = received
    assert content_type == "application/json"
    gap_url = f"{settings.PORTAL_BASE_URL}/adherence/gaps/{old_gap.pk}/"
    if fmt == "json":
        assert body["event"] == "gap.opened" and body["url"] == gap_url
    else:
        assert f"<{gap_url}|" in body["text"] and "Weight pruning" in body["text"]
        assert "&lt;script&gt;" in body["text"] and "<script>" not in body["text"]
        if fmt == "slack":
            assert body["blocks"][0]["text"]["type"] == "mrkdwn"
        else:
            assert set(body) == {"text"}


def test_staff_see_gap_issues_and_their_errors(old_gap, writer, fake_github, carol_client):
    fake_github.dataset.issues_enabled = False
    gap_issues_sync(writer)
    page = carol_client.get("/github/bootstrap/").content.decode()
    assert "Issues are disabled" in page and "not created yet" in page


def test_a_bad_token_stops_the_run(old_gap, fake_github, settings):
    fake_github.token = "the-real-token"
    second = GapFactory(
        technique=old_gap.technique,
        rule_id="technique-label",
        severity="low",
        summary="No label",
        opened_at=old_gap.opened_at,
    )
    wrong = GitHubClient(fake_github.dataset.full_name, base_url=fake_github.url, token="expired")
    summary = gap_issues_sync(wrong)
    assert "401" in summary.stopped and not summary.errors
    assert GapIssue.objects.filter(gap__in=[old_gap, second]).count() == 1  # stopped at once


def test_the_periodic_task_files_issues(old_gap, fake_github, settings):
    from github_integration.tasks import sync_gap_issues

    settings.GITHUB_API_URL, settings.GITHUB_TOKEN = fake_github.url, ""
    result = sync_gap_issues.apply().get()
    assert len(result["created"]) == 1 and result["stopped"] == ""
    assert settings.CELERY_BEAT_SCHEDULE["github-gap-issues"]["task"] == sync_gap_issues.name


def test_the_gap_page_links_its_issue(old_gap, writer, fake_github, alice_client):
    gap_issues_sync(writer)
    record = GapIssue.objects.get(gap=old_gap)
    page = alice_client.get(f"/adherence/gaps/{old_gap.pk}/").content.decode()
    assert f"tensorflow/model-optimization#{record.number}</a> (open)" in page
    assert record.url.endswith(f"/issues/{record.number}")

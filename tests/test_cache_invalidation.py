"""What empties the page cache: a write of what pages show bumps the data version, bulk
writes included; bookkeeping (a sync's progress, delivery ids, heartbeats) bumps nothing.
And what a webhook asks the workers for: its item's techniques only, one evaluation at a
time however many deliveries arrive while it waits."""

import pytest

from adherence.services import evaluation_request, evaluation_run
from adherence.tasks import evaluate_adherence
from ci_status import upserts
from ci_status.models import SyncRun
from techniques.cache import data_version
from tests.factories import (
    HeartbeatFactory,
    RepositoryFactory,
    SyncRunFactory,
    WebhookDeliveryFactory,
)
from tests.test_webhooks import REPO, issue_payload

pytestmark = pytest.mark.django_db(transaction=True)
PROGRESS = ["requests", "not_modified", "rows_written", "rate_limits", "progress", "per_resource"]


@pytest.fixture
def sent(monkeypatch):
    """The evaluation tasks sent to the broker (their technique ids), in order."""
    calls: list = []
    monkeypatch.setattr(evaluate_adherence, "delay", lambda ids=None: calls.append(ids))
    return calls


def _comment(number: int, n: int) -> dict:
    payload = issue_payload(number)
    payload["action"] = "created"
    payload["comment"] = {
        "id": 5000 + n,
        "user": {"login": "kmlee", "type": "User"},
        "author_association": "NONE",
        "created_at": "2026-11-02T09:00:00Z",
        "updated_at": "2026-11-02T09:00:00Z",
        "html_url": "https://github.com/x",
    }
    return payload


@pytest.mark.usefixtures("locmem_cache")
def test_a_sync_saving_its_progress_leaves_the_cached_pages(
    client, pruning, django_assert_num_queries
):
    run = SyncRunFactory(status=SyncRun.Status.RUNNING)
    client.get("/")
    before = data_version()
    for pages in range(1, 4):  # every half second while the sync runs
        run.requests, run.progress = pages, {"resource": "issues", "pages": pages}
        run.save(update_fields=PROGRESS)
    assert data_version() == before
    with django_assert_num_queries(1):  # the data version: the page is still cached
        client.get("/")


def test_a_failed_sync_changes_the_version_the_staff_landing_is_cached_on(pruning):
    run = SyncRunFactory(status=SyncRun.Status.RUNNING)
    before = data_version()
    run.status, run.error = SyncRun.Status.FAILED, "issues: 502"
    run.save()
    assert data_version() > before


def test_delivery_ids_and_heartbeats_change_no_page(pruning):
    before = data_version()
    delivery = WebhookDeliveryFactory()
    delivery.rows_written = 3
    delivery.save(update_fields=["rows_written"])
    HeartbeatFactory()
    assert data_version() == before


def test_a_bulk_upsert_of_runs_bumps_the_version_without_any_save():
    repository = RepositoryFactory()
    run = {
        "id": 42,
        "run_attempt": 1,
        "name": "CI",
        "head_branch": "master",
        "event": "push",
        "head_sha": "a" * 40,
        "status": "completed",
        "conclusion": "failure",
        "created_at": "2026-11-02T09:00:00Z",
        "updated_at": "2026-11-02T09:20:00Z",
    }
    before = data_version()
    assert upserts.upsert_runs(repository, [run]) == 1
    assert data_version() == before + 1


def test_a_comment_webhook_asks_to_evaluate_only_its_items_techniques(
    pruning, clustering, github_webhook, sent
):
    every = sorted([pruning.pk, clustering.pk])
    github_webhook("issues", issue_payload(7), delivery="d-1")
    assert sent == [every]  # the first delivery reads the registry: every technique
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert sent == [every, [pruning.pk]]  # the issue is labelled technique:pruning


def test_a_workflow_run_webhook_asks_for_every_technique(pruning, github_webhook, sent):
    run = {"id": 9, "run_attempt": 1, "name": "CI", "head_sha": "b" * 40, "status": "queued"}
    github_webhook("workflow_run", {"action": "requested", "workflow_run": run, "repository": REPO})
    assert sent == [None]


@pytest.mark.usefixtures("locmem_cache")
def test_deliveries_while_an_evaluation_waits_queue_no_other(pruning, github_webhook, sent):
    github_webhook("issues", issue_payload(7), delivery="d-0")
    for n in range(1, 10):
        github_webhook("issue_comment", _comment(7, n), delivery=f"d-{n}")
    assert sent == [[pruning.pk]]  # ten deliveries, one evaluation waiting


@pytest.mark.usefixtures("locmem_cache")
def test_a_request_queues_again_once_its_evaluation_started(pruning, clustering, sent):
    evaluation_request([pruning])
    evaluation_request([pruning])
    assert sent == [[pruning.pk]]
    evaluation_request([pruning, clustering])
    assert sent == [[pruning.pk], [clustering.pk]]  # only what no waiting task covers
    evaluation_run([pruning.pk])  # a worker takes the first task
    evaluation_request([pruning])
    assert sent[-1] == [pruning.pk]
    evaluation_request(None)
    evaluation_request([pruning])  # covered by the evaluation of every technique
    assert sent[-2:] == [[pruning.pk], None]
    evaluation_run(None)
    evaluation_request(None)
    assert sent[-1] is None and len(sent) == 5

"""What empties the page cache: a write of what pages show bumps the data version, bulk
writes included; bookkeeping (a sync's progress, delivery ids, heartbeats) bumps nothing;
the registry's pages (home, badges, the registry API) stay cached through writes that
leave the registry and every technique's health as they were. And what a webhook asks
the workers for: its item's techniques only, one evaluation at a time however many
deliveries arrive while it waits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adherence.models import EvaluationRequest
from adherence.services import evaluation_request, evaluation_run, gaps_evaluate
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


def _taken() -> set[int | None] | None:
    """The techniques the waiting requests ask for (None: every technique), taken."""
    ids = set(EvaluationRequest.objects.values_list("technique_id", flat=True))
    EvaluationRequest.objects.all().delete()
    return None if None in ids else ids


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
    github_webhook("issues", issue_payload(7), delivery="d-1")
    assert _taken() == {pruning.pk, clustering.pk}  # the first delivery reads the registry
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert _taken() == {pruning.pk}  # the issue is labelled technique:pruning
    assert sent == [[], []]  # no cache: nothing merged, each asks for what waits


def test_only_a_workflow_run_the_ci_rule_reads_asks_for_every_technique(
    pruning, github_webhook, sent
):
    run = {"id": 9, "run_attempt": 1, "name": "CI", "head_sha": "b" * 40, "event": "push"}
    deliveries = [
        {**run, "status": "queued", "head_branch": "master"},
        {**run, "status": "completed", "conclusion": "failure", "head_branch": "fix-tests"},
        {**run, "status": "completed", "conclusion": "cancelled", "head_branch": "master"},
        {**run, "status": "completed", "conclusion": "failure", "head_branch": "master"},
    ]
    for n, data in enumerate(deliveries):
        payload = {"action": data["status"], "workflow_run": data, "repository": REPO}
        assert github_webhook("workflow_run", payload, delivery=f"r-{n}").status_code == 200
    assert len(sent) == 1 and _taken() is None  # the failed run of the default branch only


@pytest.mark.usefixtures("locmem_cache")
def test_deliveries_while_an_evaluation_waits_queue_no_other(pruning, github_webhook, sent):
    github_webhook("issues", issue_payload(7), delivery="d-0")
    for n in range(1, 10):
        github_webhook("issue_comment", _comment(7, n), delivery=f"d-{n}")
    assert sent == [[]]  # ten deliveries, one evaluation waiting
    assert _taken() == {pruning.pk}


@pytest.mark.usefixtures("locmem_cache")
def test_a_request_queues_again_once_its_evaluation_started(pruning, clustering, sent):
    evaluation_request([pruning])
    evaluation_request([pruning, clustering])
    assert len(sent) == 1  # one task for both
    assert evaluation_run([]).techniques == 2  # a worker takes it: the union
    evaluation_request([pruning])
    assert len(sent) == 2
    evaluation_request(None)
    assert len(sent) == 2 and evaluation_run([]).techniques == 2  # every technique
    assert evaluation_run([]).techniques == 0  # nothing waits: nothing evaluated


REGISTRY_PAGES = ["/", "/owners/", "/groups/", "/badges/pruning.svg", "/api/techniques/"]


def _cached(client, path) -> bool:
    """Whether ``path`` is served from the cache (the versions' query only)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries) == 1


@pytest.mark.usefixtures("locmem_cache")
def test_a_webhook_renews_the_technique_page_and_leaves_the_registry_pages(
    client, pruning, github_webhook, sent
):
    github_webhook("issues", issue_payload(7), delivery="d-1")
    for path in [*REGISTRY_PAGES, "/techniques/pruning/"]:
        client.get(path)
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert all(_cached(client, path) for path in REGISTRY_PAGES)
    assert not _cached(client, "/techniques/pruning/")


@pytest.mark.usefixtures("locmem_cache")
def test_an_evaluation_renews_the_registry_pages_only_when_a_health_changed(client, pruning):
    for path in REGISTRY_PAGES:
        client.get(path)
    gaps_evaluate()  # the first evaluation gives pruning its health
    pruning.refresh_from_db()
    health = pruning.get_health_level_display().lower()
    assert not any(_cached(client, path) for path in REGISTRY_PAGES)
    assert health in client.get("/badges/pruning.svg").content.decode()
    gaps_evaluate()  # the same results: every health as it was
    assert all(_cached(client, path) for path in REGISTRY_PAGES)
    assert not _cached(client, "/api/gaps/")


@pytest.mark.usefixtures("locmem_cache")
def test_a_registry_edit_renews_the_registry_pages(client, pruning):
    for path in REGISTRY_PAGES:
        client.get(path)
    pruning.name = "Magnitude pruning"
    pruning.save()
    assert not any(_cached(client, path) for path in REGISTRY_PAGES)
    assert b"Magnitude pruning" in client.get("/").content


def test_a_webhook_delivery_bumps_the_versions_in_one_update(pruning, github_webhook, sent):
    github_webhook("issues", issue_payload(7), delivery="d-1")
    with CaptureQueriesContext(connection) as queries:
        github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    bumps = [
        q["sql"] for q in queries if '"techniques_dataversion"' in q["sql"] and "INSERT" in q["sql"]
    ]
    assert len(bumps) == 1  # the issue, the comment and the figures: one transaction

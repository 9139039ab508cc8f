"""The sync status page, "sync now", the progress JSON, the triage queue and the
technique page's community panel."""

import pytest
import redis

from ci_status import services
from ci_status.models import Repository, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(settings, fake_github):
    from ci_status import services
    from github import GitHubClient

    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    repository = services.repository_get_or_create()
    client = GitHubClient(repository.full_name, base_url=fake_github.url, token="")
    services.repository_sync(repository, client=client, evaluate=False)
    return repository


def test_sync_page_is_for_staff(client, alice):
    assert client.get("/sync/").status_code == 302
    assert client.get("/sync/triage/").status_code == 302
    client.force_login(alice)
    assert client.get("/sync/").status_code == 403
    assert client.get("/sync/triage/").status_code == 403


def test_sync_page_before_any_sync(carol_client, settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    page = carol_client.get("/sync/").content.decode()
    assert "has never been synced" in page
    assert "No sync has run yet." in page


def test_sync_page_shows_runs_and_cursors(carol_client, synced, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = carol_client.get("/sync/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "tensorflow/model-optimization" in page
    assert "Succeeded" in page
    for resource in ("issues", "comments", "labels", "releases", "runs", "pulls"):
        assert f'<th scope="row">{resource}</th>' in page
    assert "<script" in page and "ci_status.js" in page
    assert "onclick" not in page


def test_sync_now_when_the_broker_is_down(carol_client, settings, broker):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    broker("redis://127.0.0.1:1/0")
    response = carol_client.post("/sync/now/", {"repository": "primary"}, follow=True)
    assert response.status_code == 200
    assert "queue is unavailable" in response.content.decode()
    run = SyncRun.objects.get()
    assert run.status == "failed" and "unavailable" in run.error


def test_sync_now_needs_csrf_and_staff(client, alice, carol):
    client.handler.enforce_csrf_checks = True
    client.force_login(carol)
    assert client.post("/sync/now/", {"repository": "primary"}).status_code == 403
    client.handler.enforce_csrf_checks = False
    client.force_login(alice)
    assert client.post("/sync/now/", {"repository": "primary"}).status_code == 403
    assert not SyncRun.objects.exists()


@pytest.mark.redis
def test_sync_now_queues_the_task_and_shows_progress(carol_client, settings, redis_url, broker):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    queue = redis.Redis.from_url(redis_url)
    queue.flushdb()
    broker(redis_url)
    try:
        response = carol_client.post("/sync/now/", {"repository": "primary"})
        assert response.status_code == 302
        run = SyncRun.objects.get()
        assert response["Location"].endswith(f"?run={run.pk}#progress")
        assert run.status == "queued" and run.task_id
        assert queue.llen("celery") == 1
        # A second click while it is queued does not queue it twice.
        carol_client.post("/sync/now/", {"repository": "primary"})
        assert queue.llen("celery") == 1
        page = carol_client.get(response["Location"]).content.decode()
        assert f'data-url="/sync/runs/{run.pk}.json"' in page
        data = carol_client.get(f"/sync/runs/{run.pk}.json").json()
        assert data["status"] == "queued" and data["active"] is True
    finally:
        queue.flushdb()


def test_sync_now_rejects_unknown_repositories(carol_client):
    assert carol_client.post("/sync/now/", {"repository": "999"}).status_code == 404
    response = carol_client.post("/sync/now/", {"repository": "x"}, follow=True)
    assert "Choose a repository" in response.content.decode()


def test_progress_json(carol_client, alice, synced):
    run = SyncRun.objects.get()
    data = carol_client.get(f"/sync/runs/{run.pk}.json").json()
    assert data["status"] == "ok" and data["active"] is False
    assert data["requests"] == run.requests and set(data["done"]) >= {"issues", "runs"}
    assert carol_client.get("/sync/runs/424242.json").status_code == 404
    carol_client.force_login(alice)
    assert carol_client.get(f"/sync/runs/{run.pk}.json").status_code == 403


def test_triage_page(carol_client, synced, django_assert_max_num_queries):
    from techniques import demo

    demo.load()
    services.community_refresh(synced)  # what the next sync does after a registry change
    with django_assert_max_num_queries(12):
        page = carol_client.get("/sync/triage/").content.decode()
    assert "prune_low_magnitude fails on Conv1DTranspose" in page
    assert "technique:pruning" in page
    assert "pip install fails on Windows ARM" not in page  # names no technique


def test_technique_page_community_panel(client, pruning, synced, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        page = client.get(pruning.get_absolute_url()).content.decode()
    assert "Community on GitHub" in page
    assert "Median first response" in page
    assert "Waiting for a first response" in page


def test_technique_page_before_any_sync(client, pruning):
    Repository.objects.all().delete()
    page = client.get(pruning.get_absolute_url()).content.decode()
    assert "No GitHub data yet" in page


def test_sync_page_shows_the_budget_spent_and_its_reset(carol_client, synced):
    run = SyncRun.objects.get()
    page = carol_client.get("/sync/").content.decode()
    assert f"GitHub budget: {run.requests} requests spent by the last sync" in page
    core = run.rate_limits["core"]
    assert f"{core['remaining']} of {core['limit']} left" in page
    assert f'title="{run.rate_limit_reset:%Y-%m-%d %H:%M} UTC">in ' in page

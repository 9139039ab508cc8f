"""/metrics (token or address list; latency, syncs, gaps, health, queue) and structured
logs with a request id that follows the request into the tasks it queues."""

import json
import logging.config
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from ci_status.services import repository_get_or_create
from ops import context
from ops.logs import logging_config
from ops.tasks import beat_tick
from tests.factories import GapFactory, SyncRunFactory
from tfmot_portal.celery import app as celery_app

TOKEN = "metrics-token-for-tests-0123456789"


def _purge():
    with celery_app.connection_for_write() as connection:
        connection.SimpleQueue("celery").clear()


@pytest.fixture
def memory_broker(broker):
    """kombu's in-memory broker (one per process): emptied before and after."""
    broker("memory://")
    _purge()
    yield broker
    broker("memory://")
    _purge()


@pytest.fixture
def metrics_settings(settings, memory_broker):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return settings


def _scrape(client, **headers):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)


def test_metrics_need_the_token_or_an_allowed_address(client, carol, db, metrics_settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401  # no scheme
    client.force_login(carol)  # a session is not enough: scrapers use the token
    assert client.get("/metrics").status_code == 401
    assert _scrape(client).status_code == 200
    client.logout()
    metrics_settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    metrics_settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "127.0.0.1"]
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_report_latency_syncs_gaps_health_and_the_queue(
    client, db, metrics_settings, pruning, clustering
):
    client.get("/")
    now = timezone.now()
    for n, severity in enumerate(("high", "high", "low")):
        GapFactory(technique=pruning, rule_id=f"rule-{n}", severity=severity, opened_at=now)
    repository = repository_get_or_create()
    labels = {"repository": repository.full_name, "status": "ok"}
    before = REGISTRY.get_sample_value("portal_sync_duration_seconds_count", labels) or 0
    run = SyncRunFactory(
        repository=repository, status="running", started_at=now - timedelta(seconds=42)
    )
    run.status, run.finished_at, run.rate_limit_remaining = "ok", now, 4321
    run.save(update_fields=["status", "finished_at", "error", "rate_limit_remaining"])
    run.save()  # a later save without the outcome is not a second sync
    assert REGISTRY.get_sample_value("portal_sync_duration_seconds_count", labels) == before + 1

    beat_tick.apply_async()  # one task waiting, no worker here
    text = _scrape(client).content.decode()
    assert 'portal_request_duration_seconds_count{method="GET",view="techniques:home"}' in text
    assert 'portal_open_gaps{severity="high"} 2.0' in text
    assert 'portal_open_gaps{severity="low"} 1.0' in text
    assert (
        f'portal_github_rate_limit_remaining{{repository="{repository.full_name}"}} 4321.0' in text
    )
    assert f'portal_sync_last_duration_seconds{{repository="{repository.full_name}"}} 42.0' in text
    assert 'portal_techniques_by_open_gaps{open_gaps="0"} 1.0' in text
    assert 'portal_techniques_by_open_gaps{open_gaps="3+"} 1.0' in text
    assert 'portal_techniques_by_health{health="unknown"} 2.0' in text  # never evaluated
    assert "portal_broker_up 1.0" in text
    assert 'portal_queue_length{queue="celery"} 1.0' in text


def test_metrics_say_when_the_broker_is_down(client, db, metrics_settings, broker):
    broker("redis://127.0.0.1:1/0")  # nothing listens there
    text = _scrape(client).content.decode()
    assert "portal_broker_up 0.0" in text
    assert "portal_open_gaps" in text  # the other figures are still there


@pytest.fixture
def json_logs(capsys):
    """Call it once to log as LOG_FORMAT=json does, then to read the lines logged."""
    state = {"on": False}

    def logs():
        if not state["on"]:  # here, in the test, stderr is the captured one
            logging.config.dictConfig(logging_config("json", "INFO"))
            state["on"] = True
            return []
        err = capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.startswith("{")]

    yield logs
    logging.config.dictConfig(django_settings.LOGGING)


def test_json_logs_carry_the_request_id_given_or_made(client, db, json_logs):
    json_logs()
    response = client.get("/owners/", HTTP_X_REQUEST_ID="edge-42.a")
    assert response["X-Request-ID"] == "edge-42.a"
    injected = client.get("/owners/", HTTP_X_REQUEST_ID='evil"\nid')
    made = injected["X-Request-ID"]
    assert len(made) == 32 and made.isalnum()  # an unsafe id is replaced
    lines = [line for line in json_logs() if line["logger"] == "ops.request"]
    assert [(line["request_id"], line["status"], line["view"]) for line in lines] == [
        ("edge-42.a", 200, "techniques:owners"),
        (made, 200, "techniques:owners"),
    ]
    client.get("/healthz")  # load balancers' probes: not logged at INFO
    assert not [line for line in json_logs() if line["logger"] == "ops.request"]
    assert {"time", "level", "message", "method", "path", "duration_ms"} <= set(lines[0])


def test_a_task_queued_by_a_request_carries_its_id(client, carol, db, memory_broker):
    client.force_login(carol)
    response = client.post(
        "/sync/now/", {"repository": "primary"}, HTTP_X_REQUEST_ID="sync-button-1"
    )
    assert response.status_code == 302 and response["X-Request-ID"] == "sync-button-1"
    with celery_app.connection_for_read() as connection:
        queue = connection.SimpleQueue("celery", no_ack=True)
        message = queue.get(timeout=2)
        queue.close()
    assert message.headers["task"] == "ci_status.tasks.sync_repository"
    assert message.headers["portal_request_id"] == "sync-button-1"


@celery_app.task(name="tests.ops.log_inside_a_task")
def log_inside_a_task():
    logging.getLogger("tests").info("inside the task")
    return context.current()


def test_the_worker_side_takes_the_id_from_the_task(json_logs):
    json_logs()
    # apply() runs the task here with the worker's signals (prerun, postrun).
    result = log_inside_a_task.apply(headers={"portal_request_id": "from-the-web-7"})
    assert result.get() == "from-the-web-7"
    logging.getLogger("tests").info("after the task")
    lines = {line["message"]: line["request_id"] for line in json_logs()}
    assert lines["inside the task"] == "from-the-web-7"
    assert lines["after the task"] == "" and context.current() == ""

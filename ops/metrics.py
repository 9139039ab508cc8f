"""Prometheus metrics: histograms observed where the work happens (web requests, syncs,
rule evaluation) and figures read from the database and the broker when scraped.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``make serve``), every gunicorn worker and Celery
process writes its observations to files in that folder and a scrape adds them up
(prometheus-client's multiprocess mode); without it one process's registry is served.
"""

from __future__ import annotations

import logging
import os
from collections import Counter

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from adherence import selectors as adherence_selectors
from adherence.tasks import evaluate_adherence
from ci_status import selectors as ci_selectors
from techniques import selectors as techniques_selectors

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "portal_request_duration_seconds",
    "Time to answer a web request, by view.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SYNC_DURATION = Histogram(
    "portal_sync_duration_seconds",
    "Duration of finished GitHub syncs, by repository and outcome.",
    ["repository", "status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
RULE_EVALUATION = Histogram(
    "portal_rule_evaluation_seconds",
    "Time to evaluate every adherence rule for every technique.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TASK_DURATION = Histogram(
    "portal_task_duration_seconds",
    "Time a Celery task ran, by task name and final state.",
    ["task", "state"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
EVALUATE_TASK = evaluate_adherence.name


def health_level_counts() -> dict[str, int]:
    """Techniques per stored health level, as every page shows it."""
    return techniques_selectors.health_level_counts()


def techniques_by_open_gaps() -> dict[str, int]:
    """Techniques by their number of open gaps: "0", "1", "2", "3+"."""
    counts = adherence_selectors.open_gap_counts()
    return dict(Counter(str(n) if n < 3 else "3+" for n in counts))


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue the workers consume (raises if the broker is down)."""
    from tfmot_portal.celery import app

    names = [app.conf.task_default_queue or "celery"]
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0.1, timeout=2)
        channel = connection.default_channel
        return {
            name: channel.queue_declare(queue=name, passive=False).message_count for name in names
        }


class PortalCollector(Collector):
    """Figures read at scrape time from the database and the broker."""

    def collect(self):
        yield from _sync_metrics()
        yield from _gap_and_health_metrics()
        yield from _broker_metrics()
        yield from _heartbeat_metrics()


def _heartbeat_metrics():
    """When the worker and beat last showed a sign of life (the "degraded" part of
    /readyz)."""
    from ops.models import Heartbeat

    last = GaugeMetricFamily(
        "portal_heartbeat_timestamp_seconds",
        "When the background part last recorded its heartbeat (Unix time).",
        labels=["part"],
    )
    for part, at in Heartbeat.objects.values_list("part", "at"):
        last.add_metric([part], at.timestamp())
    yield last


def _sync_metrics():
    """GitHub requests, rate limit and last sync, per repository."""
    requests = CounterMetricFamily(
        "portal_github_requests",
        "GitHub API requests spent by the sync, per repository.",
        labels=["repository"],
    )
    remaining = GaugeMetricFamily(
        "portal_github_rate_limit_remaining",
        "Requests left in the rate limit window at the end of the last sync.",
        labels=["repository"],
    )
    budgets = GaugeMetricFamily(
        "portal_github_rate_limit_remaining_by_resource",
        "Requests (GraphQL: points) left in each rate-limit budget (x-ratelimit-resource) "
        "at the end of the last sync.",
        labels=["repository", "resource"],
    )
    last_duration = GaugeMetricFamily(
        "portal_sync_last_duration_seconds",
        "Duration of the last finished sync, per repository.",
        labels=["repository"],
    )
    last_success = GaugeMetricFamily(
        "portal_sync_last_success_timestamp_seconds",
        "When the last successful sync finished (Unix time), per repository.",
        labels=["repository"],
    )
    for row in ci_selectors.sync_figures():
        name = row.repository
        requests.add_metric([name], row.requests)
        if row.rate_limit_remaining is not None:
            remaining.add_metric([name], row.rate_limit_remaining)
        for resource, left in sorted(row.rate_limits.items()):
            budgets.add_metric([name, resource], left)
        if row.last_duration_seconds is not None:
            last_duration.add_metric([name], row.last_duration_seconds)
        if row.last_success_at is not None:
            last_success.add_metric([name], row.last_success_at.timestamp())
    yield from (requests, remaining, budgets, last_duration, last_success)


def _gap_and_health_metrics():
    """Open gaps by severity, techniques by health level and by open gaps."""
    gaps = GaugeMetricFamily(
        "portal_open_gaps", "Open adherence gaps, by severity.", labels=["severity"]
    )
    for severity, n in adherence_selectors.open_gaps_by_severity():
        gaps.add_metric([severity], n)
    yield gaps

    health = GaugeMetricFamily(
        "portal_techniques_by_health", "Techniques per health level.", labels=["health"]
    )
    for level, n in sorted(health_level_counts().items()):
        health.add_metric([level], n)
    yield health
    by_gaps = GaugeMetricFamily(
        "portal_techniques_by_open_gaps",
        "Techniques by their number of open gaps.",
        labels=["open_gaps"],
    )
    for bucket, n in sorted(techniques_by_open_gaps().items()):
        by_gaps.add_metric([bucket], n)
    yield by_gaps


def _broker_metrics():
    """Whether the broker answered, and the tasks waiting per queue."""
    up = GaugeMetricFamily("portal_broker_up", "1 when the broker answered this scrape.")
    queue = GaugeMetricFamily(
        "portal_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
    )
    try:
        lengths = queue_lengths()
    except Exception as exc:  # the broker is down: say so, keep the other figures
        logger.warning("metrics: broker did not answer: %s", exc)
        up.add_metric([], 0)
    else:
        up.add_metric([], 1)
        for name, n in lengths.items():
            queue.add_metric([name], n)
    yield up
    yield queue


def render() -> bytes:
    """The exposition text of every process's metrics and the portal's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)
    portal = CollectorRegistry()
    portal.register(PortalCollector())
    return processes + generate_latest(portal)

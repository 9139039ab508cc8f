"""Signal handlers: request ids into and out of Celery tasks, task timings, the worker's
heartbeat, and the duration of each finished sync."""

from __future__ import annotations

import contextlib
import threading
import time

from celery import signals as celery_signals
from django.db import connections
from django.db.models.signals import post_save

from ops import context, health, metrics

BEAT_TICK_TASK = "ops.tasks.beat_tick"
_tasks: dict[str, tuple] = {}


@celery_signals.before_task_publish.connect(dispatch_uid="ops.request_id_out")
def carry_request_id(sender=None, headers=None, **kwargs):
    """A task queued while serving a request carries the request's id."""
    request_id = context.current()
    if request_id and headers is not None:
        headers.setdefault(context.TASK_HEADER, request_id)
    if sender == BEAT_TICK_TASK:
        # Only beat queues its tick: publishing it is beat's proof of life (the database
        # may be down: readyz says so, and the tick goes out all the same).
        with contextlib.suppress(Exception):
            health.heartbeat(health.BEAT_KEY)


@celery_signals.task_prerun.connect(dispatch_uid="ops.request_id_in")
def task_started(task_id=None, task=None, **kwargs):
    # A worker makes the message's headers attributes of the request; apply() keeps them
    # in ``headers``.
    given = getattr(task.request, context.TASK_HEADER, None) or (
        getattr(task.request, "headers", None) or {}
    ).get(context.TASK_HEADER)
    request_id = context.new_request_id(given)
    _tasks[task_id] = (context.request_id.set(request_id), time.perf_counter())


@celery_signals.task_postrun.connect(dispatch_uid="ops.task_finished")
def task_finished(task_id=None, task=None, state=None, **kwargs):
    token, started = _tasks.pop(task_id, (None, None))
    if started is not None:
        elapsed = time.perf_counter() - started
        metrics.TASK_DURATION.labels(task=task.name, state=state or "").observe(elapsed)
        if task.name == metrics.EVALUATE_TASK and state == "SUCCESS":
            metrics.RULE_EVALUATION.observe(elapsed)
    if token is not None:
        context.request_id.reset(token)


@celery_signals.beat_init.connect(dispatch_uid="ops.beat_init")
def beat_started(**kwargs):
    with contextlib.suppress(Exception):
        health.heartbeat(health.BEAT_KEY)


class WorkerHeartbeat:
    """A thread of the worker's main process that records the worker as alive."""

    def __init__(self):
        self.stopped = threading.Event()
        self.thread = None

    def start(self, hostname: str) -> None:
        from django.conf import settings

        interval = max(1, settings.WORKER_HEARTBEAT_SECONDS)

        def beat():
            while not self.stopped.is_set():
                # The database may be down: readyz says so.
                with contextlib.suppress(Exception):
                    health.heartbeat(health.WORKER_KEY, hostname=hostname)
                # This thread's own connection: not kept open between beats.
                with contextlib.suppress(Exception):
                    connections.close_all()
                self.stopped.wait(interval)

        self.stopped.clear()
        self.thread = threading.Thread(target=beat, name="portal-heartbeat", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()


worker_heartbeat = WorkerHeartbeat()


@celery_signals.worker_ready.connect(dispatch_uid="ops.worker_ready")
def worker_ready(sender=None, **kwargs):
    worker_heartbeat.start(getattr(sender, "hostname", "") or "worker")


@celery_signals.worker_shutting_down.connect(dispatch_uid="ops.worker_shutting_down")
def worker_shutting_down(**kwargs):
    worker_heartbeat.stop()


def sync_finished(sender, instance, update_fields=None, **kwargs):
    """Observe a sync's duration once, when it records its outcome."""
    if not update_fields or "status" not in update_fields or "finished_at" not in update_fields:
        return
    if instance.status not in {"ok", "failed"} or not instance.started_at:
        return
    seconds = (instance.finished_at - instance.started_at).total_seconds()
    metrics.SYNC_DURATION.labels(
        repository=instance.repository.full_name, status=instance.status
    ).observe(seconds)


post_save.connect(sync_finished, sender="ci_status.SyncRun", dispatch_uid="ops.sync_finished")

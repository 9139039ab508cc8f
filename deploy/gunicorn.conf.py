"""gunicorn settings for the portal's web process (`make serve` and deploy/tfmot-web.service).

Read from the environment: HOST, PORT, WEB_CONCURRENCY (default 2 x CPUs - 1),
GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_PIDFILE, GUNICORN_PRELOAD (default
true), FORWARDED_ALLOW_IPS, LOG_FORMAT, PROMETHEUS_MULTIPROC_DIR.

The app is loaded once, in the master, before the workers are forked (``preload_app``),
and the start-up heap is frozen (``gc.freeze()``) before each fork: a worker's garbage
collections then scan only the objects of its requests, never Django's start-up objects,
and the workers share those pages with the master. The cost: SIGHUP starts new workers
from the master's loaded code, so a new release needs a restart (docs/running/deploying.md).
"""

import gc
import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, 2 * multiprocessing.cpu_count() - 1))
worker_class = "sync"
# A worker silent for this long is restarted; a request may take up to this long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM: stop accepting, let requests in flight finish for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (bounded memory), not all at once: at 100 requests a second
# a worker is replaced every few minutes, not every ten seconds.
max_requests = 20000
max_requests_jitter = 2000
pidfile = os.environ.get("GUNICORN_PIDFILE") or None
# Load the app before forking (GUNICORN_PRELOAD=false: each worker loads it itself).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() != "false"
# The proxy in front sets X-Forwarded-Proto; trust it from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's documented heartbeat folder
    worker_tmp_dir = "/dev/shm"  # noqa: S108 - heartbeat files in memory, not on disk
# The portal logs every request itself (with its request id): no separate access log.
accesslog = None
errorlog = "-"
if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False}
        },
    }


def when_ready(server):
    """Once the app is loaded: collect the garbage of start-up, so that only live objects
    are frozen before the forks."""
    gc.collect()


def pre_fork(server, worker):
    """In the master, before each fork: no connection opened while loading the app is
    shared with a worker, and the loaded heap moves out of the collector's sight (every
    worker inherits the frozen generation)."""
    if server.cfg.preload_app:
        from django.db import connections

        connections.close_all()
    gc.freeze()


def post_worker_init(worker):
    """Without preload, each worker freezes the heap it loaded itself."""
    if not worker.cfg.preload_app:
        gc.collect()
        gc.freeze()


def child_exit(server, worker):
    """A gone worker's live gauges leave the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

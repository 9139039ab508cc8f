"""One middleware for every request: its id (from ``X-Request-ID`` or new, returned in
the response and carried by every log line and queued task), its latency by view, and
one log line."""

from __future__ import annotations

import logging
import time

from django.core.signals import request_finished

from ops import context, metrics

logger = logging.getLogger("ops.request")
QUIET_VIEWS = {"healthz", "ops:readyz", "ops:metrics"}


class RequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = context.new_request_id(request.headers.get(context.HEADER))
        # Cleared when the response is closed (``request_finished``), so that Django's
        # own log line of an error response still carries it.
        context.request_id.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        metrics.REQUEST_LATENCY.labels(view=view, method=request.method).observe(elapsed)
        response[context.HEADER] = request_id
        # Probes and scrapes come every few seconds: their lines are debug only.
        logger.log(
            logging.DEBUG if view in QUIET_VIEWS else logging.INFO,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            elapsed * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "view": view,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response


def _request_finished(**kwargs):
    context.request_id.set("")


request_finished.connect(_request_finished, dispatch_uid="ops.request_finished")

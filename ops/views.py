"""Readiness, metrics and the CSV downloads."""

from __future__ import annotations

import csv
import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from adherence.forms import MatrixFilterForm
from ops import health, metrics, reports
from reviews.models import ReviewCycle
from reviews.permissions import EXPORT_ANSWERS
from tfmot_portal.client_address import client_address
from tfmot_portal.forms import read_filters


@never_cache
@require_safe
def readyz(request):
    """200 when this instance can serve (database, cache, broker), 503 when one of them
    fails; the worker, beat and the sync's age make it "degraded", not unready. Anyone
    gets the status; the staff and the metrics token get each dependency's details."""
    status, checks = health.readiness()
    body: dict = {"status": status}
    if request.user.is_staff or metrics_allowed(request):
        body["checks"] = checks
    return JsonResponse(body, status=503 if status == "unavailable" else 200)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def metrics_allowed(request) -> bool:
    """A bearer token equal to METRICS_TOKEN (constant-time) or an allowed address."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if (
        token
        and given.startswith("Bearer ")
        and hmac.compare_digest(_digest(given[len("Bearer ") :]), _digest(token))
    ):
        return True
    address = client_address(request)  # behind the proxy: the address it forwarded
    if settings.METRICS_ALLOWED_IPS and address:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        for allowed in settings.METRICS_ALLOWED_IPS:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
    return False


@never_cache
@require_safe
def prometheus_metrics(request):
    if not metrics_allowed(request):
        response = HttpResponse("Metrics need a token or an allowed address.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain"
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)


class _Echo:
    def write(self, value):
        return value


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def adherence_csv(request):
    """The adherence matrix (with the page's filters) for the team's reports."""
    filters = read_filters(MatrixFilterForm, request.GET)[1]
    today = timezone.localdate().isoformat()
    return _csv_response(reports.adherence_rows(filters, request.user), f"adherence-{today}.csv")


@login_required
@require_safe
def review_answers_csv(request, pk):
    """Every answer of one review cycle: drafts included, so the TFMOT team only."""
    EXPORT_ANSWERS.check(request.user)
    cycle = get_object_or_404(ReviewCycle, pk=pk)
    return _csv_response(
        reports.review_answer_rows(cycle), f"reviews-{cycle.year}-H{cycle.half}.csv"
    )

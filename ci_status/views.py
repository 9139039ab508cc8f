"""Pages: the sync status (staff), the triage queue (staff), the run progress JSON,
and the GitHub webhook endpoint (the only CSRF-exempt view)."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ci_status import services, webhooks
from ci_status.models import Repository, SyncRun
from ci_status.permissions import RUN_SYNC, SEE_SYNC
from ci_status.selectors import sync_overview, triage_queue

logger = logging.getLogger(__name__)


@require_GET
@login_required
def sync_status(request):
    SEE_SYNC.check(request.user)
    run_id = request.GET.get("run", "")
    context = sync_overview(int(run_id) if run_id.isdigit() else None)
    return render(request, "ci_status/sync.html", context)


@require_POST
@login_required
def sync_now(request):
    RUN_SYNC.check(request.user)
    repo_id = request.POST.get("repository", "")
    if repo_id == "primary":
        repository = services.repository_get_or_create()
    elif repo_id.isdigit():
        repository = get_object_or_404(Repository, pk=int(repo_id))
    else:
        messages.error(request, "Choose a repository to sync.")
        return redirect("ci_status:sync")
    try:
        run = services.sync_queue(repository, trigger="manual")
    except services.QueueUnavailable:
        messages.error(
            request,
            "The task queue is unavailable, so the sync could not be queued. The pages keep "
            "working with the data synced so far; try again when the broker is back.",
        )
        return redirect("ci_status:sync")
    messages.success(request, f"Sync of {repository.full_name} queued.")
    return redirect(reverse("ci_status:sync") + f"?run={run.pk}#progress")


@require_GET
@login_required
def sync_run_json(request, pk: int):
    SEE_SYNC.check(request.user)
    run = get_object_or_404(SyncRun, pk=pk)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_display": run.status_words,
            "active": run.is_active,
            "resource": run.progress.get("resource", ""),
            "pages": run.progress.get("pages", 0),
            "last_page": run.progress.get("last_page"),
            "done": run.progress.get("done", []),
            "requests": run.requests,
            "not_modified": run.not_modified,
            "rows_written": run.rows_written,
            "rate_limit_remaining": run.rate_limit_remaining,
            "duration_seconds": run.duration_seconds,
            "error": run.error,
        }
    )


@require_GET
@login_required
def triage(request):
    SEE_SYNC.check(request.user)
    queue = triage_queue()
    page = Paginator(queue, 50).get_page(request.GET.get("page"))
    return render(request, "ci_status/triage.html", {"page": page, "total": len(queue)})


@csrf_exempt
def github_webhook(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        return HttpResponse("Webhooks are disabled: GITHUB_WEBHOOK_SECRET is not set.", status=403)
    body = request.body
    header = request.headers.get("X-Hub-Signature-256")
    if not header:
        return HttpResponse("Missing X-Hub-Signature-256.", status=401)
    if not webhooks.signature_valid(secret, body, header):
        return HttpResponse("Bad signature.", status=403)
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery:
        return HttpResponse("Missing X-GitHub-Event or X-GitHub-Delivery.", status=400)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        outcome, rows = webhooks.webhook_handle(event, delivery, payload)
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        logger.warning("webhook %s %s: unusable payload: %s", event, delivery, error)
        detail = str(error)[:200] if isinstance(error, ValueError) else ""
        return HttpResponse(
            f"Unusable payload. {detail}".strip(), status=400, content_type="text/plain"
        )
    return JsonResponse({"outcome": outcome, "rows": rows}, status=200)

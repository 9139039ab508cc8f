"""Pages: the sync status (staff), the triage queue (staff), the run progress JSON,
and the GitHub webhook endpoint (the only CSRF-exempt view)."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ci_status import services, webhooks
from ci_status.community import triage_queue
from ci_status.models import Repository, SyncCursor, SyncRun
from ci_status.permissions import staff_required
from techniques.models import Technique

logger = logging.getLogger(__name__)
RECENT_RUNS = 25


@require_GET
@staff_required
def sync_status(request):
    repositories = list(Repository.objects.order_by("full_name"))
    cursors: dict[int, list[SyncCursor]] = {}
    for cursor in SyncCursor.objects.select_related("repository").order_by("resource"):
        cursors.setdefault(cursor.repository_id, []).append(cursor)
    runs = list(SyncRun.objects.select_related("repository")[:RECENT_RUNS])
    last_by_repo: dict[int, SyncRun] = {}
    for run in runs:
        last_by_repo.setdefault(run.repository_id, run)
    watched = None
    run_id = request.GET.get("run", "")
    if run_id.isdigit():
        watched = next((r for r in runs if r.pk == int(run_id)), None) or (
            SyncRun.objects.filter(pk=int(run_id)).first()
        )
    rows = [
        {"repository": r, "cursors": cursors.get(r.pk, []), "last": last_by_repo.get(r.pk)}
        for r in repositories
    ]
    context = {
        "rows": rows,
        "runs": runs,
        "watched": watched,
        "primary": settings.GITHUB_REPOSITORY,
        "has_primary": any(
            r.full_name.lower() == settings.GITHUB_REPOSITORY.lower() for r in repositories
        ),
        "api_url": settings.GITHUB_API_URL,
        "token_set": bool(settings.GITHUB_TOKEN),
    }
    return render(request, "ci_status/sync.html", context)


@require_POST
@staff_required
def sync_now(request):
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
@staff_required
def sync_run_json(request, pk: int):
    run = get_object_or_404(SyncRun, pk=pk)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_display": run.get_status_display(),
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
@staff_required
def triage(request):
    techniques = list(Technique.objects.select_related("owner_group").order_by("name"))
    queue = triage_queue(techniques)
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
    except (ValueError, KeyError, TypeError) as error:
        logger.warning("webhook %s %s: unusable payload: %s", event, delivery, error)
        return HttpResponse("Unusable payload.", status=400)
    return JsonResponse({"outcome": outcome, "rows": rows}, status=200)

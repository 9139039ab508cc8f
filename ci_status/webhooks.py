"""GitHub webhooks: verified by ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body
with settings.GITHUB_WEBHOOK_SECRET, compared in constant time), replays ignored by
delivery id, and fed through the same upsert code as the sync."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction

from ci_status import upserts
from ci_status.models import Comment, Issue, Repository, WebhookDelivery
from ci_status.services import repository_get_or_create
from techniques.text import fit

EVENTS = {"issues", "issue_comment", "pull_request", "pull_request_review", "workflow_run", "ping"}


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send (for tests and local tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _repository(payload: dict) -> Repository | None:
    full_name = (payload.get("repository") or {}).get("full_name")
    if not full_name:
        return None
    known = Repository.objects.filter(full_name__iexact=full_name).first()
    if known:
        return known
    if full_name.lower() == settings.GITHUB_REPOSITORY.lower():
        return repository_get_or_create(full_name)
    return None


def webhook_handle(event: str, delivery_id: str, payload: dict) -> tuple[str, int]:
    """Apply one delivery; returns (outcome, rows written). Outcomes: "applied",
    "replayed" (delivery already handled), "ignored" (event or repository not ours)."""
    if event not in EVENTS:
        return "ignored", 0
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    delivery_id=fit(WebhookDelivery, "delivery_id", delivery_id),
                    event=event,
                    action=fit(WebhookDelivery, "action", payload.get("action")),
                )
        except IntegrityError:
            return "replayed", 0
        repository = _repository(payload) if event != "ping" else None
        if repository is None:
            return "ignored", 0
        rows = _apply(repository, event, payload)
        delivery.rows_written = rows
        delivery.save(update_fields=["rows_written"])
        upserts.record_maintainer_activity(repository, only=_people(payload))
    return "applied", rows


def _people(payload: dict) -> set[str]:
    people = set()
    for key in ("issue", "pull_request", "comment", "review", "sender"):
        user = (payload.get(key) or {}).get("user") if key != "sender" else payload.get(key)
        if isinstance(user, dict) and user.get("login"):
            people.add(str(user["login"]))
    return people


def _apply(repository: Repository, event: str, payload: dict) -> int:
    action = payload.get("action")
    if event == "issues":
        if action in {"deleted", "transferred"}:  # gone from this repository
            number = int(payload["issue"]["number"])
            Issue.objects.filter(repository=repository, number=number).delete()
            Comment.objects.filter(repository=repository, issue_number=number).delete()
            return 0
        return upserts.upsert_issues(repository, [payload["issue"]])
    if event == "pull_request":
        return upserts.upsert_issues(repository, [payload["pull_request"]], kind="pr")
    if event == "issue_comment":
        rows = upserts.upsert_issues(repository, [payload["issue"]])
        comment = payload["comment"]
        number = int(payload["issue"]["number"])
        if action == "deleted":
            Comment.objects.filter(
                repository=repository, kind=Comment.Kind.COMMENT, github_id=comment["id"]
            ).delete()
        else:
            upserts.upsert_comments(
                repository, [upserts.comment_from_json(repository, comment, number)]
            )
            rows += 1
        upserts.refresh_responses(repository, {number})
        return rows
    if event == "pull_request_review":
        rows = upserts.upsert_issues(repository, [payload["pull_request"]], kind="pr")
        number = int(payload["pull_request"]["number"])
        review = upserts.review_from_json(repository, number, payload["review"])
        if review is not None and action != "dismissed":
            upserts.upsert_comments(repository, [review])
            rows += 1
        upserts.refresh_responses(repository, {number})
        return rows
    if event == "workflow_run":
        return upserts.upsert_runs(repository, [payload["workflow_run"]])
    return 0

"""GitHub webhooks: verified by ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body
with settings.GITHUB_WEBHOOK_SECRET, compared in constant time), replays ignored by
delivery id, checked for shape (types, ranges, times: a ValueError naming the field),
never moving data backwards (an event older than what is stored is "stale", and so is an
event about a deleted issue or comment from before its deletion: its tombstone stays),
and fed through the same upsert code as the sync."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from adherence.services import evaluation_request
from ci_status import services, upserts
from ci_status.models import (
    CIRun,
    Comment,
    Issue,
    ItemTechnique,
    Repository,
    Tombstone,
    WebhookDelivery,
)
from ci_status.rules import run_is_judged
from ci_status.services import repository_get_or_create
from techniques.text import fit

EVENTS = {
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "workflow_run",
    "label",
    "ping",
}
# Events about one issue or PR: only the rules of that item's techniques can change.
ITEM_EVENTS = {"issues", "pull_request", "issue_comment", "pull_request_review"}
# The objects each event carries, and the fields the upserts read from them.
OBJECTS = {
    "issues": ("issue",),
    "pull_request": ("pull_request",),
    "issue_comment": ("issue", "comment"),
    "pull_request_review": ("pull_request", "review"),
    "workflow_run": ("workflow_run",),
    "label": ("label",),
}
INTEGERS = {"number": 2**31 - 1, "id": 2**63 - 1, "run_attempt": 2**31 - 1}
TIMES = ("created_at", "updated_at", "closed_at", "merged_at", "submitted_at", "run_started_at")
OBJECT_FIELDS = ("user", "pull_request")
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them
# How far a run has come; any other status (queued, waiting...) is 0.
RUN_PROGRESS: dict[str, int] = {CIRun.Status.COMPLETED: 2, CIRun.Status.IN_PROGRESS: 1}


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send (for tests and local tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _time(value) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo and 2000 <= parsed.year < 2100 else None


def _object_problem(key: str, data) -> str:
    if not isinstance(data, dict):
        return f"{key}: expected an object"
    for name, limit in INTEGERS.items():
        value = data.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit
        ):
            return f"{key}.{name}: expected an integer from 0 to {limit}"
    for name in TIMES:
        if data.get(name) is not None and _time(data[name]) is None:
            return f"{key}.{name}: expected an ISO 8601 time with a zone, 2000 to 2100"
    for name in OBJECT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"{key}.{name}: expected an object"
    nested = data.get("pull_request")  # an issue's PR link carries merged_at
    if key == "issue" and nested is not None:
        problem = _object_problem("issue.pull_request", nested)
        if problem:
            return problem
    labels = data.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(label, dict) for label in labels)
    ):
        return f"{key}.labels: expected a list of objects"
    return ""


def payload_scrub(payload: dict) -> dict:
    """The payload with NUL characters and lone surrogates removed from every string
    (keys included), in place and without recursion: GitHub's text is kept otherwise."""
    stack: list = [payload]
    while stack:
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if isinstance(node, dict):
            node.clear()
        for key, value in items:
            if isinstance(value, str):
                value = UNSTORABLE.sub("", value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
            if isinstance(key, str):
                key = UNSTORABLE.sub("", key)
            node[key] = value
    return payload


def payload_problem(event: str, payload: dict) -> str:
    """What makes a payload unusable (the field and what was expected), or ""."""
    repository = payload.get("repository") or {}
    if not isinstance(repository, dict):
        return "repository: expected an object"
    if not isinstance(repository.get("full_name") or "", str):
        return "repository.full_name: expected text"
    if not isinstance(payload.get("sender") or {}, dict):
        return "sender: expected an object"
    for key in OBJECTS.get(event, ()):
        problem = _object_problem(key, payload.get(key))
        if problem:
            return problem
    return ""


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
    "replayed" (delivery already handled), "ignored" (event or repository not ours),
    "stale" (older than what is stored: a late delivery never moves data backwards).
    Raises ValueError naming the field when the payload has the wrong shape."""
    if event not in EVENTS:
        return "ignored", 0
    problem = payload_problem(event, payload_scrub(payload))
    if problem:
        raise ValueError(problem)
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
        if _stale(repository, event, payload):
            return "stale", 0
        rows = _apply(repository, event, payload)
        techniques = services.community_refresh(repository, _numbers(payload))
        delivery.rows_written = rows
        delivery.save(update_fields=["rows_written"])
        active = upserts.record_maintainer_activity(repository, only=_people(payload))
        # Sent once the delivery commits.
        evaluation_request(_to_evaluate(repository, event, payload, techniques, active))
    return "applied", rows


def _to_evaluate(repository, event: str, payload: dict, techniques: set[int], active: int):
    """The techniques whose rules a delivery can change (None: every technique). An
    item's event changes only its techniques' rules (before and after its links), unless
    a maintainer's activity moved or the item left the repository (its links went with
    it); a workflow run, only when the CI rule reads it (then every technique's); labels
    count for every technique."""
    if event == "workflow_run":
        return None if run_is_judged(repository, payload["workflow_run"]) else set()
    gone = event == "issues" and payload.get("action") in {"deleted", "transferred"}
    return techniques if event in ITEM_EVENTS and not active and not gone else None


def _issue_is_newer_than(repository: Repository, data: dict) -> bool:
    """Whether the stored issue/PR was updated after this copy of it."""
    stored = (
        Issue.objects.filter(repository=repository, number=data["number"])
        .values_list("updated_at", flat=True)
        .first()
    )
    incoming = _time(data.get("updated_at") or data.get("created_at"))
    return bool(stored and incoming and stored > incoming)


def _bury(repository: Repository, kind: str, key: int, data: dict) -> None:
    """Keep the tombstone of a deleted issue or comment: deleted when the portal learnt
    of it, or at the object's last update if GitHub's clock is ahead of the portal's."""
    deleted_at = max(timezone.now(), _time(data.get("updated_at")) or timezone.now())
    Tombstone.objects.update_or_create(
        repository=repository, kind=kind, key=key, defaults={"deleted_at": deleted_at}
    )


def _buried(repository: Repository, kind: str, key, data: dict) -> bool:
    """Whether this copy of an issue or comment is from before its deletion (or undated)."""
    deleted_at = (
        Tombstone.objects.filter(repository=repository, kind=kind, key=key)
        .values_list("deleted_at", flat=True)
        .first()
    )
    if deleted_at is None:
        return False
    incoming = _time(data.get("updated_at") or data.get("created_at"))
    return incoming is None or incoming <= deleted_at


def _stale(repository: Repository, event: str, payload: dict) -> bool:
    """An event whose main object is older than the stored one (GitHub does not deliver
    in order, and the signature does not cover the delivery id, so the same body can come
    again under another), or than its deletion."""
    item = payload.get("issue") or payload.get("pull_request") or {}
    number = item.get("number")
    if event in ITEM_EVENTS and _buried(repository, Tombstone.Kind.ISSUE, number, item):
        return True
    if event in ("issues", "pull_request") and payload.get("action") not in {
        "deleted",
        "transferred",
    }:
        return _issue_is_newer_than(repository, payload[OBJECTS[event][0]])
    if event == "issue_comment":
        comment = payload["comment"]
        if _buried(repository, Tombstone.Kind.COMMENT, comment.get("id"), comment):
            return True
        stored = (
            Comment.objects.filter(
                repository=repository, kind=Comment.Kind.COMMENT, github_id=comment.get("id")
            )
            .values_list("updated_at", flat=True)
            .first()
        )
        incoming = _time(comment.get("updated_at"))
        return bool(stored and incoming and stored > incoming)
    if event == "workflow_run":
        run = payload["workflow_run"]
        status = (
            CIRun.objects.filter(run_id=run.get("id"), attempt=run.get("run_attempt") or 1)
            .values_list("status", flat=True)
            .first()
        )
        return status is not None and RUN_PROGRESS.get(status, 0) > RUN_PROGRESS.get(
            str(run.get("status")), 0
        )
    return False


def _numbers(payload: dict) -> set[int]:
    """The issue or PR a delivery is about (none for workflow runs)."""
    item = payload.get("issue") or payload.get("pull_request") or {}
    return {int(item["number"])} if isinstance(item, dict) and "number" in item else set()


def _people(payload: dict) -> set[str]:
    people = set()
    for key in ("issue", "pull_request", "comment", "review", "sender"):
        user = (payload.get(key) or {}).get("user") if key != "sender" else payload.get(key)
        if isinstance(user, dict) and user.get("login"):
            people.add(str(user["login"]))
    return people


def _apply(repository: Repository, event: str, payload: dict) -> int:
    action = payload.get("action")
    if event == "label":
        return _apply_label(repository, str(action or ""), payload)
    if event == "issues":
        if action in {"deleted", "transferred"}:  # gone from this repository
            number = int(payload["issue"]["number"])
            gone = Issue.objects.filter(repository=repository, number=number)
            # Its techniques' figures no longer count it (its links go with the row).
            techniques = set(
                ItemTechnique.objects.filter(issue__in=gone).values_list("technique_id", flat=True)
            )
            gone.delete()
            Comment.objects.filter(repository=repository, issue_number=number).delete()
            _bury(repository, Tombstone.Kind.ISSUE, number, payload["issue"])
            services.community_figures_refresh(techniques)
            return 0
        return upserts.upsert_issues(repository, [payload["issue"]])
    if event == "pull_request":
        return upserts.upsert_issues(repository, [payload["pull_request"]], kind="pr")
    if event == "issue_comment":
        issue = payload["issue"]
        rows = (
            0
            if _issue_is_newer_than(repository, issue)
            else upserts.upsert_issues(repository, [issue])
        )
        comment = payload["comment"]
        number = int(payload["issue"]["number"])
        if action == "deleted":
            Comment.objects.filter(
                repository=repository, kind=Comment.Kind.COMMENT, github_id=comment["id"]
            ).delete()
            _bury(repository, Tombstone.Kind.COMMENT, int(comment["id"]), comment)
        else:
            upserts.upsert_comments(
                repository, [upserts.comment_from_json(repository, comment, number)]
            )
            rows += 1
        return rows
    if event == "pull_request_review":
        pull = payload["pull_request"]
        rows = (
            0
            if _issue_is_newer_than(repository, pull)
            else upserts.upsert_issues(repository, [pull], kind="pr")
        )
        number = int(payload["pull_request"]["number"])
        review = upserts.review_from_json(repository, number, payload["review"])
        if review is not None and action != "dismissed":
            upserts.upsert_comments(repository, [review])
            rows += 1
        return rows
    if event == "workflow_run":
        return upserts.upsert_runs(repository, [payload["workflow_run"]])
    return 0


def _apply_label(repository: Repository, action: str, payload: dict) -> int:
    """label created / edited / deleted: the label, and the issues that carry it when
    it was renamed or deleted (their techniques may change with it)."""
    if action not in {"created", "edited", "deleted"}:
        return 0
    label = payload["label"]
    old = ((payload.get("changes") or {}).get("name") or {}).get("from")
    if not isinstance(label.get("name"), str) or (old is not None and not isinstance(old, str)):
        raise ValueError("label.name: expected text")
    numbers = upserts.label_changed(repository, action, label, old or "")
    if numbers:
        services.community_refresh(repository, numbers)
    return 1 + len(numbers)

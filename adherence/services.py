"""Writes of adherence: evaluate every rule, keep gaps and health, acknowledge, waive, notify.

Reads for pages live in ``adherence/selectors.py``; gap state changes are methods of
``Gap``, called here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from adherence import engine
from adherence.chat import webhook_payload
from adherence.health import health_compute
from adherence.models import (
    Campaign,
    EvaluationRequest,
    Gap,
    GapEvent,
    Notification,
    Remediation,
    RuleResult,
    WaiverRequest,
)
from adherence.permissions import ACKNOWLEDGE, DECIDE_WAIVER, PLAN, REQUEST_WAIVER, WAIVE
from techniques.cache import bump_data_version
from techniques.models import Technique, TOSLevel
from techniques.text import fit
from tfmot_portal.forms import clean_text, within_limit
from tfmot_portal.oncommit import waiting_on_commit

logger = logging.getLogger(__name__)
MAX_NOTE = 2000
MAX_REMEDIATION_NOTE = 500  # Remediation.note


@dataclass
class EvaluationSummary:
    techniques: int
    results: int
    opened: list[Gap]
    resolved: int
    expired: list[Gap]


@dataclass
class _GapChanges:
    new: list[Gap] = field(default_factory=list)
    changed: list[Gap] = field(default_factory=list)
    events: list[GapEvent] = field(default_factory=list)
    expired: list[Gap] = field(default_factory=list)
    resolved: int = 0
    unresolved: list[Gap] = field(default_factory=list)  # after the changes

    def touch(self, gap: Gap, event: GapEvent | None = None) -> None:
        if event is not None:
            self.events.append(event)
        if gap not in self.changed:
            self.changed.append(gap)


def _techniques(technique_ids: Iterable[int] | None = None):
    techniques = Technique.objects.select_related("owner_group").order_by("pk")
    if technique_ids is not None:
        techniques = techniques.filter(pk__in=list(technique_ids))
    return list(techniques)


@transaction.atomic
def gaps_evaluate(
    now: datetime | None = None, technique_ids: Iterable[int] | None = None
) -> EvaluationSummary:
    """Evaluate every rule for every technique (or for ``technique_ids`` only); store the
    results, open, update, resolve and expire gaps, and store each technique's health.

    Safe to run twice: results are upserted on (technique, rule) and a gap changes only
    when the rule's outcome does.
    """
    now = now or timezone.now()
    techniques = _techniques(technique_ids)
    results = engine.evaluate(techniques, now)
    gaps = Gap.objects.unresolved()
    if technique_ids is not None:
        gaps = gaps.filter(technique__in=[t.pk for t in techniques])
    unresolved = {(g.technique_id, g.rule_id): g for g in gaps}
    _date_first_seen(results, unresolved, now)
    changed = _results_store(results, now)
    changes = _gaps_apply(results, unresolved, now)
    _gaps_save(changes, now)
    changed |= {gap.technique_id for gap in changes.new + changes.changed}
    health_changed = _health_store(techniques, changes.unresolved, now)
    # Results and gaps are the adherence pages', each technique's its own page's; the
    # registry's pages (home, badges, the registry API) show each technique's health, so
    # they go stale only when it changed. An evaluation that changed nothing moves only
    # the results' evaluation time, which the rule-results API alone shows.
    if changed or health_changed:
        bump_data_version(registry=health_changed, app="adherence", techniques=changed)
    else:
        bump_data_version(registry=False, app=EVALUATED, techniques=())
    by_id = {t.pk: t for t in techniques}
    for gap in changes.new + changes.expired:
        gap.technique = by_id[gap.technique_id]
    new, expired = changes.new, changes.expired
    transaction.on_commit(lambda: gaps_notify(new, expired))
    return EvaluationSummary(len(techniques), len(results), new, changes.resolved, expired)


# --- evaluation requests ------------------------------------------------------------
#
# What waits to be evaluated is a row per technique (EvaluationRequest, no technique:
# every technique), written in the transaction of the change that asks for it: a
# rolled-back change asks for nothing, and a committed one is never lost, whatever
# happens to the cache, the broker or a worker after it (the rows wait for the next
# task). A table rather than the cache: the cache has no atomic set to add ids to and
# take them from but Redis's own calls (the tests and `make run` use LocMemCache), and a
# mark dropped by a cache restart would drop the request with it.
#
# One task at a time waits in the queue: its mark in the cache (PENDING, added when a
# request commits) makes every request committed while it waits send nothing, and the
# task evaluates the union of the rows it finds, so ten webhooks a second about ten
# techniques make one evaluation of ten techniques, not ten tasks. The worker clears the
# mark as it starts, before it takes the rows: a request committed after that sends a
# task again, and takes its row with this task or with the next. The rows are taken
# (DELETE ... RETURNING) in the evaluation's transaction: an evaluation that fails
# leaves them for the next. The mark of a lost task expires after PENDING_SECONDS; a
# cache that is down merges nothing (each request sends its task, which finds its rows
# taken or takes them); the nightly evaluation of every technique takes every row.


class _Request:
    """The techniques one transaction asked to evaluate: their rows are written as they
    are asked for, the task is sent once when the transaction commits. Every request
    writes its rows, also for techniques asked for before in the transaction: a rolled-
    back savepoint takes its rows with it, and the request after it must not count on
    them."""

    def __init__(self) -> None:
        self.technique_ids: set[int] | None = set()  # None: every technique

    def add(self, technique_ids: set[int] | None) -> None:
        _requests_write(technique_ids)
        if self.technique_ids is None or technique_ids is None:
            self.technique_ids = None
        else:
            self.technique_ids |= technique_ids

    def __call__(self) -> None:
        if _pending.request is self:
            _pending.request = None
        _evaluation_send()


_pending = threading.local()


def evaluation_request(
    techniques: Iterable[Technique | int] | None = None, at_once: bool = False
) -> None:
    """Ask for the rules of ``techniques`` (techniques or their ids; None: every technique)
    to be evaluated again by a worker, once the current transaction commits.

    Every writer whose data a rule reads calls this (upload, webhook, sync, team sync,
    ownership check, waiver, review decision). The request is written in the caller's
    transaction (a rolled-back transaction asks for nothing) and a task is sent when it
    commits, unless one waits already: every request committed while a task waits is
    evaluated by that task, for the union of their techniques. ``at_once`` evaluates
    here, in the caller's transaction, for a person's action whose page must show the
    outcome next (a review decision): the page after it never shows the old result.
    """
    ids = None if techniques is None else {t if isinstance(t, int) else t.pk for t in techniques}
    if ids is not None and not ids:
        return
    if at_once:
        gaps_evaluate(technique_ids=ids)
        return
    request = waiting_on_commit(_pending, "request", _Request)
    if request is None:  # autocommit: the rows are committed as they are written
        _requests_write(ids)
        _evaluation_send()
        return
    request.add(ids)


PENDING = "adherence:evaluation-pending"
PENDING_SECONDS = 120
# A batch of more techniques than a third of all is an evaluation of every technique:
# one query per fact either way, and every technique costs little more than a third.
BATCH_SHARE = 3


def _requests_write(technique_ids: set[int] | None) -> None:
    EvaluationRequest.objects.bulk_create(
        [EvaluationRequest(technique_id=t) for t in sorted(technique_ids)]
        if technique_ids is not None
        else [EvaluationRequest(technique_id=None)]
    )


def _requests_take() -> set[int] | None:
    """Delete the committed requests and return their techniques (None: every
    technique). A request committed after the DELETE's snapshot stays for the next task;
    one being deleted by another worker is skipped once that worker commits."""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(EvaluationRequest._meta.db_table)
        # The table's name comes from the model; nothing else is in the statement.
        cursor.execute(f"DELETE FROM {table} RETURNING technique_id")  # noqa: S608  # nosec B608
        ids = {row[0] for row in cursor.fetchall()}
    return None if None in ids else ids


def _evaluation_started() -> None:
    try:
        cache.delete(PENDING)
    except Exception as exc:
        logger.warning("evaluation mark not cleared (cache: %s)", exc)


def evaluation_run(technique_ids: list[int] | None = None) -> EvaluationSummary:
    """What a worker runs: clear the waiting mark, then evaluate ``technique_ids`` (None:
    every technique; a list: a task queued before requests were rows) and every waiting
    request, which it takes in the same transaction."""
    _evaluation_started()
    with transaction.atomic():
        taken = _requests_take()
        if technique_ids is None or taken is None:
            ids = None
        else:
            ids = taken | set(technique_ids)
            if not ids:
                return EvaluationSummary(0, 0, [], 0, [])
            if len(ids) * BATCH_SHARE > Technique.objects.count():
                ids = None
        return gaps_evaluate(technique_ids=ids)


def _evaluation_send() -> bool:
    """Queue a task for the waiting requests unless one waits already."""
    from adherence.tasks import evaluate_adherence

    try:
        if not cache.add(PENDING, 1, PENDING_SECONDS):
            return True  # the waiting task will take the request
    except Exception as exc:  # the cache is down: queue the task anyway
        logger.warning("evaluation requests not merged (cache: %s)", exc)
    try:
        evaluate_adherence.delay([])  # []: the waiting requests only
        return True
    except Exception as exc:  # broker down: the rows wait for the next request or schedule
        _evaluation_started()
        logger.warning("could not queue an adherence evaluation: %s", exc)
        return False


def _date_first_seen(results: dict, unresolved: dict, now: datetime) -> None:
    """Failures without a date of their own (``Result.first_seen``) count from the
    opening of their gap: the evaluation that first found them (now, for a new gap)."""
    for key, result in results.items():
        if result.status == engine.Status.FAIL and result.first_seen:
            gap = unresolved.get(key)
            result.since = gap.opened_at if gap is not None else now


# The page-cache counter of the evaluation times alone (the rule-results API shows them).
EVALUATED = "adherence.evaluated"


def _comparable(value):
    """A result's value as it reads back from its JSON column."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return object()  # never equal: counts as changed


def _results_store(results: dict, now: datetime) -> set[int]:
    """Upsert the results; returns the ids of the techniques whose stored results changed
    (status, summary, evidence, links or since; not only the evaluation time)."""
    stored = {
        (row[0], row[1]): row[2:]
        for row in RuleResult.objects.filter(
            technique_id__in={technique_id for technique_id, _ in results}
        ).values_list("technique_id", "rule_id", "status", "summary", "evidence", "links", "since")
    }
    rows = [
        RuleResult(
            technique_id=technique_id,
            rule_id=rule_id,
            status=str(result.status),
            summary=fit(RuleResult, "summary", result.summary),
            evidence=result.evidence,
            links=result.links,
            since=result.since,
            evaluated_at=now,
        )
        for (technique_id, rule_id), result in results.items()
    ]
    changed = {
        row.technique_id
        for row in rows
        if stored.get((row.technique_id, row.rule_id))
        != (row.status, row.summary, _comparable(row.evidence), _comparable(row.links), row.since)
    }
    RuleResult.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["technique", "rule_id"],
        update_fields=["status", "summary", "evidence", "links", "since", "evaluated_at"],
    )
    return changed


def _gaps_apply(results: dict, unresolved: dict, now: datetime) -> _GapChanges:
    """Gap changes for the results, in memory: open, take new evidence, expire, resolve.
    ``unresolved`` (the unresolved gaps by technique and rule) loses the resolved ones."""
    changes = _GapChanges()
    for key, result in results.items():
        gap = unresolved.get(key)
        summary = fit(RuleResult, "summary", result.summary)
        if result.status != engine.Status.FAIL:
            if gap is not None:
                changes.touch(gap, gap.resolve(now, summary))
                changes.resolved += 1
                del unresolved[key]
            continue
        if gap is None:
            changes.new.append(
                Gap(
                    technique_id=key[0],
                    rule_id=key[1],
                    severity=str(engine.RULES[key[1]].severity),
                    summary=summary,
                    evidence=result.evidence,
                    links=result.links,
                    since=result.since,
                    opened_at=now,
                )
            )
            continue
        if gap.waiver_expired(now):
            changes.touch(gap, gap.expire_waiver(now))
            changes.expired.append(gap)
        since_before = gap.since
        event = gap.update_evidence(summary, result.evidence, result.links, result.since, now)
        if event is not None or gap.since != since_before:
            changes.touch(gap, event)
    changes.unresolved = [*unresolved.values(), *changes.new]
    return changes


def _gaps_save(changes: _GapChanges, now: datetime) -> None:
    Gap.objects.bulk_create(changes.new)
    changes.events += [
        GapEvent(
            gap=gap, kind=GapEvent.Kind.OPENED, at=now, summary=gap.summary, evidence=gap.evidence
        )
        for gap in changes.new
    ]
    Gap.objects.bulk_update(
        changes.changed, ["state", "resolved_at", "summary", "evidence", "links", "since"]
    )
    GapEvent.objects.bulk_create(changes.events)


def _health_store(techniques: list, unresolved: list[Gap], now: datetime) -> bool:
    """Each technique's health level from its unresolved gaps (adherence/health.py);
    whether any technique's health changed."""
    by_technique: dict[int, list[Gap]] = {}
    for gap in unresolved:
        by_technique.setdefault(gap.technique_id, []).append(gap)
    changed = []
    for technique in techniques:
        level, points = health_compute(by_technique.get(technique.pk, []), now)
        if (technique.health_level, technique.health_points) != (level, points):
            technique.health_level, technique.health_points = level, points
            changed.append(technique)
    return bool(Technique.objects.bulk_update(changed, ["health_level", "health_points"]))


def gap_lock(gap: Gap) -> Gap:
    """Lock the gap's row until the transaction ends and re-read it in place: a state
    checked after this holds until the change is saved, so of parallel requests on one
    gap (two acknowledgements, two waivers) one wins and the others see its result."""
    Gap.objects.select_for_update().filter(pk=gap.pk).values_list("pk", flat=True).get()
    gap.refresh_from_db()
    return gap


@transaction.atomic
def gap_acknowledge(gap: Gap, user, note: str, now: datetime | None = None) -> Gap:
    ACKNOWLEDGE.check(user, gap)
    gap_lock(gap)
    note = clean_text(note)
    if not note:
        raise ValidationError({"note": "Say what you will do about it (a note is required)."})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"Keep the note under {MAX_NOTE} characters."})
    if gap.state != Gap.State.OPEN:
        raise ValidationError(
            f"Only an open gap can be acknowledged; this one is {gap.get_state_display().lower()}."
        )
    event = gap.acknowledge(user, note, now or timezone.now())
    gap.save()
    event.save()
    return gap


@transaction.atomic
def gap_waive(gap: Gap, user, reason: str, until: date | None, now: datetime | None = None) -> Gap:
    WAIVE.check(user, gap)
    now = now or timezone.now()
    errors = {}
    reason = clean_text(reason)
    if not reason:
        errors["reason"] = "A waiver needs a reason."
    elif len(reason) > MAX_NOTE:
        errors["reason"] = f"Keep the reason under {MAX_NOTE} characters."
    if until is None:
        errors["until"] = "A waiver needs an end date."
    elif until <= now.date():
        errors["until"] = "The end date must be in the future."
    elif until > now.date() + timedelta(days=settings.WAIVER_MAX_DAYS):
        errors["until"] = (
            f"A waiver lasts at most {settings.WAIVER_MAX_DAYS} days: choose a date up to "
            f"{(now.date() + timedelta(days=settings.WAIVER_MAX_DAYS)).isoformat()}."
        )
    if errors:
        raise ValidationError(errors)
    gap_lock(gap)
    if gap.state == Gap.State.RESOLVED:
        raise ValidationError("This gap is resolved; there is nothing to waive.")
    if gap.state == Gap.State.WAIVED and not gap.waiver_expired(now):
        raise ValidationError(
            f"This gap is already waived until {gap.waived_until:%Y-%m-%d}"
            f" (by {gap.waived_by or 'the team'})."
        )
    event = gap.waive(user, reason, until, now)
    gap.save()
    event.save()
    # A waived gap stops counting: the stored health follows at once, not at the next run.
    _health_store(
        [gap.technique], list(Gap.objects.unresolved().filter(technique=gap.technique)), now
    )
    evaluation_request([gap.technique_id])
    return gap


# --- notifications -----------------------------------------------------------------


def _claim(key: str) -> Notification | None:
    """Record the notification first; a second attempt for the same key gets None."""
    try:
        with transaction.atomic():
            return Notification.objects.create(key=key)
    except IntegrityError:
        return None


def gaps_notify(opened: list[Gap], expired: list[Gap]) -> int:
    """Email the owner group (and the webhook) once per opened gap or expired waiver."""
    sent = 0
    for gap, kind in [(g, "opened") for g in opened] + [(g, "waiver-expired") for g in expired]:
        key = f"gap-{gap.pk}-{kind}-{gap.waived_until or ''}"
        notification = _claim(key)
        if notification is None:
            continue
        rule = engine.RULES.get(gap.rule_id)
        title = rule.title if rule else gap.rule_id
        what = "A gap opened" if kind == GapEvent.Kind.OPENED else "A waiver expired"
        url = settings.PORTAL_BASE_URL + gap.get_absolute_url()
        recipients = gap.technique.owner_group.contact_emails() if gap.technique.owner_group else []
        if recipients:
            send_mail(
                f"[tfmot-portal] {what}: {gap.technique.name} — {title}",
                f"{what} for {gap.technique.name}.\n\nDuty check: {title}\n{gap.summary}\n\nDetails: {url}\n",
                None,
                recipients,
                fail_silently=True,
            )
        notification.recipients = ", ".join(recipients)
        notification.webhook_status = _post_webhook(gap, kind, title, url)
        notification.save(update_fields=["recipients", "webhook_status"])
        sent += 1
    return sent


def _post_webhook(gap: Gap, kind: str, title: str, url: str) -> str:
    if not settings.GAP_WEBHOOK_URL:
        return ""
    payload = webhook_payload(gap, kind, title, url)  # JSON, Slack or Google Chat
    try:
        response = requests.post(settings.GAP_WEBHOOK_URL, json=payload, timeout=5)
        return f"HTTP {response.status_code}"
    except requests.RequestException as error:
        logger.warning("Gap webhook failed: %s", error)
        return f"failed: {type(error).__name__}"


def _age(gap: Gap, now: datetime) -> str:
    if gap.since is None:
        return f"noticed {gap.days_open(now)} days ago"
    return f"failing {gap.days_failing(now)} days, since {gap.since:%Y-%m-%d}"


def digest_send(now: datetime | None = None) -> bool:
    """The weekly digest of open gaps for the TFMOT team; once per ISO week."""
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    notification = _claim(f"digest-{year}-W{week:02d}")
    if notification is None:
        return False
    staff = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    gaps = list(Gap.objects.open().select_related("technique").order_by("opened_at")[:200])
    lines = [
        f"- {g.technique.name}: {g.rule_id} ({g.get_state_display().lower()}, {_age(g, now)}) "
        f"{settings.PORTAL_BASE_URL}{g.get_absolute_url()}"
        for g in gaps
    ]
    body = (
        f"{len(gaps)} open gaps.\n"
        + _overdue_digest(now)
        + "\n"
        + ("\n".join(lines) or "No open gaps: every checked duty is met.")
    )
    if staff:
        send_mail(
            f"[tfmot-portal] Weekly adherence digest, {year}-W{week:02d}",
            body,
            None,
            staff,
            fail_silently=True,
        )
    notification.recipients = ", ".join(staff)
    notification.save(update_fields=["recipients"])
    return True


def _overdue_digest(now: datetime) -> str:
    """The digest's line on overdue remediation, with the overdue items (at most 50)."""
    overdue = Gap.objects.overdue(now.date()).select_related("technique").order_by("due", "pk")
    total = overdue.count()
    if not total:
        return "No remediation is overdue.\n"
    lines = [
        f"- {g.technique.name}: {g.rule_id}, due {g.due:%Y-%m-%d} "
        f"{settings.PORTAL_BASE_URL}{g.get_absolute_url()}"
        for g in overdue[:50]
    ]
    return (
        f"{total} remediation item{'s' if total != 1 else ''} overdue:\n" + "\n".join(lines) + "\n"
    )


# --- remediation: due dates, assignees and campaigns -----------------------------------


@transaction.atomic
def remediation_set(
    gap: Gap, user, due_on: date | None, assignee, note: str = "", now: datetime | None = None
) -> Remediation:
    """Staff set (or change) the due date and the assignee of a gap; the assignee is an
    active maintainer of the technique's owner group. Recorded in the gap's history."""
    PLAN.check(user, gap)
    now = now or timezone.now()
    errors = {}
    if due_on is None:
        errors["due_on"] = "Give the date by which the gap should be fixed."
    elif due_on < timezone.localdate(now):
        errors["due_on"] = "The due date cannot be in the past."
    group = gap.technique.owner_group
    if assignee is None:
        errors["assignee"] = "Choose who fixes it: a maintainer of the owner group."
    elif group is None or assignee.group_id != group.pk or not assignee.is_active:
        errors["assignee"] = (
            f"@{assignee.github_login} does not maintain {gap.technique.name}: choose an "
            "active maintainer of its owner group."
        )
    note = clean_text(note)
    if len(note) > MAX_REMEDIATION_NOTE:
        errors["note"] = f"Keep the note under {MAX_REMEDIATION_NOTE} characters."
    if gap.state == Gap.State.RESOLVED:
        errors["__all__"] = "This gap is resolved; there is nothing left to fix."
    if errors or due_on is None:
        raise ValidationError(errors)
    remediation, _ = Remediation.objects.update_or_create(
        gap=gap,
        defaults={
            "due_on": due_on,
            "assignee": assignee,
            "note": note,
            "set_by": user,
            "set_at": now,
        },
    )
    GapEvent.objects.create(
        gap=gap,
        kind=GapEvent.Kind.DUE_SET,
        at=now,
        by=user,
        note=f"Due {due_on.isoformat()}, assigned to @{assignee.github_login}"
        + (f": {note}" if note else ""),
    )
    return remediation


@transaction.atomic
def campaign_create(
    user, title: str, rule_id: str, due_on: date | None, tos_level: str = "", now=None
) -> Campaign:
    """Staff start a campaign: every gap of ``rule_id`` on the techniques of ``tos_level``
    (blank: every TOS), present and future, is due by ``due_on``."""
    PLAN.check(user)
    now = now or timezone.now()
    errors = {}
    title = clean_text(title)
    if not title:
        errors["title"] = "Name the campaign (what every technique should have, and by when)."
    if rule_id not in engine.RULES:
        errors["rule_id"] = "Choose one of the portal's rules."
    if tos_level and tos_level not in TOSLevel.values:
        errors["tos_level"] = "Choose a TOS level, or every TOS."
    if due_on is None:
        errors["due_on"] = "Give the campaign's due date."
    elif due_on < timezone.localdate(now):
        errors["due_on"] = "The due date cannot be in the past."
    if errors or due_on is None:
        raise ValidationError(errors)
    return Campaign.objects.create(
        title=within_limit(Campaign, "title", title),
        rule_id=rule_id,
        tos_level=tos_level,
        due_on=due_on,
        created_by=user,
        created_at=now,
    )


# --- waiver requests: owners ask, staff decide ----------------------------------------


def _waiver_terms_errors(reason: str, until: date | None, now: datetime) -> dict:
    """What is wrong with a waiver's reason and end date (the rules a waiver follows)."""
    errors = {}
    today = timezone.localdate(now)
    if not reason:
        errors["reason"] = "A waiver needs a reason."
    elif len(reason) > MAX_NOTE:
        errors["reason"] = f"Keep the reason under {MAX_NOTE} characters."
    if until is None:
        errors["until"] = "A waiver needs an end date."
    elif until <= today:
        errors["until"] = "The end date must be in the future."
    elif until > today + timedelta(days=settings.WAIVER_MAX_DAYS):
        errors["until"] = (
            f"A waiver lasts at most {settings.WAIVER_MAX_DAYS} days: choose a date up to "
            f"{(today + timedelta(days=settings.WAIVER_MAX_DAYS)).isoformat()}."
        )
    return errors


@transaction.atomic
def waiver_request_submit(
    gap: Gap, user, reason: str, until: date | None, now: datetime | None = None
) -> WaiverRequest:
    """An owner asks the team to waive an open or acknowledged gap until a date."""
    REQUEST_WAIVER.check(user, gap)
    now = now or timezone.now()
    reason = clean_text(reason)
    errors = _waiver_terms_errors(reason, until, now)
    if errors or until is None:
        raise ValidationError(errors)
    if not gap.counts:
        raise ValidationError(
            f"Only an open or acknowledged gap can be waived; this one is "
            f"{gap.get_state_display().lower()}."
        )
    if gap.waiver_requests.filter(status=WaiverRequest.Status.PENDING).exists():
        raise ValidationError("A waiver request for this gap already waits for the team.")
    request = WaiverRequest.objects.create(
        gap=gap, reason=reason, until=until, requested_by=user, requested_at=now
    )
    GapEvent.objects.create(
        gap=gap,
        kind=GapEvent.Kind.WAIVER_REQUESTED,
        at=now,
        by=user,
        note=f"{reason} (until {until.isoformat()})",
    )
    return request


@transaction.atomic
def waiver_request_decide(
    request: WaiverRequest, user, approve: bool, comment: str = "", now: datetime | None = None
) -> WaiverRequest:
    """Approval waives the gap with the request's reason and end date (``gap_waive``);
    a rejection needs a comment, which the gap's history keeps for its owners."""
    DECIDE_WAIVER.check(user, request)
    now = now or timezone.now()
    if request.status != WaiverRequest.Status.PENDING:
        raise ValidationError("This request was already decided.")
    comment = clean_text(comment)
    if len(comment) > MAX_NOTE:
        raise ValidationError({"comment": f"Keep the comment under {MAX_NOTE} characters."})
    if approve:
        gap_waive(request.gap, user, request.reason, request.until, now=now)
    elif not comment:
        raise ValidationError({"comment": "Say why the waiver is refused (a comment is required)."})
    else:
        GapEvent.objects.create(
            gap=request.gap, kind=GapEvent.Kind.WAIVER_REFUSED, at=now, by=user, note=comment
        )
    request.status = WaiverRequest.Status.APPROVED if approve else WaiverRequest.Status.REJECTED
    request.decided_by, request.decided_at, request.decision_comment = user, now, comment
    request.save()
    return request

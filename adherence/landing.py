"""Landing-page sections of adherence: new gaps, waivers ending, overdue remediation,
waiver requests to decide; owners' open gaps and their due items."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from adherence import engine
from adherence.models import Gap
from adherence.selectors import pending_waiver_requests
from adherence.templatetags.adherence_tags import failing_for
from techniques.landing import Entry, Section, Tone, listed_section, register_landing

SHOWN = 8
WAIVER_NOTICE_DAYS = 14
# What a landing entry never shows: left in the database.
HEAVY = ("evidence", "links", "summary", "acknowledge_note", "waiver_reason")


def _rule_title(rule_id: str) -> str:
    rule = engine.RULES.get(rule_id)
    return rule.title if rule else rule_id


def _entry(gap: Gap, detail: str, status: Tone) -> Entry:
    return Entry(
        f"{gap.technique.name}: {_rule_title(gap.rule_id)}", gap.get_absolute_url(), detail, status
    )


def _gaps(gaps):
    return gaps.select_related("technique").defer(*HEAVY)


def _began(gap: Gap) -> str:
    if gap.since is None:
        return f"noticed {gap.opened_at:%Y-%m-%d}, start not dated by the rule"
    return failing_for(gap)


def gaps_this_week(user, owned) -> Section:
    """Open gaps whose violation began in the last 7 days, dated as their gap pages and
    the trend date them (``Gap.start``): a gap the portal noticed today but that has failed
    for years is not new."""
    week_ago = timezone.now() - timedelta(days=7)
    return listed_section(
        "new-gaps",
        "Gaps opened this week",
        _gaps(Gap.objects.open().started_since(week_ago).order_by("-began", "-pk")),
        lambda g: _entry(g, _began(g), Tone.FAIL),
        reverse("adherence:dashboard") + "?sort=most",
        "No gap opened in the last 7 days.",
        SHOWN,
    )


def waivers_ending(user, owned) -> Section:
    until = timezone.localdate() + timedelta(days=WAIVER_NOTICE_DAYS)
    waived = Gap.objects.filter(state=Gap.State.WAIVED, waived_until__lte=until)
    return listed_section(
        "waivers",
        f"Waivers ending within {WAIVER_NOTICE_DAYS} days",
        _gaps(waived.order_by("waived_until")),
        lambda g: _entry(g, f"waived until {g.waived_until:%-d %b %Y}", Tone.WARN),
        reverse("adherence:dashboard"),
        "No waiver ends soon.",
        SHOWN,
    )


def your_gaps(user, owned) -> Section | None:
    if not owned:
        return None
    gaps = Gap.objects.open().filter(technique__in=owned)
    return listed_section(
        "your-gaps",
        "Open gaps on your techniques",
        _gaps(gaps.by_urgency()),
        lambda g: _entry(
            g, f"{g.severity} · {failing_for(g)} · {g.get_state_display().lower()}", Tone.FAIL
        ),
        reverse("adherence:dashboard") + "?mine=1",
        "No open gap: every checked duty is met.",
        SHOWN,
    )


def _due_detail(gap, today) -> str:
    late = gap.due < today
    who = gap.remediation.assignee if hasattr(gap, "remediation") else None
    detail = f"{'overdue: ' if late else ''}due {gap.due:%-d %b %Y}"
    return detail + (f" · @{who.github_login}" if who else "")


def _due(gaps):
    return _gaps(gaps).select_related("remediation__assignee").order_by("due", "pk")


def overdue_remediation(user, owned) -> Section:
    today = timezone.localdate()
    return listed_section(
        "overdue-remediation",
        "Overdue remediation",
        _due(Gap.objects.overdue(today)),
        lambda g: _entry(g, _due_detail(g, today), Tone.FAIL),
        reverse("adherence:campaigns"),
        "No remediation is overdue.",
        SHOWN,
    )


def waiver_requests(user, owned) -> Section:
    return listed_section(
        "waiver-requests",
        "Waiver requests to decide",
        pending_waiver_requests().defer(*(f"gap__{name}" for name in HEAVY)),
        lambda r: Entry(
            f"{r.gap.technique.name}: {_rule_title(r.gap.rule_id)}",
            reverse("adherence:waiver_requests") + f"#waiver-{r.pk}",
            f"until {r.until:%-d %b %Y} · asked by {r.requested_by or 'someone'}",
            Tone.WARN,
        ),
        reverse("adherence:waiver_requests"),
        "No waiver request waits for a decision.",
        SHOWN,
    )


def your_due_items(user, owned) -> Section | None:
    if not owned:
        return None
    today = timezone.localdate()
    gaps = Gap.objects.open().with_due().filter(technique__in=owned, due__isnull=False)
    return listed_section(
        "your-due-items",
        "Due remediation on your techniques",
        _due(gaps),
        lambda g: _entry(g, _due_detail(g, today), Tone.FAIL if g.due < today else Tone.WARN),
        reverse("adherence:dashboard") + "?mine=1&failing=1",
        "Nothing on your techniques has a due date.",
        SHOWN,
    )


register_landing(gaps_this_week, audience="staff", order=30)
register_landing(overdue_remediation, audience="staff", order=35)
register_landing(waiver_requests, audience="staff", order=40)
register_landing(your_due_items, audience="owner", order=15)
register_landing(waivers_ending, audience="staff", order=50)
register_landing(your_gaps, audience="owner", order=10)

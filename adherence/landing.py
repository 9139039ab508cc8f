"""Landing-page sections of adherence: new gaps, waivers ending, owners' open gaps."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from adherence import engine
from adherence.models import Gap
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
        _gaps(gaps.order_by(F("since").asc(nulls_last=True), "opened_at")),
        lambda g: _entry(g, f"{failing_for(g)} · {g.get_state_display().lower()}", Tone.FAIL),
        reverse("adherence:dashboard") + "?mine=1",
        "No open gap: every checked duty is met.",
        SHOWN,
    )


register_landing(gaps_this_week, audience="staff", order=30)
register_landing(waivers_ending, audience="staff", order=50)
register_landing(your_gaps, audience="owner", order=20)

"""One figure, shown the same everywhere: on the demo, what each technique's page shows
agrees with its rule results, the adherence matrix, the gap pages and /ci/."""

import csv
import io
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from adherence.models import Gap, GapEvent, RuleResult
from convergence.models import ConvergenceTest
from reviews.models import Review
from techniques.models import HealthLevel, Technique
from tests.demo_snapshot import load_demo

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(request, settings, demo_github):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_demo(request.module.__name__)
    return list(Technique.objects.order_by("slug"))


def dates(pattern: str, html: str) -> set[str]:
    return set(re.findall(pattern + r"(\d{4}-\d{2}-\d{2})", html))


def results_of(technique) -> dict[str, RuleResult]:
    return {r.rule_id: r for r in RuleResult.objects.filter(technique=technique)}


def test_every_technique_page_agrees_with_its_rule_results(demo, client, carol):
    client.force_login(carol)
    ci = client.get("/ci/?sort=name").content.decode()
    matrix = client.get("/adherence/").content.decode()
    client.logout()
    checked_failing = checked_overdue = 0
    for technique in demo:
        page = client.get(technique.get_absolute_url()).content.decode()
        results = results_of(technique)

        # Convergence: the failing-since of each test, one stored figure.
        failing = ConvergenceTest.objects.filter(technique=technique, alert_open=True)
        shown = dates(r'class="failing-since">failing since ', page)
        stored = {t.failing_since.date().isoformat() for t in failing if t.failing_since}
        assert shown == stored, technique.slug
        green = results.get("convergence-green")
        if stored:
            checked_failing += 1
            assert green.status == "fail" and green.since.date().isoformat() == min(stored)
            assert dates(r'class="failing-since">Failing since ', ci) >= stored
            gap = Gap.objects.unresolved().get(technique=technique, rule_id="convergence-green")
            assert gap.since == green.since
            assert f"since {min(stored)}" in matrix
            gap_page = client_page(client, carol, gap.get_absolute_url())
            assert f"since {min(stored)}" in gap_page
        else:
            assert green is None or green.status != "fail", technique.slug

        # Reviews: overdue on the page <=> review-due fails, with the same days.
        review_due = results.get("review-due")
        overdue = [r for r in Review.objects.filter(technique=technique) if r.days_overdue()]
        on_page = "review-overdue" in page
        if review_due and review_due.status != "na":
            assert on_page == (review_due.status == "fail"), technique.slug
            assert bool(overdue) == (review_due.status == "fail"), technique.slug
        for review in overdue:
            checked_overdue += 1
            assert f"{review.days_overdue()} days overdue" in page
            assert f"{review.days_overdue()} days overdue" in review_due.summary
        if overdue:
            # The gap counts the same days as the oldest overdue review.
            gap = Gap.objects.get(technique=technique, rule_id="review-due", resolved_at=None)
            assert gap.days_failing() == max(r.days_overdue() for r in overdue), technique.slug

        # Community figures (items waiting <=> questions-answered): see
        # tests/test_consistency_community.py.

    # The demo has a red convergence test and overdue reviews: the checks above ran.
    assert checked_failing >= 1 and checked_overdue >= 1


def client_page(client, user, url: str) -> str:
    client.force_login(user)
    try:
        return client.get(url).content.decode()
    finally:
        client.logout()


def test_demo_gaps_are_dated(demo):
    """No demo gap reads "0d" because the portal only just noticed it."""
    today = date.today()
    undated = Gap.objects.open().filter(since__isnull=True).values_list("rule_id", flat=True)
    assert not undated, sorted(set(undated))
    dated = Gap.objects.open().filter(since__date__lt=today).count()
    assert dated >= Gap.objects.open().count() // 2


def test_demo_health_tells_techniques_apart(demo):
    """The demo's data gives a spread of health, as real data would: computed by the
    rules from the data, never set by hand."""
    levels = Counter(Technique.objects.values_list("health_level", flat=True))
    assert levels[HealthLevel.HEALTHY] >= 3, levels
    assert levels[HealthLevel.MINOR] + levels[HealthLevel.ATTENTION] >= 3, levels
    assert 1 <= levels[HealthLevel.TROUBLE] <= 2, levels
    assert levels[HealthLevel.UNKNOWN] == 0, levels
    # docs/contributing/demo-data.md states the spread: it is the demo's.
    text = " ".join((ROOT / "docs" / "contributing" / "demo-data.md").read_text().split())
    stated = re.search(
        r"(\w+) techniques are healthy, (\w+) have minor gaps, (\w+) need attention and "
        r"(\w+) are in trouble",
        text,
    )
    assert stated, "demo-data.md states the demo's health spread"
    numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert [numbers.index(word) + 1 for word in stated.groups()] == [
        levels[HealthLevel.HEALTHY],
        levels[HealthLevel.MINOR],
        levels[HealthLevel.ATTENTION],
        levels[HealthLevel.TROUBLE],
    ]
    # ... and how many techniques it has.
    total = re.search(r"(\d+) techniques in all", text)
    assert total and int(total[1]) == sum(levels.values()), "demo-data.md states the count"
    proposal = Technique.objects.get(stage="proposed")
    assert proposal.health_level == HealthLevel.HEALTHY  # its duties bind from launch
    assert not Gap.objects.open().filter(technique=proposal).exists()


def _waived_at(gap_id: int, at, events: dict) -> bool:
    waived = False
    for kind, when in events.get(gap_id, []):
        if when > at:
            break
        waived = kind == GapEvent.Kind.WAIVED
    return waived


def test_open_gaps_are_counted_alike_by_the_trend_the_landing_and_the_csv(demo, client, carol):
    """One definition of an open gap (open or acknowledged), dated by its ``since`` as
    its gap page dates it: the trend's weeks, the landing's "opened this week" and the
    CSV's per-technique counts are the same gaps."""
    client.force_login(carol)
    trend = client.get("/adherence/trend/").content.decode()
    landing = client.get("/me/").content.decode()
    body = b"".join(client.get("/adherence/matrix.csv").streaming_content).decode()
    csv_rows = list(csv.DictReader(io.StringIO(body)))
    now = timezone.now()
    gaps = list(Gap.objects.all())
    events: dict[int, list] = {}
    for gap_id, kind, at in (
        GapEvent.objects.filter(
            kind__in=[GapEvent.Kind.WAIVED, GapEvent.Kind.WAIVER_EXPIRED, GapEvent.Kind.RESOLVED]
        )
        .order_by("at", "pk")
        .values_list("gap_id", "kind", "at")
    ):
        events.setdefault(gap_id, []).append((kind, at))
    open_now = Gap.objects.open().count()
    assert open_now > 0

    # The trend: each week's count, from each gap's since (not from when it was noticed).
    counts = [int(n) for n in re.findall(r'<td data-label="Open gaps">(\d+)</td>', trend)]
    start = now - timedelta(weeks=26)
    moments = [start + timedelta(weeks=week) for week in range(26)] + [now]
    expected = [
        sum(
            1
            for g in gaps
            if g.start <= at
            and (g.resolved_at is None or g.resolved_at > at)
            and not _waived_at(g.pk, at, events)
            and not (
                g.state == Gap.State.WAIVED and at >= now and not _waived_at(g.pk, now, events)
            )
        )
        for at in moments
    ]
    assert counts == expected
    assert counts[-1] == open_now
    assert counts[0] > 0  # the demo's gaps began long before the portal noticed them
    assert "Counted as on the home page" not in trend

    # The CSV: the same open gaps, technique by technique.
    assert sum(int(row["open_gaps"]) for row in csv_rows) == open_now
    by_slug = {row["technique"]: row for row in csv_rows}
    for technique in demo:
        mine = [g for g in Gap.objects.open().filter(technique=technique)]
        assert int(by_slug[technique.slug]["open_gaps"]) == len(mine), technique.slug
        if mine:
            oldest = min(g.start for g in mine)
            assert by_slug[technique.slug]["oldest_gap_since"].startswith(
                oldest.date().isoformat()
            ), technique.slug

    # The landing: "Gaps opened this week" are the open gaps whose since is in the week.
    new_gaps = landing.split('id="new-gaps"')[1].split("</section>")[0]
    week = [g for g in Gap.objects.open() if g.start >= now - timedelta(days=7)]
    assert f">{len(week)}</span>" in new_gaps
    for date_shown in re.findall(r"since (\d{4}-\d{2}-\d{2})", new_gaps):
        assert date_shown >= (now - timedelta(days=7)).date().isoformat()
    old = [g for g in Gap.objects.open() if g.start < now - timedelta(days=7)]
    for gap in old:
        assert gap.get_absolute_url() not in new_gaps
        # Its gap page dates it as the trend does.
        if gap.since:
            assert (
                f"since {gap.since:%Y-%m-%d}" in client.get(gap.get_absolute_url()).content.decode()
            )


# --- "failing", "flaky" and "blocks a release": one definition on five pages ----------


def _block(html: str, start: str, end: str) -> str:
    """The HTML from ``start`` to the next ``end`` ("" when ``start`` is absent)."""
    at = html.find(start)
    return html[at : html.find(end, at)] if at >= 0 else ""


def _said(html: str) -> set[str]:
    """The conditions a test's badges name (as ``grid_cells.condition_badges`` draws)."""
    return set(re.findall(r'class="status status-(failing|flaky|stale|no_runs|passing)"', html))


def _conditions(test) -> set[str]:
    return {c.value for c in test.conditions} or {"passing"}


def test_failing_and_flaky_read_the_same_on_the_five_pages(demo, client, carol):
    """The staff landing, the matrix, each technique page, /ci/ and /releases/ count the
    same tests as failing (``ConvergenceTest.failing``), call the same ones flaky, and
    the release check blocks on every failing one."""
    tests = list(ConvergenceTest.objects.select_related("technique"))
    failing = [t for t in tests if t.failing]
    flaky = [t for t in tests if t.flaky]
    assert failing and flaky, "the demo has a failing and a flaky test"
    client.force_login(carol)
    landing = client.get("/me/").content.decode()
    ci = client.get("/ci/?sort=name").content.decode()
    matrix = client.get("/adherence/?rule=convergence-green").content.decode()
    releases = client.get("/releases/").content.decode()
    pages = {t.slug: client.get(t.get_absolute_url()).content.decode() for t in demo}

    # The staff landing: exactly the failing production tests, flaky ones said so.
    card = _block(landing, 'id="failing-tests"', "</section>")
    production = [t for t in failing if t.technique.tos_level == "production"]
    assert f'<span class="count-badge nonzero">{len(production)}</span>' in card
    for test in production:
        line = _block(card, f"{test.technique.name}: {test.name}", "</li>")
        assert line and ("flaky" in line) == test.flaky, test

    for test in tests:
        said = _conditions(test)
        # /ci/: the row's state cell names every condition.
        row = _block(ci, f'<tr id="test-{test.pk}"', "</tr>")
        assert _said(row) == said, (test, said)
        # The technique page: the test's block names the same.
        block = _block(pages[test.technique.slug], f'id="test-{test.pk}"', "</p>")
        assert _said(block) == said, (test, said)
        # /releases/: "Now" names the same; a failing test always blocks.
        line = _block(releases, f'<td data-label="Test">{test}</td>', "</tr>")
        if test.kind == ConvergenceTest.Kind.CONVERGENCE and test.technique.stage == "launched":
            now = _block(line, 'data-label="Now"', "</td>")
            assert _said(now) == said, (test, said)
            if test.failing:
                assert 'class="status status-fail">✗' in line, test

    # The matrix: convergence-green fails for the techniques with a failing test, and
    # reads "flaky" where a passing technique's test is flaky.
    for technique in demo:
        own = [t for t in tests if t.technique_id == technique.pk and t.kind == "convergence"]
        green = results_of(technique).get("convergence-green")
        if any(t.failing for t in own):
            assert green.status == "fail", technique.slug
        elif green is not None and green.status == "pass":
            assert (green.evidence.get("caution") == "flaky") == any(t.flaky for t in own)
    assert "✓ flaky" in matrix or all(t.failing for t in flaky if t.kind == "convergence")

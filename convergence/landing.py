"""Landing-page section of convergence: failing production tests and who answers for them."""

from __future__ import annotations

from django.db.models import F, Prefetch
from django.urls import reverse

from convergence.models import Bisection, ConvergenceTest, State
from techniques.landing import Entry, Section, Tone, listed_section, register_landing
from techniques.models import TOSLevel

SHOWN = 8


def responsible(technique) -> list[tuple[str, str]]:
    """(label, url) of the owner group and its active maintainers, star first."""
    group = technique.owner_group
    if group is None:
        return [("no owner group", "")]
    people = [(group.name, group.get_absolute_url())]
    people += [
        (f"@{m.github_login}{'*' if m.is_direct_assignee else ''}", m.github_url)
        for m in group.active_maintainers
    ]
    return people


def failing_production(user, owned) -> Section:
    tests = (
        ConvergenceTest.objects.failing()
        .filter(technique__tos_level=TOSLevel.PRODUCTION)
        .select_related("technique__owner_group")
        .prefetch_related("technique__owner_group__maintainers", _red_searches())
        .order_by("technique__name", "name")
    )

    def entry(test) -> Entry:
        search = _current_search(test)
        detail = _red_detail(test, "failing")
        if search:
            detail += f" · {_search_progress(search)}"
        return _test_entry(test, detail, Tone.FAIL, search, responsible(test.technique))

    return listed_section(
        "failing-tests",
        "Failing production convergence tests",
        tests.defer("recent"),
        entry,
        reverse("convergence:grid") + "?tos=production&state=failing",
        "Every production convergence test passes.",
        SHOWN,
    )


def _test_entry(test, detail: str, tone: Tone, search=None, people=()) -> Entry:
    """A test's landing line: to its bisection when one searches its red streak, else to
    its row of the CI grid."""
    url = (
        search.get_absolute_url()
        if search
        else reverse("convergence:grid") + f"?technique={test.technique.slug}#test-{test.pk}"
    )
    return Entry(f"{test.technique.name}: {test.name}", url, detail, tone, list(people))


def _red_detail(test, word: str) -> str:
    """ "failing since 2 Dec 2026 · flaky": since when, and its other conditions."""
    since = test.failing_since
    also = [str(c.label).lower() for c in test.conditions if c != State.FAILING]
    return (f"{word} since {since:%-d %b %Y}" if since else word) + "".join(
        f" · {other}" for other in also
    )


def _red_searches() -> Prefetch:
    """A failing test's bisections of red streaks, newest first, with their reverts."""
    return Prefetch(
        "bisections",
        Bisection.objects.filter(trigger=Bisection.Trigger.RED_STREAK)
        .order_by("-created_at", "-id")
        .defer("commits")
        .prefetch_related("reverts"),
        to_attr="red_searches",
    )


def _current_search(test) -> Bisection | None:
    """The bisection of the test's current red streak (one started since it turned red)."""
    since = test.failing_since
    return next((b for b in test.red_searches if since is None or b.created_at >= since), None)


def _search_progress(search: Bisection) -> str:
    """Where the portal's search for the culprit of a red test stands, for its owners."""
    revert = next((r for r in search.reverts.all() if r.url), None)
    if revert:
        return (
            f"culprit #{search.culprit_pr} verified; its revert #{revert.number} is open: review it"
        )
    if search.state == Bisection.State.VERIFIED:
        return f"culprit #{search.culprit_pr or search.culprit_sha[:7]} verified; the TFMOT team opens its revert"
    if search.state == Bisection.State.INCONCLUSIVE:
        return "the bisection was inconclusive: find the PR responsible and revert it"
    return f"the portal is bisecting: {search.runs_dispatched} run(s) so far"


def your_red_tests(user, owned) -> Section | None:
    """The owner's failing tests, the policy's most urgent duty (find the PR responsible and
    revert it): the first card of the landing, and none when no test of theirs is red."""
    if not owned:
        return None
    tests = (
        ConvergenceTest.objects.failing()
        .filter(technique__in=owned)
        .select_related("technique")
        .prefetch_related(_red_searches())
        .order_by(F("failing_since").asc(nulls_last=True), "technique__name", "name")
    )

    def entry(test) -> Entry:
        search = _current_search(test)
        progress = _search_progress(search) if search else "find the PR responsible and revert it"
        return _test_entry(test, f"{_red_detail(test, 'red')} · {progress}", Tone.FAIL, search)

    section = listed_section(
        "your-red-tests",
        "Red convergence tests: find the PR, revert",
        tests.defer("recent"),
        entry,
        reverse("convergence:grid") + "?mine=1&state=failing",
        "No convergence test of your techniques is red.",
        SHOWN,
    )
    return section if section.count else None


def your_tests(user, owned) -> Section | None:
    """The owner's other tests needing attention (flaky, stale, no runs); the red ones
    have their own card above."""
    if not owned:
        return None
    tests = (
        ConvergenceTest.objects.filter(technique__in=owned)
        .needing_attention()
        .exclude(alert_open=True)
        .select_related("technique")
        .order_by("technique__name", "name")
    )
    entries = [_test_entry(t, t.conditions_text, Tone.WARN) for t in tests.defer("recent")]
    return Section(
        "your-tests",
        "Your convergence tests needing attention",
        entries,
        reverse("convergence:grid") + "?mine=1",
        "No other convergence test of your techniques needs attention.",
    )


def bisections_to_act_on(user, owned) -> Section:
    """Bisections running, and verified culprits without a revert: the team's to act on."""
    found = (
        Bisection.objects.filter(
            state__in=[
                Bisection.State.RUNNING,
                Bisection.State.CULPRIT_FOUND,
                Bisection.State.VERIFIED,
            ]
        )
        .exclude(reverts__number__isnull=False)
        .select_related("test__technique")
        .order_by("-created_at", "-id")
    )

    def entry(bisection) -> Entry:
        verified = bisection.state == Bisection.State.VERIFIED
        return Entry(
            str(bisection.test),
            bisection.get_absolute_url(),
            f"verified culprit #{bisection.culprit_pr}: open its revert"
            if verified and bisection.culprit_pr
            else bisection.get_state_display().lower(),
            Tone.FAIL if verified else Tone.WARN,
        )

    return listed_section(
        "bisections",
        "Bisections to act on",
        found.defer("commits"),
        entry,
        reverse("convergence:bisections"),
        "No bisection is running or waiting for a revert.",
        SHOWN,
    )


register_landing(failing_production, audience="staff", order=5)
register_landing(bisections_to_act_on, audience="staff", order=6)
register_landing(your_red_tests, audience="owner", order=1)
register_landing(your_tests, audience="owner", order=40)

"""Since when: each failing rule dates the violation from its evidence; gaps and the
matrix show it apart from when the portal noticed; acknowledging or waiving keeps it."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from adherence import engine
from adherence.engine import Status
from adherence.models import Gap
from adherence.services import gap_acknowledge, gap_waive, gaps_evaluate
from convergence.services import convergence_state_update
from reviews.models import Review
from tests.factories import (
    ConvergenceRunFactory,
    ConvergenceTestFactory,
    LabelFactory,
    ReviewCycleFactory,
    ReviewFactory,
    TechniqueChangeFactory,
    TechniqueFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def result(technique, rule_id, at=NOW):
    return engine.evaluate([technique], at, rule_ids=[rule_id])[(technique.pk, rule_id)]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_two_maintainers_dates_from_the_change_that_left_one(lonely):
    left = NOW - timedelta(days=40)
    TechniqueChangeFactory(technique=lonely, maintainers=True, changed_at=left)
    failed = result(lonely, "two-maintainers")
    assert failed.status == Status.FAIL and failed.since == left


def test_must_exist_duties_date_from_the_launch_never_before_the_tos_started(pruning):
    pruning.launch_date = date(2024, 1, 10)
    pruning.github_labels = []
    assert result(pruning, "technique-label").since == midnight(date(2024, 1, 10))
    # API tests are due 3 months after the launch.
    assert result(pruning, "api-tests").since == midnight(date(2024, 4, 10))
    # A production-only duty counts from when the technique moved to production TOS.
    moved = NOW - timedelta(days=20)
    TechniqueChangeFactory(
        technique=pruning,
        field="tos_level",
        before="research",
        after="production",
        changed_at=moved,
    )
    assert result(pruning, "api-tests").since == moved


def test_review_due_fails_for_an_earlier_cycle_since_its_due_date(pruning):
    h1 = ReviewCycleFactory(year=2026, half=1)  # due 30 June 2026
    ReviewFactory(cycle=h1, technique=pruning, status=Review.Status.DRAFT)
    ReviewFactory(cycle__year=2026, cycle__half=2, technique=pruning, status=Review.Status.ACCEPTED)
    failed = result(pruning, "review-due")
    assert failed.status == Status.FAIL
    assert "2026 H1 review due 30 June 2026, 146 days overdue" in failed.summary
    assert failed.since == midnight(date(2026, 6, 30))
    Review.objects.filter(cycle=h1).update(status=Review.Status.ACCEPTED)
    assert result(pruning, "review-due").status == Status.PASS


def test_convergence_green_dates_from_the_first_bad_run_not_from_the_evaluation(pruning):
    test = ConvergenceTestFactory(technique=pruning, name="resnet")
    first_bad = NOW - timedelta(days=3)
    for days, outcome in (
        (5, "passed"),
        (4, "passed"),
        (3, "failed"),
        (2, "failed"),
        (1, "failed"),
    ):
        ConvergenceRunFactory(test=test, started_at=NOW - timedelta(days=days), outcome=outcome)
    with time_machine.travel(NOW, tick=False):
        convergence_state_update(test)
    test.refresh_from_db()
    assert test.failing_since == first_bad and test.state_since == first_bad
    assert result(pruning, "convergence-green").since == first_bad


def test_no_failure_dates_from_before_the_policy_took_effect(pruning, settings):
    """The policy dates from 26 March 2020: a technique launched in 2019 without a label
    misses the duty from then, and so does a test red since 2019 (every rule's date)."""
    pruning.launch_date = date(2019, 5, 13)
    pruning.github_labels = []
    assert result(pruning, "technique-label").since == midnight(date(2020, 3, 26))
    test = ConvergenceTestFactory(technique=pruning, name="resnet")
    for started in (datetime(2019, 6, 1, tzinfo=UTC), NOW - timedelta(days=1)):
        ConvergenceRunFactory(test=test, started_at=started, outcome="failed")
    with time_machine.travel(NOW, tick=False):
        convergence_state_update(test)
    assert result(pruning, "convergence-green").since == midnight(date(2020, 3, 26))

    settings.ADHERENCE_POLICY_START = date(2021, 1, 1)
    assert result(pruning, "technique-label").since == midnight(date(2021, 1, 1))
    assert result(pruning, "convergence-green").since == midnight(date(2021, 1, 1))


def test_gap_shows_failing_since_apart_from_noticed_and_actions_keep_it(
    client, carol, alice, lonely
):
    began = NOW - timedelta(days=21)
    TechniqueChangeFactory(technique=lonely, maintainers=True, changed_at=began)
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
        gap = Gap.objects.get(technique=lonely, rule_id="two-maintainers")
        assert gap.since == began and gap.opened_at == NOW
        gap_acknowledge(gap, alice, "Recruiting.")
        gap_waive(gap, carol, "Grace period.", (NOW + timedelta(days=5)).date())
        gaps_evaluate()
        gap.refresh_from_db()
        assert gap.since == began  # neither acknowledging nor waiving resets it
        client.force_login(carol)
        page = client.get(gap.get_absolute_url()).content.decode()
        assert "failing 21 days, since 2026-11-02" in page
        assert "Noticed by the portal" in page and "2026-11-23 12:00" in page


def test_matrix_counts_days_from_since_and_never_shows_0d_for_an_undated_gap(alice_client, lonely):
    TechniqueChangeFactory(technique=lonely, maintainers=True, changed_at=NOW - timedelta(days=9))
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
        page = alice_client.get("/adherence/").content.decode()
        assert "✗ 9d" in page and "Failing 9 days, since 2026-11-14" in page
        Gap.objects.filter(technique=lonely).update(since=None)
        page = alice_client.get("/adherence/").content.decode()
    assert "✗ 0d" not in page and "start not dated" in page


def test_technique_label_fails_when_shared_and_names_the_other_techniques(pruning):
    TechniqueFactory(slug="pruning-2x4", github_labels=["technique:pruning"])
    failed = result(pruning, "technique-label")
    assert failed.status == Status.FAIL
    assert "pruning-2x4" in failed.summary
    assert failed.evidence["shared_with"] == {"technique:pruning": ["pruning-2x4"]}


def test_technique_label_fails_when_missing_from_the_repository_labels(pruning, monkeypatch):
    def repository_has(label):
        return lambda ts, now: {t.pk: {label} for t in ts}

    monkeypatch.setitem(engine.FACT_LOADERS, "repo_labels", repository_has("technique:qat"))
    failed = result(pruning, "technique-label")
    assert failed.status == Status.FAIL and "does not exist" in failed.summary
    monkeypatch.setitem(engine.FACT_LOADERS, "repo_labels", repository_has("technique:pruning"))
    assert result(pruning, "technique-label").status == Status.PASS


def test_a_label_missing_on_github_dates_from_the_evaluation_that_first_found_it(pruning):
    """GitHub keeps no history of labels: the gap claims no day before the portal saw the
    label missing, keeps that day while it lasts, and starts afresh after a fix."""
    pruning.launch_date = date(2019, 5, 1)
    pruning.save()
    LabelFactory(name="technique:qat")  # the repository is synced; pruning's label is not there
    first = NOW - timedelta(days=12)
    with time_machine.travel(first, tick=False):
        gaps_evaluate()
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
    gap = Gap.objects.get(technique=pruning, rule_id="technique-label")
    stored = pruning.rule_results.get(rule_id="technique-label")
    assert gap.since == stored.since == first == gap.opened_at
    assert gap.days_failing(NOW) == 12

    label = LabelFactory(name="technique:pruning")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        gaps_evaluate()
    label.delete()
    again = NOW + timedelta(days=2)
    with time_machine.travel(again, tick=False):
        gaps_evaluate()
    reopened = Gap.objects.unresolved().get(technique=pruning, rule_id="technique-label")
    assert reopened.since == again


def test_technique_page_says_when_a_review_is_overdue(client, pruning):
    ReviewFactory(cycle__year=2026, cycle__half=1, technique=pruning)  # due 30 June 2026
    with time_machine.travel(NOW, tick=False):
        page = client.get("/techniques/pruning/").content.decode()
    assert "The 2026 H1 review was due on 2026-06-30 and is 146 days overdue" in page


def test_gap_state_changes_are_methods_of_the_gap(pruning):
    gap = Gap(technique=pruning, rule_id="x", severity="low", opened_at=NOW, since=NOW)
    event = gap.waive(None, "why", date(2026, 12, 1), NOW)
    assert gap.state == Gap.State.WAIVED and event.kind == "waived"
    assert not gap.waiver_expired(NOW) and gap.waiver_expired(NOW + timedelta(days=9))
    assert gap.expire_waiver(NOW).kind == "waiver_expired" and gap.state == Gap.State.OPEN
    assert gap.resolve(NOW, "ok").kind == "resolved" and gap.resolved_at == NOW
    assert gap.since == NOW and timezone.is_aware(gap.since)


def test_weekly_digest_says_since_when_each_gap_fails(carol, lonely, settings):
    from django.core import mail

    from adherence.services import digest_send

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    carol.email = "carol@example.org"
    carol.save()
    TechniqueChangeFactory(technique=lonely, maintainers=True, changed_at=NOW - timedelta(days=12))
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
        assert digest_send()
    assert "two-maintainers (open, failing 12 days, since 2026-11-11)" in mail.outbox[-1].body

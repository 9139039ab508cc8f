"""The demo end to end: the loader stores what the nightly workflow reported and nothing
of a bisection; the worker's passes then find, verify and revert QAT's culprit and bisect
the metric shift inside its tolerance, against the demo's GitHub-shaped server."""

from collections import defaultdict

import pytest
from django.core.management import call_command

from convergence.bisection import budget
from convergence.bisection_services import Clients, bisections_advance
from convergence.models import Bisection, ChangePoint, ConvergenceRun, ConvergenceTest, Revert
from fake_github.demo import RED_TEST, SHIFTED_TEST
from github import GitHubClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings, demo_github):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.GITHUB_REPOSITORY = demo_github.dataset.full_name
    demo_github.dataset.run_timing = (0.0, 0.0)  # dispatched runs report at once
    call_command("load_demo")
    return demo_github.dataset


def test_the_loader_stores_the_nightly_results_and_starts_no_bisection(demo):
    assert not Bisection.objects.exists() and not Revert.objects.exists()
    red = ConvergenceTest.objects.get(technique__slug="qat", name=RED_TEST.split("/")[1])
    assert red.alert_open
    assert red.runs.filter(source=ConvergenceRun.Source.ACTIONS).count() == red.runs.count() > 20
    # The runner was down three nights before the first red one: the range holds them all.
    culprit = demo.behaviours[RED_TEST].culprit
    base, head = (
        demo.commit_index(red.last_good_run.tfmot_sha),
        demo.commit_index(red.first_bad_run.tfmot_sha),
    )
    assert base < demo.commit_index(culprit) <= head and head - base == 8

    # Every demo run follows the commit history: one date per commit.
    dates = {c.sha: c.date for c in demo.commits}
    days = defaultdict(set)
    for sha, started in ConvergenceRun.objects.values_list("tfmot_sha", "started_at"):
        assert dates[sha] <= started  # a run tests a commit that existed when it started
        days[sha].add(started.date())
    assert not {s[:7]: on for s, on in days.items() if len(on) > 1}


def test_the_worker_verifies_the_culprit_and_opens_the_draft_revert(demo):
    clients = Clients(lambda repo: GitHubClient(repo, backoff=0.01))
    for _ in range(40):
        bisections_advance(clients)
        if Bisection.objects.count() == 2 and all(b.is_finished for b in Bisection.objects.all()):
            break
    red = Bisection.objects.get(trigger=Bisection.Trigger.RED_STREAK)
    culprit = demo.commits[demo.commit_index(demo.behaviours[RED_TEST].culprit)]
    assert red.state == Bisection.State.VERIFIED, red.reason
    assert red.culprit_sha == culprit.sha and red.culprit_pr == culprit.pr_number
    assert red.runs_dispatched <= budget(len(red.commits))
    revert = red.reverts.get()
    assert revert.draft and revert.automatic and revert.url.endswith(f"/pull/{revert.number}")
    assert demo.reverts == {culprit.pr_number: revert.number, **demo.reverts}

    # The resnet50 series shifted by -0.2 points, inside the target's 0.3 tolerance.
    shifted = Bisection.objects.get(trigger=Bisection.Trigger.CHANGE_POINT)
    point = ChangePoint.objects.get(pk=shifted.change_point_id)
    target = point.test.targets.get(metric="top1_accuracy")
    assert str(point.test) == SHIFTED_TEST and point.regression
    assert point.after_mean >= target.documented_value - target.tolerance
    assert shifted.state == Bisection.State.VERIFIED, shifted.reason
    assert shifted.culprit_sha == demo.behaviours[SHIFTED_TEST].shift_at
    # The red test's own metric drop is part of its red streak: no second search for it.
    assert not Bisection.objects.filter(test=red.test, trigger="change_point").exists()

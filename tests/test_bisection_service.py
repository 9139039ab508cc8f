"""Bisections against the GitHub-shaped server: dispatch, read the results back,
verify, revert; and every way they stop."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from convergence.bisection import budget
from convergence.bisection_services import Clients, bisections_advance, revert_open
from convergence.models import Bisection, BisectionStep, ChangePoint, ConvergenceRun, Revert
from convergence.services import convergence_state_update
from fake_github.actions import Behaviour, Workflow
from github import GitHubClient
from tests.factories import ConvergenceRunFactory, RevertFactory

WORKFLOW = Workflow(
    ".github/workflows/convergence.yml", "Convergence tests", {"sha": True, "test": True}
)


@pytest.fixture
def world(fake_github, settings, resnet):
    """pruning/resnet50 passed at commit -12 and fails from -6 on: an alert whose range
    is the six commits -11..-6, the culprit -8 (the server's data decides it)."""
    ds = fake_github.dataset
    ds.workflows["convergence.yml"] = WORKFLOW
    ds.run_timing = (0.0, 0.0)
    settings.GITHUB_API_URL, settings.GITHUB_TOKEN = fake_github.url, ""
    settings.GITHUB_REPOSITORY = ds.full_name
    settings.BISECTION_WORKFLOW = "convergence.yml"
    commits = [c.sha for c in ds.commits]
    culprit = commits[-8]
    ds.behaviours[str(resnet)] = Behaviour(culprit=culprit)
    now = timezone.now()
    for i, (sha, outcome) in enumerate(
        [(commits[-12], "passed"), (commits[-6], "failed"), (commits[-5], "failed")]
    ):
        ConvergenceRunFactory(
            test=resnet, tfmot_sha=sha, outcome=outcome, started_at=now - timedelta(days=3 - i)
        )
    convergence_state_update(resnet)
    assert resnet.alert_open
    return {"ds": ds, "commits": commits, "culprit": culprit, "test": resnet}


def clients():
    return Clients(lambda repo: GitHubClient(repo, backoff=0.01))


def run_to_end(passes=30):
    made = clients()
    for _ in range(passes):
        bisections_advance(made)
        bisection = Bisection.objects.get()
        if bisection.is_finished:
            return bisection
    raise AssertionError(f"not finished: {bisection.state} {bisection.reason}")


def test_bisection_finds_and_verifies_the_culprit_by_running_the_test(world):
    bisection = run_to_end()
    assert bisection.state == Bisection.State.VERIFIED and bisection.verified
    assert bisection.culprit_sha == world["culprit"]
    assert bisection.culprit_parent_sha == world["commits"][-9]
    assert len(bisection.commits) == 6
    assert bisection.runs_dispatched <= budget(6)
    steps = list(bisection.steps.all())
    assert all(s.run_id and s.run_url for s in steps)
    assert {s.purpose for s in steps} == {
        BisectionStep.Purpose.SEARCH,
        BisectionStep.Purpose.VERIFY,
    }
    # The runs went through workflow dispatch with the commit and test as inputs.
    dispatched = world["ds"].dispatched.values()
    assert {d["test"] for d in dispatched} == {"pruning/resnet50"}
    # Re-runs do not enter the test's history: its state stays what the nightlies say.
    assert not ConvergenceRun.objects.filter(source=ConvergenceRun.Source.ACTIONS).exists()
    world["test"].refresh_from_db()
    assert world["test"].alert_open
    # A second pass changes nothing and starts no second bisection (one per alert).
    bisections_advance(clients())
    assert Bisection.objects.count() == 1
    assert Bisection.objects.get().runs_dispatched == bisection.runs_dispatched


def test_a_commit_whose_run_errors_is_run_again(world):
    ds, commits = world["ds"], world["commits"]
    ds.behaviours[str(world["test"])].errors_at = {c: 1 for c in commits[-11:-6]}
    bisection = run_to_end()
    reruns = [s for s in bisection.steps.all() if s.attempt == 2 and s.purpose == "search"]
    assert reruns, "an errored run was not repeated"
    assert bisection.state in {Bisection.State.VERIFIED, Bisection.State.INCONCLUSIVE}
    if bisection.state == Bisection.State.INCONCLUSIVE:
        assert "budget" in bisection.reason
    assert bisection.runs_dispatched <= budget(6)


def test_verification_failing_ends_inconclusive(world):
    # A flaky test: the culprit's re-run may pass. The seed-chosen runs disagree.
    behaviour = world["ds"].behaviours[str(world["test"])]
    behaviour.culprit = ""  # nothing really breaks: failures are noise
    behaviour.flaky = 0.5
    bisection = run_to_end()
    assert bisection.state == Bisection.State.INCONCLUSIVE
    assert bisection.reason
    assert bisection.runs_dispatched <= budget(6)


def test_an_unknown_workflow_ends_inconclusive_and_says_why(world, settings):
    settings.BISECTION_WORKFLOW = "nightly.yml"
    bisection = run_to_end()
    assert bisection.state == Bisection.State.INCONCLUSIVE
    assert "GitHub refused to run nightly.yml" in bisection.reason and "404" in bisection.reason
    assert bisection.runs_dispatched == 0


def test_a_refused_input_ends_inconclusive_with_githubs_message(world, settings):
    settings.BISECTION_SHA_INPUT = "commit"  # the workflow's input is "sha"
    bisection = run_to_end()
    assert bisection.state == Bisection.State.INCONCLUSIVE
    assert "422" in bisection.reason and "Unexpected inputs provided" in bisection.reason


def test_runs_that_never_report_end_inconclusive(world, settings):
    world["ds"].workflows["convergence.yml"] = Workflow(
        WORKFLOW.path, WORKFLOW.name, WORKFLOW.inputs, hang=True
    )
    made = clients()
    bisections_advance(made)  # dispatched
    bisection = Bisection.objects.get()
    assert bisection.state == Bisection.State.RUNNING and bisection.runs_dispatched >= 1
    bisections_advance(made, now=timezone.now() + timedelta(hours=7))
    bisection.refresh_from_db()
    assert bisection.state == Bisection.State.INCONCLUSIVE
    assert "never reported within 6 h" in bisection.reason
    assert BisectionStep.Status.NO_RESULT in {s.status for s in bisection.steps.all()}


def test_concurrent_dispatches_per_repository_are_capped(world, settings):
    settings.BISECTION_MAX_CONCURRENT = 1
    world["ds"].run_timing = (60.0, 60.0)  # runs stay out
    made = clients()
    for _ in range(3):
        bisections_advance(made)
    assert BisectionStep.objects.count() == 1


def test_a_regression_change_point_is_bisected_by_its_metric(world):
    ds, commits, test = world["ds"], world["commits"], world["test"]
    ConvergenceRun.objects.all().delete()
    convergence_state_update(test)
    shift_at = commits[-4]
    ds.behaviours[str(test)] = Behaviour(
        metric="top1", value=76.6, shift=-0.5, shift_at=shift_at, noise=0.05
    )
    now = timezone.now()
    before = ConvergenceRunFactory(
        test=test, tfmot_sha=commits[-7], metrics={"top1": 76.6}, started_at=now - timedelta(2)
    )
    after = ConvergenceRunFactory(
        test=test, tfmot_sha=commits[-2], metrics={"top1": 76.1}, started_at=now - timedelta(1)
    )
    assert before.pk
    ChangePoint.objects.create(
        test=test,
        metric="top1",
        run=after,
        sha=after.tfmot_sha,
        run_started_at=after.started_at,
        before_mean=76.6,
        after_mean=76.1,
        change_percent=-0.65,
        significance=0.001,
        regression=True,
    )
    bisection = run_to_end()
    assert bisection.trigger == Bisection.Trigger.CHANGE_POINT
    assert bisection.state == Bisection.State.VERIFIED
    assert bisection.culprit_sha == shift_at
    assert "nearer 76.1" in bisection.culprit_why


def test_a_change_point_inside_the_red_streaks_range_is_one_search(world):
    """A break that fails the test and shifts its metric at once: the red streak's
    bisection answers for both; the change point starts no second one."""
    test, first_bad = world["test"], world["test"].first_bad_run
    ChangePoint.objects.create(
        test=test,
        metric="top1",
        run=first_bad,
        sha=first_bad.tfmot_sha,
        run_started_at=first_bad.started_at,
        before_mean=76.6,
        after_mean=75.8,
        change_percent=-1.04,
        significance=0.001,
        regression=True,
    )
    made = clients()
    assert bisections_advance(made)["started"] == 1
    assert bisections_advance(made)["started"] == 0
    assert Bisection.objects.get().trigger == Bisection.Trigger.RED_STREAK


# --- the revert ---------------------------------------------------------------------------
@pytest.fixture
def verified(world):
    bisection = run_to_end()
    assert bisection.state == Bisection.State.VERIFIED and bisection.culprit_pr
    return bisection


def test_staff_open_a_draft_revert_that_names_the_runs_and_owners(
    verified, carol, world, mailoutbox
):
    revert = revert_open(verified, carol, clients())
    ds = world["ds"]
    pr = ds.issue(revert.number)
    assert revert.state == Revert.State.OPEN and pr.draft and pr.state == "open"
    assert ds.reverts[verified.culprit_pr] == revert.number
    assert pr.title.startswith("Revert ")
    assert "pruning/resnet50" in pr.body and f"/ci/bisections/{verified.pk}/" in pr.body
    assert "`alice`" in pr.body and "`dave`" in pr.body
    failing = verified.steps.get(purpose="verify", sha=verified.culprit_sha)
    assert failing.run_url in pr.body
    comments = [c for c in ds.comments if c.issue_number == verified.culprit_pr]
    assert comments and revert.url in comments[-1].body
    assert mailoutbox and f"#{verified.culprit_pr}" in mailoutbox[0].subject


def test_never_two_reverts_for_one_culprit(verified, carol):
    revert_open(verified, carol, clients())
    with pytest.raises(ValidationError, match="has a revert already"):
        revert_open(verified, carol, clients())
    assert Revert.objects.count() == 1
    with pytest.raises(IntegrityError):
        RevertFactory(repository=verified.repository, culprit_pr=verified.culprit_pr)


@pytest.mark.django_db(transaction=True)
def test_two_presses_at_once_open_one_revert(world, carol):
    bisection = run_to_end()
    errors = []

    def press():
        try:
            revert_open(Bisection.objects.get(pk=bisection.pk), carol, clients())
        except ValidationError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Revert.objects.count() == 1 and len(errors) == 1
    assert len(world["ds"].reverts) == 1


def test_the_mutations_refusal_is_kept_and_staff_may_try_again(verified, carol, world):
    world["ds"].unrevertable.add(verified.culprit_pr)
    with pytest.raises(ValidationError, match="UNPROCESSABLE"):
        revert_open(verified, carol, clients())
    revert = Revert.objects.get()
    assert revert.state == Revert.State.FAILED and "do not revert cleanly" in revert.error
    world["ds"].unrevertable.clear()
    assert revert_open(verified, carol, clients()).state == Revert.State.OPEN


def test_an_already_reverted_pr_is_refused_by_github(verified, carol, world):
    world["ds"].reverts[verified.culprit_pr] = 1  # reverted by hand on GitHub
    with pytest.raises(ValidationError, match="already been reverted"):
        revert_open(verified, carol, clients())


def test_the_mutation_answers_not_found_for_an_unknown_pull_request(github_client):
    from github import GraphQLError

    with pytest.raises(GraphQLError) as raised:
        github_client.revert_pull_request("PR_999999", "Revert", "", draft=True)
    assert raised.value.kind == "NOT_FOUND"


def test_only_staff_may_open_a_revert(verified, alice):
    with pytest.raises(PermissionDenied):
        revert_open(verified, alice, clients())
    assert not Revert.objects.exists()


def test_auto_revert_opens_it_where_the_technique_allows(world, settings):
    technique = world["test"].technique
    technique.auto_revert = True
    technique.save()
    settings.AUTO_REVERT = False
    bisection = run_to_end()
    revert = Revert.objects.get()
    assert revert.automatic and revert.bisection == bisection and revert.url


def test_no_auto_revert_by_default(world):
    run_to_end()
    assert not Revert.objects.exists()


def test_the_revert_is_followed_until_the_test_passes_again(verified, carol, world):
    revert = revert_open(verified, carol, clients())
    ds = world["ds"]
    ds.update_issue(revert.number, timezone.now(), state="closed", merged_at=timezone.now())
    test = world["test"]
    for i in range(2):
        ConvergenceRunFactory(
            test=test,
            tfmot_sha=world["commits"][-1],
            started_at=timezone.now() + timedelta(hours=i + 1),
        )
    convergence_state_update(test, now=timezone.now() + timedelta(hours=3))
    assert not test.alert_open
    bisections_advance(clients())
    revert.refresh_from_db()
    assert revert.state == Revert.State.MERGED and revert.closed_alert_at


def test_a_pass_starts_no_other_search_once_github_does_not_answer(world):
    """Unreachable GitHub: the first range's fetch fails (after the client's retries) and
    the pass stops there, instead of holding a worker through every range's retries."""
    from convergence.bisection_services import bisections_start
    from convergence.models import CulpritRange
    from tests.factories import ConvergenceTestFactory

    resnet, commits = world["test"], world["commits"]
    other = ConvergenceTestFactory(technique=resnet.technique, name="mobilenet_v2")
    now = timezone.now()
    runs = [(commits[-12], "passed"), (commits[-6], "failed"), (commits[-5], "failed")]
    for i, (sha, outcome) in enumerate(runs):
        ConvergenceRunFactory(
            test=other, tfmot_sha=sha, outcome=outcome, started_at=now - timedelta(days=3 - i)
        )
    convergence_state_update(other)
    assert other.alert_open
    down = Clients(lambda repo: GitHubClient(repo, base_url="http://127.0.0.1:9", backoff=0.01))
    assert bisections_start(down) == 0
    assert CulpritRange.objects.exclude(error="").count() == 1  # one fetch, then it stopped
    assert bisections_start(clients()) == 2  # GitHub back: the next pass starts both

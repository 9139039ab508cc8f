"""The bisection's search (convergence.bisection): plain functions, simulated runs."""

import math

import pytest

from convergence.bisection import Action, Verdict, budget, commit_verdict, metric_is_bad, plan

G, B, F = Verdict.GOOD, Verdict.BAD, Verdict.FLAKY


def shas(n):
    return [f"{i:040x}" for i in range(1, n + 1)]


def bisect(commits, culprit, *, rank=None, slots=1, flaky=(), wrong_parent=False):
    """Run the plan to its end against a test that fails from ``culprit`` on; ``flaky``
    commits error on their first run. Returns (final plan, runs dispatched, commits run)."""
    results, verification, dispatched, ran = {}, {}, 0, []
    first = commits.index(culprit)
    errored = set()

    def run(sha):
        if sha in flaky and sha not in errored:
            errored.add(sha)
            return F
        return B if sha in commits and commits.index(sha) >= first else G

    for _ in range(100):
        step = plan(
            commits,
            results,
            base="base",
            rank=rank,
            dispatched=dispatched,
            slots=slots,
            verification=verification,
        )
        if step.action != Action.DISPATCH:
            return step, dispatched, ran
        for sha in step.commits:
            dispatched += 1
            ran.append(sha)
            if step.culprit:
                verdict = G if sha == "base" else run(sha)
                if wrong_parent and sha == step.parent:
                    verdict = B
                verification.setdefault(sha, []).append(verdict)
            else:
                results.setdefault(sha, []).append(run(sha))
    raise AssertionError("the bisection never ended")


@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_every_culprit_of_ranges_of_1_2_7_and_64_commits_is_found_within_budget(n):
    commits = shas(n)
    for culprit in commits:
        step, dispatched, ran = bisect(commits, culprit)
        assert step.action == Action.VERIFIED, (n, culprit, step)
        assert step.culprit == culprit
        assert dispatched <= math.ceil(math.log2(n)) + 2 == budget(n)
        # Only the verification runs a commit twice; the head (known bad) never runs in
        # the search.
        search = ran[: len(ran) - 2]
        assert len(search) == len(set(search))
        assert commits[-1] not in search


def test_a_single_commit_is_only_verified_against_the_base():
    step, dispatched, ran = bisect(shas(1), shas(1)[0])
    assert step.action == Action.VERIFIED and step.parent == "base"
    assert dispatched == 2 and ran == [shas(1)[0], "base"]


def test_the_ranked_culprit_is_tested_first():
    commits = shas(7)
    culprit = commits[3]
    _, _, ran = bisect(commits, culprit, rank={culprit: 5})
    assert ran[0] in {culprit, commits[2]}


def test_n_th_section_runs_several_commits_at_once_when_the_budget_allows():
    commits = shas(3)
    step = plan(commits, {}, base="base", slots=3)
    assert step.action == Action.DISPATCH and len(step.commits) == 2
    for n in (7, 64):
        for culprit in shas(n):
            _, dispatched, _ = bisect(shas(n), culprit, slots=3)
            assert dispatched <= budget(n)


def test_a_flaky_commit_runs_again_and_the_culprit_is_still_found():
    commits = shas(7)
    culprit = commits[3]
    step, dispatched, ran = bisect(commits, culprit, rank={culprit: 3}, flaky={culprit})
    assert ran.count(culprit) >= 2  # the errored run was repeated
    assert step.action == Action.VERIFIED and step.culprit == culprit
    assert dispatched <= budget(7)


def test_a_commit_flaky_twice_ends_inconclusive():
    commits = shas(4)
    results = {commits[1]: [F, F]}
    step = plan(commits, results, base="base")
    assert step.action == Action.INCONCLUSIVE and "flaky" in step.reason


def test_verification_that_disagrees_is_not_verified():
    commits = shas(7)
    step, _, _ = bisect(commits, commits[4], wrong_parent=True)
    assert step.action == Action.UNVERIFIED
    assert "Not verified" in step.reason and step.culprit == commits[4]


def test_known_results_are_never_dispatched_again():
    commits = shas(8)
    results = {commits[3]: [G]}  # a nightly run already passed there
    step = plan(commits, results, base="base")
    assert commits[3] not in step.commits
    assert all(commits.index(s) > 3 for s in step.commits)


def test_waits_while_runs_are_out():
    commits = shas(8)
    assert plan(commits, {}, pending=[commits[3]]).action == Action.WAIT


def test_a_spent_budget_ends_inconclusive():
    commits = shas(8)
    step = plan(commits, {}, dispatched=budget(8) - 2)
    assert step.action == Action.INCONCLUSIVE and "budget" in step.reason


def test_commit_verdicts_and_the_metric_judge():
    assert commit_verdict([]) is None
    assert commit_verdict([F, G]) == G
    assert commit_verdict([G, B]) == F
    assert metric_is_bad(76.1, before_mean=76.6, after_mean=76.0)
    assert not metric_is_bad(76.5, before_mean=76.6, after_mean=76.0)

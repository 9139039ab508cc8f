"""Bisection of a culprit range by re-running the test: plain functions, no Django.

A range is the commits between the alert's last good run (``base``, known good) and its
first bad run (``head``, the last commit, known bad), oldest first. The culprit is the
first bad commit. Each call of :func:`plan` looks at what is known (the verdict of each
tested commit) and says what to do next: dispatch runs at some commits, wait for the
runs already dispatched, verify the culprit, or stop. The caller stores the verdicts;
nothing here keeps state, so a bisection survives any restart.

- **n-th section**: with room for ``k`` concurrent dispatches the candidates are cut in
  ``k + 1`` sections and ``k`` commits are tested at once, as long as the worst case still
  fits the budget (``k = 1`` is plain bisection, which always fits).
- **Ranked**: among the split points that keep the worst case within budget, the ones
  next to the most likely culprit (``rank``: the ranking of the PRs by the files they
  touch, ``convergence.services.culprit_rank``) come first, so a right ranking isolates
  the culprit in two runs.
- **Flaky**: a commit whose run errored, or whose attempts disagree, is re-run (at most
  ``MAX_ATTEMPTS`` times in all); still flaky, the bisection is inconclusive.
- **Verification**: once one commit is left, it and its parent run once more; only a
  failing culprit with a passing parent is verified.
- **Budget**: at most ``ceil(log2(commits)) + 2`` dispatches; a commit that already has
  a result is never dispatched again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

MAX_ATTEMPTS = 2  # runs of one commit during the search (the first and one re-run)
VERIFY_RUNS = 2  # the culprit and its parent, once more each


class Verdict(StrEnum):
    """What one run says about its commit."""

    GOOD = "good"  # the test passes: the culprit comes later
    BAD = "bad"  # the test fails: the culprit is this commit or an earlier one
    FLAKY = "flaky"  # no usable answer (errored, or attempts disagree): run again


class Action(StrEnum):
    DISPATCH = "dispatch"  # run the test at ``commits``
    WAIT = "wait"  # runs are out; nothing new to start
    VERIFIED = "verified"  # the culprit failed again and its parent passed again
    UNVERIFIED = "unverified"  # verification disagrees with the search
    INCONCLUSIVE = "inconclusive"  # stop; ``reason`` says why


@dataclass(frozen=True)
class Plan:
    action: Action
    commits: tuple[str, ...] = ()
    culprit: str = ""  # once found: the first bad commit
    parent: str = ""  # the commit before it (the range's base for the first commit)
    reason: str = ""
    remaining: tuple[str, ...] = field(default=())  # candidates still in the range


def budget(commits: int) -> int:
    """Dispatches a bisection of ``commits`` commits may use: ceil(log2(n)) + 2."""
    return math.ceil(math.log2(commits)) + VERIFY_RUNS if commits > 0 else 0


def search_cost(candidates: int) -> int:
    """Runs that isolate the culprit among ``candidates`` commits in the worst case."""
    return math.ceil(math.log2(candidates)) if candidates > 1 else 0


def commit_verdict(attempts: Sequence[Verdict]) -> Verdict | None:
    """The verdict of a commit from its runs' verdicts (None: no result yet). Attempts
    that disagree make it flaky; one good or bad answer settles it."""
    settled = {v for v in attempts if v != Verdict.FLAKY}
    if len(settled) > 1:
        return Verdict.FLAKY
    if settled:
        return settled.pop()
    return Verdict.FLAKY if attempts else None


def metric_is_bad(value: float, before_mean: float, after_mean: float) -> bool:
    """A re-run's verdict on a change point's metric: bad when its value lies nearer the
    mean after the shift than the mean before it. The one judge of change-point runs."""
    return abs(value - after_mean) < abs(value - before_mean)


def _split_points(
    candidates: Sequence[str], slots: int, search_left: int, rank: Mapping[str, float]
) -> list[int]:
    """Indexes ``p`` (test ``candidates[p]``; bad -> culprit at or before it) to test now:
    n-th section with as many points as fit the budget and the free slots, each point
    moved next to the most likely culprit when the worst case allows it."""
    m = len(candidates)
    # How many points at once: the most that still fit the remaining search budget.
    k = 1
    for width in range(min(slots, m - 1), 1, -1):
        if width + search_cost(math.ceil(m / (width + 1))) <= search_left:
            k = width
            break
    if k > 1:
        step = m / (k + 1)
        return sorted({min(m - 2, max(0, round(step * (i + 1)) - 1)) for i in range(k)})
    # One point: any p whose worse side still fits; prefer the likely culprit's edges.
    allowed = [
        p
        for p in range(m - 1)
        if 1 + max(search_cost(p + 1), search_cost(m - p - 1)) <= search_left
    ]
    if not allowed and search_left >= 1:
        # A re-run spent the slack: no point keeps the worst case within budget, so
        # test where the ranking says the culprit is and hope it is right.
        allowed = list(range(m - 1))
    ranked = sorted(
        (i for i, sha in enumerate(candidates) if rank.get(sha, 0) > 0),
        key=lambda i: (-rank[candidates[i]], -i),
    )
    for likely in ranked:
        # Test the likely culprit itself (bad: it or earlier), then its parent.
        for p in (likely, likely - 1):
            if p in allowed:
                return [p]
    middle = (m - 1) // 2
    return [min(allowed, key=lambda p: (abs(p - middle), p))]


def plan(
    commits: Sequence[str],
    results: Mapping[str, Sequence[Verdict]],
    *,
    pending: Sequence[str] = (),
    base: str = "",
    rank: Mapping[str, float] | None = None,
    dispatched: int = 0,
    slots: int = 1,
    verification: Mapping[str, Sequence[Verdict]] | None = None,
) -> Plan:
    """The next step of the bisection of ``commits`` (oldest first; the last is the
    known bad head, ``base`` the known good commit before the first).

    ``results``: the search's verdicts per commit (nightly runs count too); ``pending``:
    commits whose runs are out; ``dispatched``: runs dispatched so far; ``slots``: runs
    that may start now (the repository's cap minus its runs out); ``verification``: the
    verification runs' verdicts, per commit.
    """
    rank = rank or {}
    n = len(commits)
    if n == 0:
        return Plan(Action.INCONCLUSIVE, reason="The range holds no commit.")
    limit = budget(n)
    # Narrow the candidates with the settled verdicts: after the last good, up to the
    # first bad (the head is bad by definition of the alert).
    low, high = 0, n - 1  # candidates: commits[low..high]
    flaky: list[str] = []
    verdicts = {sha: commit_verdict(results.get(sha, ())) for sha in commits}
    for index, sha in enumerate(commits):
        verdict = verdicts[sha]
        if verdict == Verdict.BAD and index < high:
            high = index
    for index in range(high):
        if verdicts[commits[index]] == Verdict.GOOD:
            low = max(low, index + 1)
    for index in range(low, high):
        if verdicts[commits[index]] == Verdict.FLAKY:
            flaky.append(commits[index])
    candidates = list(commits[low : high + 1])
    if low > high:
        return Plan(Action.INCONCLUSIVE, reason="The results contradict each other.")
    if len(candidates) == 1:
        culprit = candidates[0]
        parent = commits[low - 1] if low > 0 else base
        return _verify(culprit, parent, verification or {}, pending, dispatched, limit)
    if pending:
        return Plan(Action.WAIT, remaining=tuple(candidates))
    search_left = limit - VERIFY_RUNS - dispatched
    spent = Plan(
        Action.INCONCLUSIVE,
        reason=f"The budget of {limit} runs is spent with {len(candidates)} commits left.",
        remaining=tuple(candidates),
    )
    if search_left <= 0:
        return spent
    # A flaky commit inside the range runs again while its attempts last.
    for sha in flaky:
        if len(results.get(sha, ())) >= MAX_ATTEMPTS:
            return Plan(
                Action.INCONCLUSIVE,
                reason=f"{sha[:7]} gave no steady result in {MAX_ATTEMPTS} runs (flaky).",
                remaining=tuple(candidates),
            )
    if flaky:
        return Plan(Action.DISPATCH, commits=(flaky[0],), remaining=tuple(candidates))
    points = _split_points(candidates, max(slots, 1), search_left, rank)
    if not points:
        return spent
    return Plan(
        Action.DISPATCH,
        commits=tuple(candidates[p] for p in points),
        remaining=tuple(candidates),
    )


def _verify(
    culprit: str,
    parent: str,
    verification: Mapping[str, Sequence[Verdict]],
    pending: Sequence[str],
    dispatched: int,
    limit: int,
) -> Plan:
    """One commit is left: run it and its parent once more; both must agree."""
    culprit_runs = verification.get(culprit, ())
    parent_runs = verification.get(parent, ()) if parent else (Verdict.GOOD,)
    missing = [sha for sha, runs in ((culprit, culprit_runs), (parent, parent_runs)) if not runs]
    if missing:
        if pending:
            return Plan(Action.WAIT, culprit=culprit, parent=parent, remaining=(culprit,))
        if dispatched + len(missing) > limit:
            return Plan(
                Action.INCONCLUSIVE,
                culprit=culprit,
                parent=parent,
                reason=f"The budget of {limit} runs leaves no run to verify {culprit[:7]}.",
                remaining=(culprit,),
            )
        return Plan(
            Action.DISPATCH,
            commits=tuple(missing),
            culprit=culprit,
            parent=parent,
            remaining=(culprit,),
        )
    if culprit_runs[-1] == Verdict.BAD and parent_runs[-1] == Verdict.GOOD:
        return Plan(Action.VERIFIED, culprit=culprit, parent=parent, remaining=(culprit,))
    said = (
        f"{culprit[:7]} {'failed' if culprit_runs[-1] == Verdict.BAD else 'did not fail'} "
        f"and its parent {parent[:7]} "
        f"{'passed' if parent_runs[-1] == Verdict.GOOD else 'did not pass'} on the re-run"
    )
    return Plan(
        Action.UNVERIFIED,
        culprit=culprit,
        parent=parent,
        reason=f"Not verified: {said}.",
        remaining=(culprit,),
    )

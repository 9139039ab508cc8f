"""Test states after TestGrid: failing, flaky, stale, passing; alerts and their runs."""

from datetime import datetime, timedelta

from django.utils import timezone

from convergence.models import State
from convergence.services import _flip_rate, convergence_state_compute
from tests.factories import ConvergenceRunFactory

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.get_fixed_timezone(0))


def runs(pattern: str, end=NOW):
    """'P' passed, 'F' failed, 'E' error, 'S' skipped; one a day, the last at ``end``."""
    names = {"P": "passed", "F": "failed", "E": "error", "S": "skipped"}
    return [
        ConvergenceRunFactory.build(
            outcome=names[c],
            started_at=end - timedelta(days=len(pattern) - 1 - i),
            tfmot_sha=f"{i:07x}",
        )
        for i, c in enumerate(pattern)
    ]


def state(pattern, **kw):
    return convergence_state_compute(runs(pattern, **kw), 24, NOW)


def test_no_runs():
    assert state("").state == State.NO_RUNS


def test_one_failure_does_not_open_an_alert():
    result = state("PPPPPPPPPPPPPF")
    assert not result.alert_open and result.state != State.FAILING


def test_two_consecutive_failures_open_an_alert_with_last_good_and_first_bad():
    history = runs("PPPPPPFF")
    result = convergence_state_compute(history, 24, NOW)
    assert result.state == State.FAILING and result.alert_open
    assert result.last_good is history[5] and result.first_bad is history[6]


def test_errors_count_as_failures_and_skips_are_ignored():
    result = state("PPPPFSE")
    assert result.alert_open


def test_one_pass_does_not_close_an_alert_two_do():
    assert state("PPPFFP").alert_open
    closed = state("PPPFFPP")
    assert not closed.alert_open and closed.last_good is None and closed.first_bad is None


def test_alert_keeps_the_first_bad_run_while_failures_go_on():
    history = runs("PPFFFFFF")
    result = convergence_state_compute(history, 24, NOW)
    assert result.first_bad is history[2] and result.last_good is history[1]


def test_flaky_at_twenty_percent_flip_rate():
    # 13 transitions over 14 runs: 3 flips = 23 % -> flaky; 2 flips = 15 % -> passing.
    assert state("PPPPPPPPPPPFPF").state == State.FLAKY  # 3 flips
    assert state("PPPPPPPPPPPPFP").state == State.PASSING  # 2 flips


def test_failure_streaks_of_three_do_not_count_as_flakiness():
    assert _flip_rate([True, True, False, False, False, True, True]) == 0.0
    assert _flip_rate([True, False, True, False, True]) == 1.0


def test_a_broken_test_is_failing_not_flaky():
    assert state("PFPFPFPFPFPPFF").state == State.FAILING


def test_stale_after_twice_the_cadence_wins_over_everything():
    assert state("PPFF", end=NOW - timedelta(hours=49)).state == State.STALE
    assert state("PPPP", end=NOW - timedelta(hours=47)).state == State.PASSING

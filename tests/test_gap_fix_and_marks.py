"""Small truths of the gap pages and the matrix: the fix a gap page gives follows the
technique's actual tests, and the matrix tells an acknowledged gap from an unanswered one."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from adherence.models import Gap
from adherence.services import gap_acknowledge, gaps_evaluate
from convergence.models import ConvergenceTest
from github_integration.gap_issues import issue_body
from tests.factories import ConvergenceTestFactory

pytestmark = pytest.mark.django_db


def _asks(client, gap) -> str:
    page = client.get(gap.get_absolute_url()).content.decode()
    found = re.search(r'<section aria-labelledby="duty-h".*?</section>', page, re.S)
    assert found
    return found.group(0)


def _speed_gap(technique) -> Gap:
    gaps_evaluate()
    return Gap.objects.unresolved().get(technique=technique, rule_id="training-speed-test")


def test_a_technique_without_a_training_speed_test_is_told_to_register_one(alice_client, pruning):
    gap = _speed_gap(pruning)
    asks = _asks(alice_client, gap)
    assert "Register a training speed test" in asks
    assert "Keep the training speed test passing" not in asks  # it has none to keep
    assert "culprit" not in asks
    assert "Register a training speed test" in issue_body(gap, "marker")


def test_a_failing_training_speed_test_is_told_to_find_the_culprit_and_revert(
    alice_client, pruning
):
    ConvergenceTestFactory(
        technique=pruning,
        name="resnet50-step-time",
        kind=ConvergenceTest.Kind.TRAINING_SPEED,
        state="failing",
        alert_open=True,
        failing_since=timezone.now() - timedelta(days=2),
    )
    gap = _speed_gap(pruning)
    asks = _asks(alice_client, gap)
    assert "culprit range" in asks and "revert" in asks
    assert "Register a training speed test" not in asks
    assert "culprit range" in issue_body(gap, "marker")


def test_the_matrix_marks_an_acknowledged_gap_and_its_legend_says_so(alice_client, alice, lonely):
    gaps_evaluate()
    answered = Gap.objects.unresolved().get(technique=lonely, rule_id="two-maintainers")
    gap_acknowledge(answered, alice, "Recruiting a second maintainer.")
    page = alice_client.get("/adherence/").content.decode()
    cells = re.findall(r'<td class="cell cell-fail[^"]*"[^>]*>.*?</td>', page, re.S)
    acknowledged = [c for c in cells if f"/adherence/gaps/{answered.pk}/" in c]
    others = [c for c in cells if f"/adherence/gaps/{answered.pk}/" not in c]
    assert len(acknowledged) == 1 and others
    assert "cell-acknowledged" in acknowledged[0] and " ack</span>" in acknowledged[0]
    assert "Acknowledged on " in acknowledged[0]  # in its title and for screen readers
    assert all("cell-acknowledged" not in c and " ack</span>" not in c for c in others)
    legend = page.split('class="legend"')[1].split("</p>")[0]
    assert "acknowledged by the owners" in legend

"""Health levels: severity x age of the open gaps, stored by the evaluation, shown on the
home page (sortable), the technique page, the badge, the API and the public health page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from adherence.health import gap_points, health_compute, level_for
from adherence.models import Gap
from adherence.services import gap_waive, gaps_evaluate
from techniques.models import HealthLevel, Technique
from tests.factories import TechniqueChangeFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_points_weigh_severity_and_age():
    assert gap_points("high", 0) == 10 and gap_points("medium", 0) == 3
    assert gap_points("low", 29) == 1 and gap_points("low", 30) == 2 and gap_points("low", 90) == 3
    # A red convergence test outweighs several missing release notes.
    assert gap_points("high", 0) > 3 * gap_points("low", 89)
    assert [level_for(p) for p in (0, 1, 9, 10, 29, 30)] == [
        HealthLevel.HEALTHY,
        HealthLevel.MINOR,
        HealthLevel.MINOR,
        HealthLevel.ATTENTION,
        HealthLevel.ATTENTION,
        HealthLevel.TROUBLE,
    ]


def test_waived_gaps_do_not_count_and_undated_ones_age_from_when_noticed():
    gaps = [
        Gap(severity="high", state="waived", opened_at=NOW, since=NOW),
        Gap(severity="low", state="open", opened_at=NOW - timedelta(days=40), since=None),
    ]
    assert health_compute(gaps, NOW) == (HealthLevel.MINOR, 2)


@pytest.fixture
def lonely(lonely):
    """One active maintainer since 10 days ago: a high-severity gap."""
    TechniqueChangeFactory(technique=lonely, maintainers=True, changed_at=NOW - timedelta(days=10))
    return lonely


def test_health_is_stored_by_the_evaluation_and_grows_with_the_gap_age(lonely, carol):
    assert lonely.health_level == HealthLevel.UNKNOWN
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
    lonely.refresh_from_db()
    base = lonely.health_points
    assert lonely.health_level in (HealthLevel.ATTENTION, HealthLevel.TROUBLE) and base >= 10
    with time_machine.travel(NOW + timedelta(days=25), tick=False):
        gaps_evaluate()  # the two-maintainers gap is now 35 days old: twice the weight
    lonely.refresh_from_db()
    assert lonely.health_points >= base + 10 and lonely.health_level == HealthLevel.TROUBLE
    gap = Gap.objects.get(technique=lonely, rule_id="two-maintainers")
    with time_machine.travel(NOW + timedelta(days=26), tick=False):
        gap_waive(gap, carol, "Agreed.", (NOW + timedelta(days=60)).date())
    lonely.refresh_from_db()
    assert lonely.health_points < base  # at once, not at the next evaluation
    waived = lonely.health_points
    with time_machine.travel(NOW + timedelta(days=26), tick=False):
        gaps_evaluate()
    lonely.refresh_from_db()
    assert lonely.health_points == waived


def test_health_shows_everywhere_from_the_stored_level(client, lonely, clustering):
    with time_machine.travel(NOW, tick=False):
        gaps_evaluate()
    lonely.refresh_from_db()
    clustering.refresh_from_db()
    label = lonely.get_health_level_display()
    home = client.get("/?sort=health").content.decode()
    # Sorted worst first within the TOS section; every display links to the explanation.
    assert f'href="/health/#level-{lonely.health_level}"' in home
    page = client.get("/techniques/pruning/").content.decode()
    assert label in page and 'href="/health/#level-' in page
    badge = client.get("/badges/pruning.svg").content.decode()
    assert label.lower() in badge
    api = client.get("/api/techniques/pruning/").json()
    assert api["health_level"] == lonely.health_level
    assert api["health_points"] == lonely.health_points
    ordered = client.get("/api/techniques/?ordering=-health_points").json()["results"]
    assert [t["health_points"] for t in ordered] == sorted(
        [t["health_points"] for t in ordered], reverse=True
    )


def test_home_sorts_by_health_worst_first(client, pruning):
    from tests.factories import TechniqueFactory

    Technique.objects.filter(pk=pruning.pk).update(health_level="minor", health_points=3)
    TechniqueFactory(name="A worse one", health_level="trouble", health_points=40)
    TechniqueFactory(name="B fine one", health_level="healthy", health_points=0)
    page = client.get("/?sort=health").content.decode().split("<main")[1]
    assert page.index("A worse one") < page.index("Weight pruning") < page.index("B fine one")
    by_name = client.get("/").content.decode().split("<main")[1]
    assert (
        by_name.index("A worse one") < by_name.index("B fine one") < by_name.index("Weight pruning")
    )


def test_health_page_lists_every_rule_with_weight_policy_and_fix(client):
    from adherence.engine import RULES

    page = client.get("/health/").content.decode()
    assert "How a technique" in page
    for rule in RULES.values():
        assert f'id="rule-{rule.id}"' in page
    assert "Has its own GitHub label" in page and "medium (3)" in page
    assert "Create a label for this technique alone" in page
    assert "never before the ownership policy took effect on 26 March 2020" in page
    assert 'href="/health/"' in client.get("/").content.decode()  # linked from the footer


def test_every_rule_reads_the_same_on_the_health_page_its_gap_page_and_its_github_issue(
    client, carol, pruning
):
    """One policy sentence and one fix per rule: the health page, a gap page and the
    GitHub issue filed for a gap all show the rule's own."""
    import re

    from django.utils.html import escape

    from adherence.engine import RULES
    from github_integration.gap_issues import issue_body
    from tests.factories import GapFactory

    health = client.get("/health/").content.decode()
    client.force_login(carol)
    for rule in RULES.values():
        row = re.search(rf'<tr id="rule-{rule.id}">.*?</tr>', health, re.S).group(0)
        assert escape(rule.source) in row and escape(rule.fix) in row, rule.id
        gap = GapFactory(technique=pruning, rule_id=rule.id)
        page = client.get(gap.get_absolute_url()).content.decode()
        asks = re.search(r'<section aria-labelledby="duty-h".*?</section>', page, re.S).group(0)
        assert escape(rule.source) in asks and escape(rule.fix) in asks, rule.id
        body = issue_body(gap, "marker")
        assert f"> {rule.source}" in body and rule.fix in body, rule.id

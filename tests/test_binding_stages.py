"""Duties bind when the policy says: from launch, once the contribution process is done
(a few from the proposal). Before its stage a rule is N/A, opens no gap and weighs
nothing in health; the technique's page shows its contribution checklist instead."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from adherence import engine
from adherence.engine import Status, day_start
from adherence.models import Gap, RuleResult
from adherence.services import gaps_evaluate
from ci_status import services as ci_services
from ci_status.models import Repository
from lifecycle.services import technique_launch
from techniques.models import HealthLevel, Stage, Technique
from tests.factories import (
    IssueFactory,
    MaintainerFactory,
    OwnerGroupFactory,
    RepositoryFactory,
    TechniqueFactory,
)

pytestmark = pytest.mark.django_db
LABEL = "technique:weight-sharing"


@pytest.fixture
def proposal(settings):
    """A proposed research technique by a group of two, whose label the repository lacks,
    with a question in its label waiting for 40 days."""
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    RepositoryFactory()
    group = OwnerGroupFactory(name="LLM Compression Contributors", slug="llm")
    MaintainerFactory(group=group, github_login="grace")
    MaintainerFactory(group=group, github_login="heidi")
    technique = TechniqueFactory(
        slug="weight-sharing",
        name="Weight sharing for LLM layers",
        owner_group=group,
        tos_level="research",
        stage=Stage.PROPOSED,
        launch_date=None,
        github_labels=[LABEL],
    )
    IssueFactory(created_at=timezone.now() - timedelta(days=40), labels=[LABEL])
    return technique


def evaluated(technique: Technique) -> Technique:
    for repository in Repository.objects.all():
        ci_services.community_refresh(repository, None, timezone.now())
    gaps_evaluate()
    return Technique.objects.get(pk=technique.pk)


def test_a_proposed_technique_has_no_gaps_and_no_health_penalty(proposal):
    technique = evaluated(proposal)
    assert not Gap.objects.open().filter(technique=technique).exists()
    assert technique.health_level == HealthLevel.HEALTHY and technique.health_points == 0
    waiting = RuleResult.objects.get(technique=technique, rule_id="questions-answered")
    assert waiting.status == Status.NA
    assert waiting.summary == "Binds from launch; the technique is proposed."
    # The contribution process's own rules bind already: a group of 2+.
    group = RuleResult.objects.get(technique=technique, rule_id="two-maintainers")
    assert group.status == Status.PASS


def test_the_same_technique_gets_its_gaps_at_launch_dated_from_the_launch(proposal, carol):
    evaluated(proposal)
    launch_day = timezone.localdate() - timedelta(days=20)
    technique_launch(proposal, carol, launch_date=launch_day, override="Demo launch")
    technique = evaluated(proposal)
    gaps = {gap.rule_id: gap for gap in Gap.objects.open().filter(technique=technique)}
    assert {"questions-answered", "technique-label"} <= set(gaps)
    assert technique.health_points > 0 and technique.health_level != HealthLevel.HEALTHY
    # The question has waited 40 days, but the duty to answer it (within 14 days) binds
    # from the launch: late since 14 days after it, not since 26 days ago.
    assert gaps["questions-answered"].since == day_start(launch_day) + timedelta(days=14)


def test_a_question_waiting_since_before_a_recent_launch_is_not_late_yet(proposal, carol):
    technique_launch(proposal, carol, override="Launched today")
    evaluated(proposal)
    waiting = RuleResult.objects.get(technique=proposal, rule_id="questions-answered")
    assert waiting.status == Status.PASS


def test_a_proposed_techniques_page_shows_its_checklist_not_gaps(client, proposal, carol):
    evaluated(proposal)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Contribution checklist" in page and "0 of 12</strong> steps done" in page
    assert "Answer questions in issues (binds from launch)" in page
    assert "✗ not met" not in page

    launch_day = timezone.localdate() - timedelta(days=20)
    technique_launch(proposal, carol, launch_date=launch_day, override="Demo launch")
    evaluated(proposal)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Contribution checklist" not in page and "binds from launch" not in page
    assert "✗ not met</span> Answer questions in issues" in page


def test_a_rules_page_says_from_when_it_binds(client):
    page = client.get("/adherence/rules/questions-answered/").content.decode()
    assert "<strong>Binds</strong> from launch (N/A before" in page
    page = client.get("/adherence/rules/owner-group/").content.decode()
    assert "<strong>Binds</strong> from the proposal" in page


def test_a_rule_binds_from_its_stage_until_the_one_it_stops_at():
    rule = engine.RULES["convergence-test-exists"]
    assert [stage for stage in Stage.values if rule.binds_in(stage)] == [
        Stage.LAUNCHED,
        Stage.DEPRECATING,
    ]
    assert rule.binding_stages == "from launch until deprecated"
    review = engine.RULES["review-due"]
    assert review.binds_in(Stage.IN_DEVELOPMENT) and not review.binds_in(Stage.PROPOSED)


def test_the_engine_refuses_an_entry_without_a_stage_or_with_an_unknown_one(monkeypatch):
    entry = dict(engine.CATALOG["ci-green"])
    check = engine.RULES["ci-green"].check
    monkeypatch.setitem(engine.CATALOG, "ci-green", {**entry, "binds_from": "launch"})
    with pytest.raises(ImproperlyConfigured, match="unknown TOS level or stage"):
        engine.Rule.from_catalog("ci-green", check)
    del entry["binds_from"]
    monkeypatch.setitem(engine.CATALOG, "ci-green", entry)
    with pytest.raises(ImproperlyConfigured, match=r"missing \['binds_from'\]"):
        engine.Rule.from_catalog("ci-green", check)

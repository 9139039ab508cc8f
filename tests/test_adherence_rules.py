"""Registry rules: pass, fail, N/A by TOS or stage, and threshold edges."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from adherence import engine
from adherence.engine import Status
from techniques.models import Maintainer
from tests.factories import MaintainerFactory, OwnerGroupFactory, TechniqueFactory

pytestmark = pytest.mark.django_db


def now():
    return datetime(2026, 11, 23, 12, tzinfo=timezone.get_current_timezone())


def result(technique, rule_id, at=None):
    return engine.evaluate([technique], at or now(), rule_ids=[rule_id])[(technique.pk, rule_id)]


def test_owner_group_fails_without_a_group():
    technique = TechniqueFactory(owner_group=None)
    assert result(technique, "owner-group").status == Status.FAIL
    assert result(TechniqueFactory(), "owner-group").status == Status.PASS


def test_two_maintainers_edge_and_emeritus_do_not_count(pruning):
    assert result(pruning, "two-maintainers").status == Status.PASS
    Maintainer.objects.filter(github_login="dave").update(status="emeritus")
    failed = result(pruning, "two-maintainers")
    assert failed.status == Status.FAIL
    assert "1 active maintainer;" in failed.summary


def test_technique_label_missing_fails_and_passes_when_present(pruning):
    assert result(pruning, "technique-label").status == Status.PASS
    pruning.github_labels = []
    assert result(pruning, "technique-label").status == Status.FAIL


def test_technique_label_must_exist_on_the_repository_once_synced(pruning, monkeypatch):
    monkeypatch.setitem(
        engine.FACT_LOADERS, "repo_labels", lambda ts, now: {t.pk: {"other"} for t in ts}
    )
    failed = result(pruning, "technique-label")
    assert failed.status == Status.FAIL and "does not exist" in failed.summary


def test_maintainers_active_is_not_applicable_without_github_data(pruning, monkeypatch):
    for loader in ("repo_labels", "maintainer_activity"):
        monkeypatch.delitem(engine.FACT_LOADERS, loader, raising=False)
    na = result(pruning, "maintainers-active")
    assert na.status == Status.NA and "No GitHub data yet" in na.summary


def test_maintainers_active_threshold_edge(pruning, monkeypatch):
    twelve_months = timedelta(days=round(12 * 30.44))
    activity = {
        "alice": now() - twelve_months + timedelta(days=1),
        "dave": now() - timedelta(days=3),
    }
    monkeypatch.setitem(
        engine.FACT_LOADERS,
        "repo_labels",
        lambda ts, at: {t.pk: {"technique:pruning"} for t in ts},
    )
    monkeypatch.setitem(
        engine.FACT_LOADERS,
        "maintainer_activity",
        lambda ts, at: {t.pk: dict(activity) for t in ts},
    )
    assert result(pruning, "maintainers-active").status == Status.PASS
    activity["alice"] = now() - twelve_months - timedelta(days=1)
    failed = result(pruning, "maintainers-active")
    assert failed.status == Status.FAIL and "@alice" in failed.summary


def test_api_tests_three_month_edge_and_research_is_not_applicable(pruning, clustering):
    pruning.api_tests_confirmed_on = None
    pruning.launch_date = date(2026, 8, 23)  # exactly 3 months before NOW
    assert result(pruning, "api-tests").status == Status.PASS
    pruning.launch_date = date(2026, 7, 22)
    assert result(pruning, "api-tests").status == Status.FAIL
    pruning.api_tests_confirmed_on = date(2026, 10, 1)
    assert result(pruning, "api-tests").status == Status.PASS
    na = result(clustering, "api-tests")
    assert na.status == Status.NA and "research" in na.summary


def test_api_tests_not_applicable_before_launch():
    technique = TechniqueFactory(stage="in_development", launch_date=None)
    assert result(technique, "api-tests").status == Status.NA


def test_all_rules_for_many_techniques_cost_a_fixed_number_of_queries():
    counts = []
    for size in (3, 30):
        for _ in range(size):
            MaintainerFactory.create_batch(2, group=OwnerGroupFactory())
        techniques = [TechniqueFactory() for _ in range(size)]
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            engine.evaluate(techniques, now())
        counts.append(len(queries))
    assert counts[0] == counts[1]

"""Every main page runs the same number of queries with 3 and with 30 techniques."""

from datetime import timedelta

import pytest
from auditlog.context import disable_auditlog
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adherence.models import Campaign, Gap
from adherence.services import gaps_evaluate
from convergence.models import ConvergenceRun
from convergence.services import convergence_states_refresh
from reviews.services import cycles_ensure
from tests.factories import (
    BenefitTargetFactory,
    CIRunFactory,
    ConvergenceRunFactory,
    ConvergenceTestFactory,
    MaintainerFactory,
    RemediationFactory,
    RepositoryFactory,
    TechniqueFactory,
    TOSChangeRequestFactory,
    WaiverRequestFactory,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/me/",
    "/groups/",
    "/groups/{group}/",
    "/search/?q=a",
    "/ci/?tos=production&state=failing",
    "/reviews/?view=overdue",
    "/reviews/?view=cycle",
    "/techniques/{slug}/",
    "/owners/",
    "/owners/CODEOWNERS",
    "/pipeline/",
    "/ci/",
    "/ci/runs/{run}/",
    "/releases/",
    "/releases/?sha=abcdef1",
    "/adherence/",
    "/adherence/trend/",
    "/reviews/",
    "/sync/",
    "/sync/triage/",
    "/lifecycle/ownership/",
    "/audit/",
    "/api/techniques/",
    "/api/groups/",
    "/api/maintainers/",
    "/api/gaps/",
    "/api/rule-results/",
    "/api/convergence/tests/",
    "/api/convergence/runs/",
    "/api/reviews/",
    "/adherence/campaigns/",
    "/adherence/campaigns/{campaign}/",
    "/adherence/rules/training-speed-test/",
    "/adherence/waiver-requests/",
    "/adherence/gaps/{gap}/",
    "/lifecycle/tos-requests/",
]


def grow(count: int) -> None:
    now = timezone.now()
    for _ in range(count):
        technique = TechniqueFactory()
        MaintainerFactory(group=technique.owner_group)
        test = ConvergenceTestFactory(technique=technique)
        BenefitTargetFactory(test=test, metric="top1", documented_value=76.0, tolerance=0.3)
        for d in range(10):
            ConvergenceRunFactory(
                test=test,
                started_at=now - timedelta(days=d),
                outcome=ConvergenceRun.Outcome.PASSED if d % 3 else ConvergenceRun.Outcome.FAILED,
                metrics={"top1": 76.1},
                tfmot_sha="abcdef1",
            )
    # The head of the default branch, as a sync saw it: /releases/ answers for it.
    CIRunFactory(repository=RepositoryFactory(), head_sha="abcdef1" + "0" * 33)
    convergence_states_refresh()
    cycles_ensure()
    gaps_evaluate()
    # Remediation: gaps due, waiver requests and TOS changes growing with the registry
    # (left out of the audit trail, whose page reads names per model it shows).
    with disable_auditlog():
        for gap in Gap.objects.open().filter(remediation__isnull=True)[: count * 3]:
            RemediationFactory(gap=gap, assignee=gap.technique.owner_group.maintainers.first())
        for gap in Gap.objects.open().filter(waiver_requests__isnull=True)[:count]:
            WaiverRequestFactory(gap=gap)
        for _ in range(count):
            TOSChangeRequestFactory()


def counts(client, slug, group) -> dict[str, int]:
    result = {}
    run = ConvergenceRun.objects.order_by("pk").first()
    assert run is not None
    campaign = Campaign.objects.get_or_create(
        rule_id="training-speed-test",
        defaults={"title": "Speed tests", "due_on": timezone.localdate()},
    )[0]
    gap = Gap.objects.filter(technique__slug=slug).order_by("pk")[0]
    for page in PAGES:
        url = page.format(slug=slug, group=group, run=run.pk, campaign=campaign.pk, gap=gap.pk)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        result[url] = len(queries)
    return result


def test_main_pages_query_counts_do_not_grow(carol_client, pruning):
    grow(3)
    group = pruning.owner_group.slug
    small = counts(carol_client, pruning.slug, group)
    grow(27)
    large = counts(carol_client, pruning.slug, group)
    grown = {url: (small[url], large[url]) for url in small if large[url] != small[url]}
    assert not grown, f"queries at 3 vs 30 techniques: {grown}"

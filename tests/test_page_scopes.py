"""A write renews the pages of what it changed, not every page: a delivery about one
technique renews that technique's page and leaves the others' and the CI grid cached; an
upload renews its technique's page and the CI grid; an evaluation renews the matrix. A
stale public page is renewed by one request while the others get the copy from before."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adherence.services import gaps_evaluate
from ci_status.models import Issue
from convergence.models import ConvergenceRun
from convergence.parsers import RunRecord
from convergence.services import results_ingest
from techniques import cache as page_cache
from techniques.cache import bump_data_version
from techniques.models import DataVersion, Maintainer
from tests.factories import ConvergenceTestFactory, RepositoryFactory, ReviewFactory
from tests.test_cache_invalidation import _comment
from tests.test_webhooks import issue_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("locmem_cache")]


def _cached(client, path: str, signed_in: bool = False) -> bool:
    """Whether the page came from the cache: one query (the counters; signed in, also
    the session, the user and their rights), no view."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries) == (4 if signed_in else 1)


def _look(client, *paths: str, signed_in: bool = False) -> None:
    for path in paths:
        assert client.get(path).status_code == 200
        assert _cached(client, path, signed_in), f"{path} is not cached"


def _counters() -> dict[str, int]:
    return dict(DataVersion.objects.values_list("name", "value"))


def test_a_delivery_about_one_technique_renews_its_page_only(
    client, pruning, clustering, github_webhook
):
    github_webhook("issues", issue_payload(7), delivery="d-1")  # labelled for pruning
    _look(client, "/techniques/pruning/", "/techniques/clustering/", "/ci/")
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert not _cached(client, "/techniques/pruning/")  # its figures changed
    assert _cached(client, "/techniques/clustering/")
    assert _cached(client, "/ci/")  # the grid reads no GitHub item


def test_an_upload_renews_its_techniques_page_and_the_ci_grid(client, pruning, clustering):
    test = ConvergenceTestFactory(technique=pruning, name="resnet50_prune")
    _look(client, "/techniques/pruning/", "/techniques/clustering/", "/ci/", "/")
    record = RunRecord(
        test=test.name,
        outcome=ConvergenceRun.Outcome.PASSED,
        metrics={"top1_accuracy": 76.5},
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
        tfmot_sha="a" * 40,
        external_id="run-1",
    )
    results_ingest([record], ConvergenceRun.Source.UPLOAD)
    assert not _cached(client, "/techniques/pruning/")
    assert b"resnet50_prune" in client.get("/ci/").content
    assert _cached(client, "/techniques/clustering/")
    assert _cached(client, "/")  # the registry's page: no health changed


def test_an_evaluation_that_changes_a_result_renews_the_matrix_and_its_technique(
    client, alice, pruning
):
    client.force_login(alice)
    gaps_evaluate()
    _look(client, "/adherence/", signed_in=True)
    Maintainer.objects.filter(github_login="dave").update(status="emeritus")  # one left
    before = _counters()
    gaps_evaluate(technique_ids=[pruning.pk])
    after = _counters()
    assert after["app:adherence"] == before["app:adherence"] + 1
    assert after[f"technique:{pruning.pk}"] == before.get(f"technique:{pruning.pk}", 0) + 1
    assert after.get("technique:*", 0) == before.get("technique:*", 0)  # only its page
    assert not _cached(client, "/adherence/", signed_in=True)


def test_saves_of_rows_no_technique_page_reads_leave_every_technique_page(client, pruning):
    repository = RepositoryFactory()
    _look(client, "/techniques/pruning/")
    Issue.objects.create(
        repository=repository,
        number=99,
        github_id=99,
        title="A question",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        updated_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert _cached(client, "/techniques/pruning/")


def test_a_write_that_names_no_technique_renews_every_technique_page(client, pruning, clustering):
    _look(client, "/techniques/pruning/", "/techniques/clustering/")
    ReviewFactory(technique=pruning)  # a review's save: its model says nothing narrower
    assert not _cached(client, "/techniques/pruning/")
    assert not _cached(client, "/techniques/clustering/")


def test_one_transactions_writes_bump_each_counter_once(pruning, clustering):
    from django.db import transaction

    before = _counters()
    with transaction.atomic():
        bump_data_version(registry=False, app="ci_status", techniques=[pruning.pk])
        bump_data_version(registry=False, app="convergence", techniques=[clustering.pk])
        bump_data_version(registry=False, app="ci_status", techniques=())
    after = _counters()
    changed = {name for name, value in after.items() if value != before.get(name, 0)}
    assert changed == {
        "data",
        "app:ci_status",
        "app:convergence",
        f"technique:{pruning.pk}",
        f"technique:{clustering.pk}",
    }
    assert all(after[name] == before.get(name, 0) + 1 for name in changed)


def test_a_stale_page_is_served_while_another_request_renews_it(client, pruning, monkeypatch):
    from techniques import views

    old = client.get("/techniques/pruning/").content
    bump_data_version()  # stale now
    calls = []
    real = views.technique_page
    monkeypatch.setattr(views, "technique_page", lambda *a: calls.append(a) or real(*a))
    (key,) = [k for k in _page_keys() if k.startswith("page:")]
    assert cache.add(f"{key}:renewing", 1)  # another request is renewing it
    assert client.get("/techniques/pruning/").content == old
    assert calls == []  # the copy from before, no second computation
    cache.delete(f"{key}:renewing")
    client.get("/techniques/pruning/")
    assert len(calls) == 1  # the next request renews it
    assert _cached(client, "/techniques/pruning/")


def _page_keys() -> list[str]:
    """The page cache's keys (the local-memory cache's, without their prefix)."""
    return [k.split(":", 2)[2] for k in cache._cache if ":page:" in k]


def test_a_renewal_that_fails_releases_its_mark(client, pruning, monkeypatch):
    from techniques import views

    client.get("/techniques/pruning/")
    bump_data_version()
    monkeypatch.setattr(views, "technique_page", lambda *a: 1 / 0)
    client.raise_request_exception = False
    assert client.get("/techniques/pruning/").status_code == 500
    (key,) = _page_keys()
    assert cache.get(f"{key}:renewing") is None  # the next request tries again
    monkeypatch.undo()
    assert b"pruning" in client.get("/techniques/pruning/").content.lower()


def test_missing_counters_read_as_zero_and_are_made_on_the_first_bump(pruning):
    DataVersion.objects.all().delete()
    assert page_cache.data_version() == 0
    bump_data_version(registry=False, app="reviews", techniques=[pruning.pk])
    assert _counters() == {
        "data": 1,
        "app:reviews": 1,
        f"technique:{pruning.pk}": 1,
    }


def test_an_evaluation_that_changes_nothing_renews_only_the_rule_results_api(
    client, alice, pruning
):
    gaps_evaluate()
    client.get("/api/rule-results/")
    client.force_login(alice)
    _look(client, "/adherence/", "/me/", signed_in=True)
    before = _counters()
    gaps_evaluate()  # the same data: the same results, gaps and health
    after = _counters()
    assert after["app:adherence.evaluated"] == before.get("app:adherence.evaluated", 0) + 1
    assert after["app:adherence"] == before["app:adherence"]
    assert _cached(client, "/adherence/", signed_in=True)
    assert _cached(client, "/me/", signed_in=True)
    client.logout()
    assert not _cached(client, "/api/rule-results/")  # it shows the evaluation time


def test_a_github_comment_leaves_an_owners_landing_page_cached(
    client, alice, pruning, github_webhook
):
    github_webhook("issues", issue_payload(7), delivery="d-1")
    client.force_login(alice)
    _look(client, "/me/", signed_in=True)
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert _cached(client, "/me/", signed_in=True)  # no owner section reads GitHub items


def test_the_staff_landing_follows_failed_syncs_not_github_comments(
    client, carol, pruning, github_webhook
):
    from ci_status.models import SyncRun
    from tests.factories import SyncRunFactory

    github_webhook("issues", issue_payload(7), delivery="d-1")
    run = SyncRunFactory(status=SyncRun.Status.RUNNING)
    client.force_login(carol)
    _look(client, "/me/", signed_in=True)
    github_webhook("issue_comment", _comment(7, 1), delivery="d-2")
    assert _cached(client, "/me/", signed_in=True)
    run.status, run.error = SyncRun.Status.FAILED, "issues: 502"
    run.save()
    assert b"issues: 502" in client.get("/me/").content


def test_a_bisections_progress_renews_its_tests_technique_page_only(client, pruning, clustering):
    from tests.factories import BisectionFactory, BisectionStepFactory

    bisection = BisectionFactory(test=ConvergenceTestFactory(technique=pruning))
    _look(client, "/techniques/pruning/", "/techniques/clustering/")
    BisectionStepFactory(bisection=bisection)
    assert not _cached(client, "/techniques/pruning/")
    assert _cached(client, "/techniques/clustering/")

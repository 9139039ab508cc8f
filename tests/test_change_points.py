"""Change points on metric series: found at the commit where a noisy series shifts, none on
pure noise at the stated false-positive rate, judged by the metric's direction, stored
once however often detection runs, and never shown to the public from internal runs."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from convergence.changepoints import PVALUE, change_points_detect, shifts_find
from convergence.models import ChangePoint, ConvergenceRun
from convergence.parsers import RunRecord
from convergence.services import results_ingest
from tests.factories import BenefitTargetFactory, MetricDirectionFactory

pytestmark = pytest.mark.django_db
START = timezone.now() - timedelta(days=90)


def series(seed, n=45, shift_at=30, before=76.6, after=76.1, noise=0.1):
    rng = np.random.default_rng(seed)
    values = rng.normal(before, noise, n)
    values[shift_at:] += after - before
    return [round(float(v), 3) for v in values]


def nightly(values, metric="top1", test="pruning/resnet50", first=0, **extra):
    """One record per night, commit ``c000``, ``c001``... in order."""
    return [
        RunRecord(
            test=test,
            outcome=ConvergenceRun.Outcome.PASSED,
            metrics={metric: value, **extra},
            started_at=START + timedelta(days=first + i),
            tfmot_sha=f"c{first + i:03d}" + "0" * 36,
            external_id=f"{test}-{first + i}",
        )
        for i, value in enumerate(values)
    ]


def ingest_one_by_one(records, internal=False):
    for record in records:
        results_ingest([record], ConvergenceRun.Source.UPLOAD, internal=internal)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_shift_inside_the_tolerance_is_found_at_its_commit_as_runs_arrive(resnet, seed):
    """76.6 -> 76.1 top-1 (documented 76 ± 0.6: always met) on a noisy series, uploaded
    night after night: one change point, at the first run after the shift."""
    BenefitTargetFactory(test=resnet, metric="top1", documented_value=76.0, tolerance=0.6)
    ingest_one_by_one(nightly(series(seed)))
    (point,) = ChangePoint.objects.all()
    assert point.sha.startswith("c030")
    assert point.run.tfmot_sha == point.sha and point.run_started_at == point.run.started_at
    assert point.regression and not point.internal
    assert point.before_mean == pytest.approx(76.6, abs=0.06)
    assert point.after_mean == pytest.approx(76.1, abs=0.06)
    assert point.change_percent == pytest.approx(-0.65, abs=0.1)
    assert point.significance <= PVALUE
    resnet.refresh_from_db()
    assert not resnet.benefit_regressed  # the fixed threshold alone sees nothing


def test_a_slower_training_step_is_a_regression_by_the_tests_setting(resnet):
    MetricDirectionFactory(test=resnet, metric="step_time_ms", better="lower")
    results_ingest(
        nightly(series(3, before=100, after=115, noise=3), metric="step_time_ms"),
        ConvergenceRun.Source.UPLOAD,
    )
    (point,) = ChangePoint.objects.all()
    assert point.sha.startswith("c030") and point.regression
    assert point.change_percent == pytest.approx(15, abs=3)


@pytest.mark.parametrize(
    ("comparator", "before", "after", "regression"),
    [
        (">=", 76.1, 76.6, False),  # accuracy up: better
        (">=", 76.6, 76.1, True),
        ("<=", 10.0, 10.5, True),  # package size up: worse
        ("<=", 10.5, 10.0, False),
        (None, 76.6, 76.1, False),  # no target, no setting: a shift, never a regression
    ],
)
def test_the_better_direction_decides_what_a_regression_is(
    resnet, comparator, before, after, regression
):
    if comparator:
        BenefitTargetFactory(test=resnet, metric="m", comparator=comparator, documented_value=1)
    results_ingest(
        nightly(series(4, before=before, after=after), metric="m"), ConvergenceRun.Source.UPLOAD
    )
    (point,) = ChangePoint.objects.all()
    assert point.regression is regression


def test_pure_noise_has_no_change_point_at_the_stated_false_positive_rate():
    """200 seeded series of 60 runs without a shift: at the 1 % level, about 2 of them
    show one; more than 6 would happen by chance once in 3,000 (binomial)."""
    flagged = sum(bool(shifts_find(series(seed, n=60, shift_at=60))) for seed in range(200))
    assert flagged <= 6


def test_a_single_outlier_is_not_a_change_point():
    for seed in range(20):
        values = series(seed, n=45, shift_at=45)
        values[30] -= 2.0  # one bad night: twenty standard deviations
        assert shifts_find(values) == []


def test_detection_twice_finds_the_same_change_points_and_never_duplicates(resnet):
    BenefitTargetFactory(test=resnet, metric="top1")
    records = nightly(series(5))
    results_ingest(records, ConvergenceRun.Source.UPLOAD)
    stored = list(ChangePoint.objects.values())
    assert len(stored) == 1
    change_points_detect(ConvergenceRun.objects.values_list("pk", flat=True))
    results_ingest(records, ConvergenceRun.Source.UPLOAD)  # the same file again
    assert list(ChangePoint.objects.values()) == stored


def test_a_later_shift_back_resolves_the_regression(resnet):
    BenefitTargetFactory(test=resnet, metric="top1")
    values = series(6, n=60, shift_at=30)
    values[45:] = [v + 0.5 for v in values[45:]]  # the revert lands at c045
    ingest_one_by_one(nightly(values))
    regression, recovery = ChangePoint.objects.order_by("run_started_at")
    assert regression.sha.startswith("c030") and regression.regression
    assert recovery.sha.startswith("c045") and not recovery.regression
    assert regression.resolved_at == recovery.run_started_at
    assert not ChangePoint.objects.open_regressions().exists()


def test_an_internal_only_shift_is_internal_and_a_public_one_is_not_repeated(resnet):
    BenefitTargetFactory(test=resnet, metric="top1")
    results_ingest(nightly(series(7, shift_at=45)), ConvergenceRun.Source.UPLOAD)
    internal = nightly(series(8), test="pruning/resnet50", first=0)
    for record in internal:
        record.external_id += "-internal"
        record.started_at += timedelta(hours=1)
    ingest_one_by_one(internal, internal=True)
    (point,) = ChangePoint.objects.all()
    assert point.internal and point.regression
    assert ChangePoint.objects.visible_to(None).count() == 0


def test_a_public_shift_is_public_and_not_repeated_for_internal_runs(resnet):
    BenefitTargetFactory(test=resnet, metric="top1")
    public = nightly(series(9))
    results_ingest(public, ConvergenceRun.Source.UPLOAD)
    internal = nightly(series(10, shift_at=45, before=76.6))
    for record in internal:
        record.external_id += "-internal"
        record.started_at += timedelta(hours=1)
    results_ingest(internal, ConvergenceRun.Source.UPLOAD, internal=True)
    results_ingest(nightly([76.1] * 3, first=45), ConvergenceRun.Source.UPLOAD)
    (point,) = ChangePoint.objects.all()
    assert not point.internal and point.sha.startswith("c030")


# --- alert, API and pages ------------------------------------------------------------------


@pytest.fixture
def regressed(resnet):
    """pruning/resnet50's top-1 shifts down 0.5 at c030, inside its tolerance."""
    BenefitTargetFactory(test=resnet, metric="top1", documented_value=76.0, tolerance=0.6)
    results_ingest(nightly(series(11)), ConvergenceRun.Source.UPLOAD)
    return ChangePoint.objects.get()


def test_a_regression_opens_a_gap_that_names_the_commit_and_resolves_on_recovery(regressed):
    from adherence.models import Gap
    from adherence.services import gaps_evaluate

    gaps_evaluate()
    gap = Gap.objects.unresolved().get(technique__slug="pruning", rule_id="metric-regression")
    assert "pruning/resnet50: top1" in gap.summary and "c030000" in gap.summary
    assert gap.since == regressed.run_started_at
    results_ingest(
        nightly(series(12, n=15, shift_at=15), first=45), ConvergenceRun.Source.UPLOAD
    )  # back to 76.6: the revert
    gaps_evaluate()
    assert not Gap.objects.unresolved().filter(rule_id="metric-regression").exists()


def test_an_internal_regression_is_named_without_figures_in_the_public_result(
    resnet, client, bob, alice
):
    from adherence.models import Gap
    from adherence.services import gaps_evaluate

    BenefitTargetFactory(test=resnet, metric="top1")
    results_ingest(nightly(series(13, shift_at=45)), ConvergenceRun.Source.UPLOAD)
    internal = nightly(series(14))
    for record in internal:
        record.external_id += "-internal"
        record.started_at += timedelta(hours=1)
    results_ingest(internal, ConvergenceRun.Source.UPLOAD, internal=True)
    assert ChangePoint.objects.get().internal
    gaps_evaluate()
    gap = Gap.objects.unresolved().get(rule_id="metric-regression")
    assert "an internal result shifted" in gap.summary and "c030" not in gap.summary
    for viewer in (None, bob):  # the public and another technique's owner
        client.logout()
        if viewer:
            client.force_login(viewer)
            page = client.get(f"/adherence/gaps/{gap.pk}/").content.decode()
            assert "an internal result shifted" in page and "Open regressions" not in page
        assert client.get("/api/convergence/changepoints/").json()["results"] == []
        page = client.get("/techniques/pruning/").content.decode()
        assert "cp-mark" not in page and "Change points" not in page
    client.force_login(alice)  # pruning's owner sees it
    assert len(client.get("/api/convergence/changepoints/").json()["results"]) == 1
    assert "Open regressions" in client.get(f"/adherence/gaps/{gap.pk}/").content.decode()


def test_the_api_lists_a_series_change_points(client, regressed):
    response = client.get(
        "/api/convergence/changepoints/", {"test": "pruning/resnet50", "metric": "top1"}
    )
    (row,) = response.json()["results"]
    assert row["test"] == "pruning/resnet50" and row["metric"] == "top1"
    assert row["sha"] == regressed.sha and row["regression"] is True
    assert row["before_mean"] == regressed.before_mean
    assert row["after_mean"] == regressed.after_mean
    assert row["change_percent"] == regressed.change_percent
    assert row["significance"] == regressed.significance
    assert row["run_started_at"].startswith(regressed.run_started_at.date().isoformat())
    assert "next" in response.json()
    for other in ({"test": "pruning/other"}, {"metric": "latency_ms"}, {"regression": "false"}):
        assert client.get("/api/convergence/changepoints/", other).json()["results"] == []
    assert "/api/convergence/changepoints/" in client.get("/api/schema/").content.decode()


def test_the_pages_show_the_change_point(client, regressed, bob):
    from adherence.models import Gap
    from adherence.services import gaps_evaluate

    page = client.get("/techniques/pruning/").content.decode()
    assert 'class="cp-mark cp-regression"' in page and "Change point at c030000" in page
    assert "c030000" in client.get("/ci/").content.decode()
    gaps_evaluate()
    gap = Gap.objects.unresolved().get(rule_id="metric-regression")
    client.force_login(bob)
    page = client.get(f"/adherence/gaps/{gap.pk}/").content.decode()
    assert "Open regressions" in page and "c030000" in page

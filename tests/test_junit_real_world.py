"""JUnit as real CI tools write it (files under tests/fixtures/junit/): pytest, Maven
Surefire, Gradle, Bazel, Jenkins and go-junit-report."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from convergence.parsers import MAX_BYTES, parse_junit

FIXTURES = Path(__file__).parent / "fixtures" / "junit"


def parsed(name):
    return {r.test: r for r in parse_junit((FIXTURES / name).read_bytes())}


@pytest.mark.parametrize(
    "name",
    ["pytest.xml", "surefire.xml", "gradle.xml", "bazel.xml", "jenkins.xml", "go-junit-report.xml"],
)
def test_every_tool_shape_parses(name):
    assert parsed(name)


def test_pytest_collection_errors_skips_and_unnamed_cases():
    records = parsed("pytest.xml")
    assert records["pruning/resnet50-imagenet-sparsity50"].metrics == {
        "top1_accuracy": 76.61,
        "duration_seconds": 3600.117,
    }
    assert records["pruning/mobilenet-v2-sparsity50"].outcome == "failed"
    assert records["pruning/resnet50-imagenet-sparsity80"].outcome == "skipped"
    assert records["tests.test_convergence_qat"].outcome == "error"
    assert records["pruning/testcase-5"].outcome == "passed"  # unnamed: named by position
    run = records["pruning/resnet50-imagenet-sparsity50"]
    assert run.started_at == datetime(2026, 11, 23, 3, 0, 4, 512345, tzinfo=UTC)
    assert run.tfmot_sha.startswith("4f1c2d9e") and run.tf_version.startswith("tf-nightly")


def test_surefire_thousands_separators_and_rerun_failures():
    records = parsed("surefire.xml")
    assert records["pruning/resnet50-imagenet-sparsity50"].metrics["duration_seconds"] == 1200.5
    assert records["pruning/mobilenet-v2-sparsity50"].outcome == "failed"
    assert records["pruning/initializationError"].outcome == "error"
    assert records["pruning/resnet50-imagenet-sparsity50"].started_at is None


def test_gradle_naive_timestamp_means_utc():
    run = parsed("gradle.xml")["clustering/mobilenet-v2-clusters16"]
    assert run.started_at == datetime(2026, 11, 23, 3, 15, 42, tzinfo=UTC)


def test_bazel_epoch_placeholder_is_no_time_and_a_suite_error_without_cases_fails():
    records = parsed("bazel.xml")
    assert records["pruning/resnet50-imagenet-sparsity50"].outcome == "error"
    assert records["pruning/resnet50-imagenet-sparsity50"].started_at is None
    assert records["pruning/mobilenet-v2-sparsity50"].outcome == "error"  # errors="1", no case


def test_jenkins_nested_suites_keep_every_levels_errors():
    records = parsed("jenkins.xml")
    assert records["clustering/mobilenet-v2-clusters16"].outcome == "failed"
    all_records = parse_junit((FIXTURES / "jenkins.xml").read_bytes())
    # the inner suite's own error and its case both count
    assert [r.outcome for r in all_records if r.test == "clustering/resnet50-clusters32"] == [
        "error",
        "passed",
    ]
    assert records["weight-clustering"].outcome == "failed"  # outer suite's teardown failure
    # an unreadable timestamp is no time; an inner readable one is kept
    assert records["clustering/mobilenet-v2-clusters16"].started_at == datetime(
        2026, 11, 23, 3, tzinfo=UTC
    )
    assert records["weight-clustering"].started_at is None
    assert records["clustering/mobilenet-v2-clusters16"].tf_version.startswith("tf-nightly")


def test_go_junit_report_outcomes_and_text_properties():
    records = parsed("go-junit-report.xml")
    assert [r.outcome for r in records.values()] == ["passed", "failed", "error"]
    assert "go.version" not in records["quantization/resnet50-qat-int8"].metrics


def test_thousands_of_cases_are_fine_the_limit_is_bytes():
    cases = "".join(f'<testcase classname="pruning" name="case-{i}"/>' for i in range(10_000))
    data = f"<testsuite>{cases}</testsuite>".encode()
    assert len(data) < MAX_BYTES and len(parse_junit(data)) == 10_000


@pytest.mark.parametrize(
    "stamp", ["", "yesterday", "2026-13-45T00:00:00", "2026-02-30T10:00:00", "0001-01-01T00:00:00"]
)
def test_unusual_timestamps_mean_no_time(stamp):
    data = f'<testsuite timestamp="{stamp}"><testcase classname="p" name="t"/></testsuite>'
    assert parse_junit(data.encode())[0].started_at is None

"""Demo convergence tests with run histories that show every state.

Targets come from the TF Model Garden figures in demo_data/official_models.json
(official/projects/pruning and official/projects/qat). Run SHAs are commits of the
configured GitHub repository, fetched through the real client, each run at the newest
commit when it started (one date per commit). QAT's two tests run in the repository's
nightly workflow: their runs are read from its artifacts by the real ingestion, and the
worker then bisects the red test and the metric shift by dispatching that workflow
(docs/bisection.md) -- nothing of the bisection is written here."""

from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from convergence.models import BenefitTarget, ConvergenceRun, ConvergenceTest
from convergence.services import (
    actions_results_ingest,
    convergence_state_update,
    culprit_range_fetch,
)
from github import GitHubClient, GitHubError
from techniques.models import Technique

GARDEN = "https://github.com/tensorflow/models/tree/master/official/projects"
# slug, name, kind, family, task, config, cadence h, targets [(metric, value, tolerance)], pattern
TESTS = [
    (
        "pruning",
        "resnet50-imagenet-sparsity50",
        "convergence",
        "ResNet",
        "image classification (ImageNet)",
        "official/projects/pruning/configs/experiments/image_classification/imagenet_resnet50_pruning_gpu.yaml",
        24,
        [("top1_accuracy", 76.61, 0.3)],
        "passing",
    ),
    (
        "pruning",
        "mobilenetv2-imagenet-sparsity50",
        "convergence",
        "MobileNet (V1/V2/V3/V3.5/V4)",
        "image classification (ImageNet)",
        "official/projects/pruning/configs/experiments/image_classification/imagenet_mobilenetv2_pruning_gpu.yaml",
        24,
        [("top1_accuracy", 71.334, 0.3)],
        "flaky",
    ),
    (
        "pruning",
        "resnet50-training-speed",
        "training_speed",
        "ResNet",
        "image classification (ImageNet)",
        "official/projects/pruning/configs/experiments/image_classification/imagenet_resnet50_pruning_gpu.yaml",
        24,
        [],
        "passing",
    ),
    (
        "qat",
        "mobilenetv2-imagenet-qat-int8",
        "convergence",
        "MobileNet (V1/V2/V3/V3.5/V4)",
        "image classification (ImageNet)",
        "official/projects/qat/vision/configs/experiments/image_classification/imagenet_mobilenetv2_qat_gpu.yaml",
        24,
        [("top1_accuracy", 72.792, 0.3)],
        "nightly:failing",
    ),
    (
        "qat",
        "resnet50-imagenet-qat-int8",
        "convergence",
        "ResNet",
        "image classification (ImageNet)",
        "official/projects/qat/vision/configs/experiments/image_classification/imagenet_resnet50_qat_gpu.yaml",
        24,
        [("top1_accuracy", 77.2, 0.3)],
        "nightly:regressed",
    ),
    (
        "weight-clustering",
        "mobilenetv2-imagenet-clustering",
        "convergence",
        "MobileNet (V1/V2/V3/V3.5/V4)",
        "image classification (ImageNet)",
        "",
        24,
        [],
        "stale",
    ),
    (
        "weight-clustering",
        "mobilenetv2-training-speed",
        "training_speed",
        "MobileNet (V1/V2/V3/V3.5/V4)",
        "image classification (ImageNet)",
        "",
        168,
        [],
        "passing",
    ),
    # Pruning's features and post-training quantization: nightly tests that pass (targets
    # from the Model Garden's pruning and QAT projects: 2:4 sparsity on ResNet50, the
    # XNNPack latency policy on MobileNetV2, PTQ int8 of ResNet50).
    (
        "structural-pruning-m-by-n",
        "resnet50-imagenet-sparsity-2by4",
        "convergence",
        "ResNet",
        "image classification (ImageNet)",
        "official/projects/pruning/configs/experiments/image_classification/imagenet_resnet50_pruning_gpu.yaml",
        24,
        [],
        "passing",
    ),
    (
        "pruning-policy-xnnpack",
        "mobilenetv2-imagenet-xnnpack-policy",
        "convergence",
        "MobileNet (V1/V2/V3/V3.5/V4)",
        "image classification (ImageNet)",
        "official/projects/pruning/configs/experiments/image_classification/imagenet_mobilenetv2_pruning_gpu.yaml",
        24,
        [],
        "passing",
    ),
    (
        "post-training-quantization",
        "resnet50-imagenet-ptq-int8",
        "convergence",
        "ResNet",
        "image classification (ImageNet)",
        "official/projects/qat/vision/configs/experiments/image_classification/imagenet_resnet50_qat_gpu.yaml",
        24,
        [("top1_accuracy", 76.42, 0.3)],
        "passing",
    ),
    *[
        (
            slug,
            f"{family}-training-speed",
            "training_speed",
            "ResNet" if family == "resnet50" else "MobileNet (V1/V2/V3/V3.5/V4)",
            "image classification (ImageNet)",
            "",
            168,
            [],
            "passing",
        )
        for slug, family in (
            ("structural-pruning-m-by-n", "resnet50"),
            ("pruning-policy-xnnpack", "mobilenetv2"),
            ("post-training-quantization", "resnet50"),
        )
    ],
    # The collaborative-optimization and experimental techniques: nightly tests that pass.
    *[
        (
            slug,
            f"mobilenetv2-imagenet-{slug}",
            "convergence",
            "MobileNet (V1/V2/V3/V3.5/V4)",
            "image classification (ImageNet)",
            "",
            24,
            [],
            "passing",
        )
        for slug in (
            "qat-n-bit-experimental",
            "sparsity-preserving-clustering",
            "pqat",
            "cqat",
            "pcqat",
        )
    ],
]
PYTHONS = ["3.10", "3.11", "3.12"]


def _outcomes(pattern: str, count: int, rng: random.Random) -> list[ConvergenceRun.Outcome]:
    passed, failed = ConvergenceRun.Outcome.PASSED, ConvergenceRun.Outcome.FAILED
    if pattern == "failing":  # broke four nights ago
        return [passed] * (count - 4) + [failed] * 4
    if pattern == "flaky":
        return [(failed if rng.random() < 0.3 else passed) for _ in range(count - 1)] + [failed]
    return [passed] * count


def _commits() -> list[tuple[str, datetime]]:
    """The default branch's commits (SHA and date), oldest first ([] when GitHub does not
    answer: the runs then carry no SHA)."""
    try:
        listed = GitHubClient(backoff=0.05).commits()
    except GitHubError:
        return []
    commits = []
    for commit in reversed(listed):
        when = parse_datetime((commit.get("commit") or {}).get("committer", {}).get("date") or "")
        if when:
            commits.append((commit["sha"], when))
    return commits


def _head_at(commits: list[tuple[str, datetime]], when: datetime) -> str:
    """The newest commit at ``when``: what a nightly run then checks out."""
    dates = [date for _sha, date in commits]
    index = bisect.bisect_right(dates, when) - 1
    return commits[max(index, 0)][0] if commits else ""


def _test_with_targets(technique, name, kind, family, task, config, cadence, targets):
    """The demo test and its documented targets, created or brought up to date."""
    test, _ = ConvergenceTest.objects.update_or_create(
        technique=technique,
        name=name,
        defaults={
            "kind": kind,
            "model_family": family,
            "task": task,
            "config_path": config,
            "cadence_hours": cadence,
        },
    )
    test.full_clean()
    for metric, value, tolerance in targets:
        BenefitTarget.objects.update_or_create(
            test=test,
            metric=metric,
            defaults={
                "documented_value": value,
                "tolerance": tolerance,
                "unit": "%",
                "doc_url": f"{GARDEN}/{config.split('/')[2]}",
                "doc_source": config,
            },
        )
    return test


def _demo_runs(test, name, kind, targets, pattern, commits, rng, now) -> list[ConvergenceRun]:
    """Thirty nightly runs of the demo test following ``pattern`` (failing, flaky,
    regressed, stale), at 02:00 UTC like the repository's nightly workflow, each at the
    commit that was the newest then; the newest last night (stale: five nights ago)."""
    count = 30
    outcomes = _outcomes(pattern, count, rng)
    last_night = now.replace(hour=2) - timedelta(days=0 if now.hour >= 2 else 1)
    end = last_night - timedelta(days=5) if pattern == "stale" else last_night
    runs = []
    for i, outcome in enumerate(outcomes):
        started = end - timedelta(days=count - 1 - i)
        metrics = {}
        for metric, value, _tolerance in targets:
            drift = -0.9 if (pattern == "regressed" and i >= count - 3) else 0
            noise = rng.uniform(-0.15, 0.2)
            metrics[metric] = round(
                value + noise + drift - (0.6 if outcome == ConvergenceRun.Outcome.FAILED else 0), 3
            )
        if kind == "training_speed":
            metrics["steps_per_second"] = round(rng.uniform(9.5, 10.5), 2)
        runs.append(
            ConvergenceRun(
                test=test,
                started_at=started,
                outcome=outcome,
                metrics=metrics,
                tfmot_sha=_head_at(commits, started),
                source=ConvergenceRun.Source.DEMO,
                external_id=f"demo-{name}-{i}",
                tf_version=f"tf-nightly 2.21.0.dev{started:%Y%m%d}",
                python_version=PYTHONS[i % 3],
                log_url=f"https://github.com/tensorflow/model-optimization/actions/runs/{9000000 + i}",
            )
        )
    return runs


@transaction.atomic
def load(stdout=None) -> dict:
    commits = _commits()
    rng = random.Random(7)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    techniques = {t.slug: t for t in Technique.objects.filter(slug__in={row[0] for row in TESTS})}
    created, nightly = 0, []
    for slug, name, kind, family, task, config, cadence, targets, pattern in TESTS:
        if slug not in techniques:
            continue
        test = _test_with_targets(
            techniques[slug], name, kind, family, task, config, cadence, targets
        )
        if pattern.startswith("nightly:"):
            nightly.append((test, name, kind, targets, pattern.split(":", 1)[1]))
            continue
        created += _store(test, _demo_runs(test, name, kind, targets, pattern, commits, rng, now))
    # QAT's tests run in the repository's nightly workflow: their runs are the results in
    # its artifacts, ingested as the worker does. Without such a workflow (a repository
    # that has none), made-up runs of the same story instead.
    client = GitHubClient(backoff=0.05)
    ingested = actions_results_ingest(client)
    for test, name, kind, targets, pattern in nightly:
        if not test.runs.exists():
            created += _store(
                test, _demo_runs(test, name, kind, targets, pattern, commits, rng, now)
            )
    ranges = 0
    for test in ConvergenceTest.objects.filter(alert_open=True).select_related(
        "last_good_run", "first_bad_run"
    ):
        culprit = culprit_range_fetch(test, client=client)
        ranges += bool(culprit and not culprit.error)
    counts = {
        "tests": len(TESTS),
        "runs created": created + ingested["stored"],
        "nightly workflow runs read": ingested["runs"],
        "culprit ranges": ranges,
    }
    if stdout:
        stdout.write(f"convergence: {counts}")
    return counts


def _store(test: ConvergenceTest, runs: list[ConvergenceRun]) -> int:
    before = ConvergenceRun.objects.filter(test=test).count()
    ConvergenceRun.objects.bulk_create(runs, ignore_conflicts=True)
    convergence_state_update(test)
    return ConvergenceRun.objects.filter(test=test).count() - before

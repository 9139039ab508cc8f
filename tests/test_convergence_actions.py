"""Results from GitHub Actions artifacts: pulled by the sync's client, same code path."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from ci_status.services import repository_get_or_create, repository_sync
from convergence.models import ConvergenceRun
from convergence.tasks import ingest_actions_results

pytestmark = pytest.mark.django_db

JUNIT = b"""<testsuite><testcase classname="pruning" name="resnet50">
<properties><property name="top1_accuracy" value="76.58"/></properties></testcase></testsuite>"""


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_nightly_artifacts_are_ingested_once(resnet, fake_github, github_client, settings):
    dataset = fake_github.dataset
    run = dataset.add_workflow_run(
        workflow="convergence",
        created_at=timezone.now() - timedelta(hours=2),
        artifacts={"convergence-results": zipped("results.xml", JUNIT), "logs": b"not a zip"},
    )
    repository = repository_sync(
        repository_get_or_create(dataset.full_name), client=github_client, evaluate=False
    ).repository
    assert repository.ci_runs.filter(run_id=run.id).exists()
    settings.GITHUB_API_URL, settings.GITHUB_REPOSITORY, settings.GITHUB_TOKEN = (
        fake_github.url,
        dataset.full_name,
        "",
    )

    first = ingest_actions_results()
    assert first["stored"] == 1
    stored = ConvergenceRun.objects.get(test=resnet)
    assert stored.source == "actions" and stored.tfmot_sha == run.head_sha
    assert stored.metrics["top1_accuracy"] == 76.58
    assert ingest_actions_results()["stored"] == 0  # idempotent
    assert ConvergenceRun.objects.filter(test=resnet).count() == 1

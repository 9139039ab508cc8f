"""Celery entry points of convergence: thin, safe to run twice."""

from __future__ import annotations

import io
import logging
import zipfile

from celery import shared_task

from ci_status import selectors as ci_selectors
from ci_status.github import GitHubClient, GitHubError
from convergence.models import ConvergenceRun
from convergence.parsers import ResultsError, parse_results
from convergence.services import convergence_states_refresh, results_ingest
from tfmot_portal.celery import RETRY_ON_CONNECTION_ERROR

logger = logging.getLogger(__name__)
WORKFLOW_NAMES = ("convergence", "Convergence tests", "convergence-tests")
ARTIFACT_PREFIX = "convergence"


@shared_task(name="convergence.tasks.refresh_states", acks_late=True)
def refresh_states() -> int:
    """Staleness moves with the clock: recompute every test's state."""
    return convergence_states_refresh()


@shared_task(
    name="convergence.tasks.ingest_actions_results",
    **RETRY_ON_CONNECTION_ERROR,
)
def ingest_actions_results(limit: int = 50) -> dict:
    """Pull results from the artifacts of synced convergence workflow runs.

    A run is ingested once: its runs carry the workflow run id as external id prefix,
    and ingestion is idempotent on (source, external id) anyway.
    """
    done = set(
        ConvergenceRun.objects.filter(source=ConvergenceRun.Source.ACTIONS).values_list(
            "external_id", flat=True
        )
    )
    done_runs = {key.split(":", 1)[0] for key in done}
    candidates = ci_selectors.completed_runs(WORKFLOW_NAMES, limit)
    client = GitHubClient()
    summary = {"runs": 0, "stored": 0, "rejected": 0}
    for ci_run in candidates:
        if str(ci_run.run_id) in done_runs:
            continue
        try:
            artifacts = [
                a
                for a in client.run_artifacts(ci_run.run_id)
                if a["name"].startswith(ARTIFACT_PREFIX)
            ]
            for artifact in artifacts:
                archive = zipfile.ZipFile(io.BytesIO(client.download_artifact(artifact["id"])))
                for name in archive.namelist():
                    records = parse_results(archive.read(name), filename=name)
                    for record in records:
                        record.external_id = f"{ci_run.run_id}:{record.external_id or record.test}"
                        record.tfmot_sha = record.tfmot_sha or ci_run.head_sha
                        record.log_url = record.log_url or ci_run.html_url
                    summary["stored"] += results_ingest(
                        records, ConvergenceRun.Source.ACTIONS
                    ).created
        except (GitHubError, ResultsError, zipfile.BadZipFile) as error:
            logger.warning("Workflow run %s: results not ingested: %s", ci_run.run_id, error)
            summary["rejected"] += 1
            continue
        summary["runs"] += 1
    return summary

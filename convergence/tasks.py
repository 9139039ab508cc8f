"""Celery entry points of convergence: thin, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from ci_status import selectors as ci_selectors
from convergence.bisection_services import bisection_run_ids, bisections_advance
from convergence.models import ConvergenceRun
from convergence.parsers import ResultsError
from convergence.services import actions_run_records, convergence_states_refresh, results_ingest
from github import GitHubClient, GitHubError
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
    # Runs dispatched by a bisection report to their bisection, not to the test's history.
    done_runs |= {str(run_id) for run_id in bisection_run_ids()}
    candidates = ci_selectors.completed_runs(WORKFLOW_NAMES, limit)
    client = GitHubClient()
    summary = {"runs": 0, "stored": 0, "rejected": 0}
    for ci_run in candidates:
        if str(ci_run.run_id) in done_runs:
            continue
        try:
            records = actions_run_records(client, ci_run.run_id, ci_run.head_sha, ci_run.html_url)
            if records:
                summary["stored"] += results_ingest(records, ConvergenceRun.Source.ACTIONS).created
        except (GitHubError, ResultsError) as error:
            logger.warning("Workflow run %s: results not ingested: %s", ci_run.run_id, error)
            summary["rejected"] += 1
            continue
        summary["runs"] += 1
    if summary["stored"]:
        advance_bisections.delay()
    return summary


@shared_task(name="convergence.tasks.advance_bisections", acks_late=True)
def advance_bisections() -> dict:
    """Start bisections for new alerts and change points, move running ones along (their
    runs' results), follow open reverts. Every step is in the database: safe to run twice,
    and a killed worker's successor carries on where it stopped."""
    return bisections_advance()

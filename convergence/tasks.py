"""Celery entry points of convergence: thin, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from convergence.bisection_services import bisections_advance
from convergence.services import actions_results_ingest, convergence_states_refresh
from tfmot_portal.celery import RETRY_ON_CONNECTION_ERROR


@shared_task(name="convergence.tasks.refresh_states", acks_late=True)
def refresh_states() -> int:
    """Staleness moves with the clock: recompute every test's state."""
    return convergence_states_refresh()


@shared_task(
    name="convergence.tasks.ingest_actions_results",
    **RETRY_ON_CONNECTION_ERROR,
)
def ingest_actions_results(limit: int = 50) -> dict:
    """Pull results from the artifacts of synced convergence workflow runs; new results
    move the bisections along at once."""
    summary = actions_results_ingest(limit=limit)
    if summary["stored"]:
        advance_bisections.delay()
    return summary


@shared_task(name="convergence.tasks.advance_bisections", acks_late=True)
def advance_bisections() -> dict:
    """Start bisections for new alerts and change points, move running ones along (their
    runs' results), follow open reverts. Every step is in the database: safe to run twice,
    and a killed worker's successor carries on where it stopped."""
    return bisections_advance()

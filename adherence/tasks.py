"""Celery entry points of adherence: thin, safe to run twice."""

from celery import shared_task

from adherence.services import digest_send, evaluation_run
from tfmot_portal.celery import RETRY_ON_CONNECTION_ERROR


@shared_task(
    name="adherence.tasks.evaluate_adherence",
    **RETRY_ON_CONNECTION_ERROR,
)
def evaluate_adherence(technique_ids: list[int] | None = None) -> dict:
    """Every technique's rules (None: the schedule), or those of the waiting evaluation
    requests (``[]``: ``adherence.services.evaluation_request``) and of ``technique_ids``
    (tasks queued before requests were rows)."""
    summary = evaluation_run(technique_ids)
    return {
        "techniques": summary.techniques,
        "opened": len(summary.opened),
        "resolved": summary.resolved,
    }


@shared_task(name="adherence.tasks.send_weekly_digest", acks_late=True)
def send_weekly_digest() -> bool:
    return digest_send()

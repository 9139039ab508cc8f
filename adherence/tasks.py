"""Celery entry points of adherence: thin, safe to run twice."""

from celery import shared_task

from adherence.services import digest_send, gaps_evaluate


@shared_task(
    name="adherence.tasks.evaluate_adherence",
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def evaluate_adherence() -> dict:
    summary = gaps_evaluate()
    return {
        "techniques": summary.techniques,
        "opened": len(summary.opened),
        "resolved": summary.resolved,
    }


@shared_task(name="adherence.tasks.send_weekly_digest", acks_late=True)
def send_weekly_digest() -> bool:
    return digest_send()

"""The periodic tick that proves beat is running (see ``ops.health``)."""

from celery import shared_task


@shared_task(name="ops.tasks.beat_tick", ignore_result=True)
def beat_tick():
    """Queued by beat every half minute; beat records its tick when it publishes it."""
    return "tick"

from celery import shared_task

from reviews.services import cycles_ensure, reminders_send


@shared_task(name="reviews.tasks.daily", acks_late=True)
def daily() -> int:
    """Create the current cycle and its reviews, then send the reminders due today."""
    cycles_ensure()
    return reminders_send()

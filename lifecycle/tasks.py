from celery import shared_task

from lifecycle.services import ownership_check
from tfmot_portal.celery import RETRY_ON_CONNECTION_ERROR


@shared_task(
    name="lifecycle.tasks.check_ownership",
    **RETRY_ON_CONNECTION_ERROR,
)
def check_ownership() -> int:
    count = ownership_check()
    from celery import current_app

    current_app.send_task("adherence.tasks.evaluate_adherence")
    return count

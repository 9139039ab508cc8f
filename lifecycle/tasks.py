from celery import shared_task

from lifecycle.services import ownership_check
from tfmot_portal.celery import RETRY_ON_CONNECTION_ERROR


@shared_task(
    name="lifecycle.tasks.check_ownership",
    **RETRY_ON_CONNECTION_ERROR,
)
def check_ownership() -> int:
    return ownership_check()

from celery import shared_task

from lifecycle.services import ownership_check


@shared_task(
    name="lifecycle.tasks.check_ownership",
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def check_ownership() -> int:
    count = ownership_check()
    from celery import current_app

    current_app.send_task("adherence.tasks.evaluate_adherence")
    return count

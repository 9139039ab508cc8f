"""The Celery application: tasks are entry points that call services (see each app's
tasks.py); configuration comes from Django settings prefixed with CELERY_."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

app = Celery("tfmot_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_as_django_does(**kwargs):
    """Workers and beat log with the portal's configuration (LOG_FORMAT, request ids)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# The options of a task that retries, with a growing backoff, while a service it needs
# (the database, Redis) is briefly unreachable.
RETRY_ON_CONNECTION_ERROR = {
    "acks_late": True,
    "autoretry_for": (ConnectionError,),
    "retry_backoff": True,
    "max_retries": 3,
}

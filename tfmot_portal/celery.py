"""The Celery application: tasks are entry points that call services (see each app's
tasks.py); configuration comes from Django settings prefixed with CELERY_."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

app = Celery("tfmot_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

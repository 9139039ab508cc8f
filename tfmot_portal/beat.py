"""Every periodic job of the portal, in one place.

django-celery-beat's DatabaseScheduler copies these entries into the database, where the
team can change their timing in the admin (Periodic tasks).
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    # Entries are added by the features that own the tasks, e.g.:
    # "sync-github": {"task": "ci_status.tasks.sync_all_repositories", "schedule": 900},
}

__all__ = ["BEAT_SCHEDULE", "crontab"]

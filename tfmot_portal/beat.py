"""Every periodic job of the portal, in one place.

django-celery-beat's DatabaseScheduler copies these entries into the database, where the
team can change their timing in the admin (Periodic tasks).
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    # Entries are added by the features that own the tasks, e.g.:
    # "sync-github": {"task": "ci_status.tasks.sync_all_repositories", "schedule": 900},
    # ci_status: the full GitHub sync every 15 minutes (re-syncs with no change are 304s,
    # free of rate limit); CI runs more often, for the ci-green rule.
    "sync-github": {"task": "ci_status.tasks.sync_all_repositories", "schedule": 900},
    "sync-github-runs": {
        "task": "ci_status.tasks.sync_all_repositories",
        "schedule": 300,
        "kwargs": {"resources": ["runs"]},
    },
    # ci_status: community figures follow registry changes (also checked by every sync)
    # and the half-year window of response times.
    "community-figures": {"task": "ci_status.tasks.refresh_community", "schedule": 3600},
    # adherence: nightly re-evaluation (also after every sync) and the team's weekly digest.
    "evaluate-adherence": {
        "task": "adherence.tasks.evaluate_adherence",
        "schedule": crontab(hour=2, minute=30),
    },
    "adherence-weekly-digest": {
        "task": "adherence.tasks.send_weekly_digest",
        "schedule": crontab(day_of_week="mon", hour=7, minute=0),
    },
    # convergence: staleness moves with the clock; results from Actions artifacts.
    "convergence-refresh-states": {"task": "convergence.tasks.refresh_states", "schedule": 3600},
    "convergence-ingest-actions": {
        "task": "convergence.tasks.ingest_actions_results",
        "schedule": 900,
    },
    # convergence: bisections start for new alerts and change points, read their runs'
    # results, verify, open automatic reverts and follow them (each pass is idempotent).
    "convergence-bisections": {"task": "convergence.tasks.advance_bisections", "schedule": 60},
    # reviews: the current cycle exists, and owners get "due on ..." reminders once each.
    "reviews-daily": {"task": "reviews.tasks.daily", "schedule": crontab(hour=6, minute=0)},
    # lifecycle: triage access and CODEOWNERS drift, daily.
    "lifecycle-ownership": {
        "task": "lifecycle.tasks.check_ownership",
        "schedule": crontab(hour=3, minute=0),
    },
    # ops: beat's proof of life for /readyz (recorded when beat queues it).
    "ops-beat-tick": {"task": "ops.tasks.beat_tick", "schedule": 30, "options": {"expires": 60}},
    # github_integration: owner groups from their GitHub teams, gaps as GitHub issues
    # (opt-in: GAP_ISSUES or a technique's flag; the task does nothing otherwise).
    "github-team-sync": {"task": "github_integration.tasks.sync_teams", "schedule": 3600},
    "github-gap-issues": {"task": "github_integration.tasks.sync_gap_issues", "schedule": 900},
}

__all__ = ["BEAT_SCHEDULE", "crontab"]

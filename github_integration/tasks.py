"""Celery entry points of the GitHub integration: thin, safe to run twice."""

from celery import shared_task

from github import RateLimited, Unavailable


@shared_task(
    name="github_integration.tasks.sync_teams",
    acks_late=True,
    autoretry_for=(Unavailable, RateLimited),
    retry_backoff=60,
    max_retries=3,
)
def sync_teams() -> dict:
    from github_integration.teams import teams_sync_all

    results = teams_sync_all()
    changed = [r.group.slug for r in results if r.changed]
    return {
        "groups": len(results),
        "changed": changed,
        "errors": [r.error for r in results if r.error],
    }


@shared_task(name="github_integration.tasks.sync_gap_issues", acks_late=True)
def sync_gap_issues() -> dict:
    from github_integration.gap_issues import gap_issues_sync

    summary = gap_issues_sync()
    return {
        "created": summary.created,
        "found_again": summary.found_again,
        "updated": summary.updated,
        "closed": summary.closed,
        "errors": summary.errors,
        "stopped": summary.stopped,
    }

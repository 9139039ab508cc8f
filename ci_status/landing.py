"""Landing-page section of the GitHub sync: failed syncs of the last week."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ci_status.models import SYNCS, SyncRun
from techniques.landing import Entry, Section, Tone, listed_section, register_landing

SHOWN = 5


def failed_syncs(user, owned) -> Section:
    runs = (
        SyncRun.objects.filter(
            status__in=[SyncRun.Status.FAILED, SyncRun.Status.INTERRUPTED],
            queued_at__gte=timezone.now() - timedelta(days=7),
        )
        .select_related("repository")
        .order_by("-queued_at")
    )
    url = reverse("ci_status:sync")
    return listed_section(
        "syncs",
        "Failed syncs",
        runs,
        lambda run: Entry(
            f"{run.repository.full_name}: {run.resource}",
            url + "#runs-h",
            f"{run.get_status_display().lower()} {run.queued_at:%-d %b %H:%M}"
            + (f" · {run.error[:120]}" if run.error else ""),
            Tone.FAIL,
        ),
        url,
        "No sync failed in the last 7 days.",
        SHOWN,
    )


# Only the syncs' records: webhooks and item upserts leave the staff landing cached.
register_landing(failed_syncs, audience="staff", order=60, reads=(SYNCS,))

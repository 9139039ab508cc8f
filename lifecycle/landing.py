"""Landing-page section of the lifecycle: the TOS change requests waiting for the team."""

from __future__ import annotations

from django.urls import reverse

from lifecycle.selectors import pending_tos_requests
from techniques.landing import Entry, Section, Tone, listed_section, register_landing

SHOWN = 8


def pending_tos_changes(user, owned) -> Section:
    return listed_section(
        "tos-requests",
        "Pending TOS changes",
        pending_tos_requests(),
        lambda r: Entry(
            f"{r.technique.name}: to {r.get_to_level_display()}",
            reverse("lifecycle:tos_requests") + f"#tos-{r.pk}",
            f"asked {r.requested_at:%-d %b} by {r.requested_by or 'someone'}",
            Tone.WARN,
        ),
        reverse("lifecycle:tos_requests"),
        "No TOS change waits for a decision.",
        SHOWN,
    )


register_landing(pending_tos_changes, audience="staff", order=45)

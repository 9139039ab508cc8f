"""Reads of the lifecycle for pages: the TOS change requests."""

from __future__ import annotations

from lifecycle.models import TOSChangeRequest


def pending_tos_requests():
    """TOS change requests waiting for the team, oldest first."""
    return (
        TOSChangeRequest.objects.filter(status=TOSChangeRequest.Status.PENDING)
        .select_related("technique", "requested_by")
        .order_by("requested_at", "pk")
    )


def decided_tos_requests():
    """The decided TOS change requests, the latest decision first."""
    return (
        TOSChangeRequest.objects.exclude(status=TOSChangeRequest.Status.PENDING)
        .select_related("technique", "requested_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )

"""Who may do what with gaps (one place, used by views and the API)."""

from tfmot_portal.permissions import Permission, is_team, is_team_or_owner


def can_acknowledge(user, gap) -> bool:
    return is_team_or_owner(user, gap.technique)


def can_waive(user, gap=None) -> bool:
    return is_team(user)


def can_see_internals(user, gap=None) -> bool:
    """Notes, waiver reasons and evidence: staff, and the technique's owners."""
    return is_team_or_owner(user, gap.technique) if gap is not None else is_team(user)


ACKNOWLEDGE = Permission(
    can_acknowledge, "Only the technique's owners or the TFMOT team can acknowledge a gap."
)
WAIVE = Permission(can_waive, "Only the TFMOT team can waive a gap.")


def _owns_gap(user, gap) -> bool:
    return bool(user.is_authenticated and gap.technique.is_owned_by(user))


def _may_decide_waiver(user, request) -> bool:
    """Staff decide waiver requests, never their own."""
    return is_team(user) and (request is None or request.requested_by_id != user.pk)


PLAN = Permission(
    is_team, "Only the TFMOT team sets due dates and assignees and runs remediation campaigns."
)
REQUEST_WAIVER = Permission(
    _owns_gap,
    "Only the technique's owners request a waiver (the TFMOT team waives a gap directly).",
)
DECIDE_WAIVER = Permission(
    _may_decide_waiver,
    "Only the TFMOT team decides waiver requests, and never on a request of their own.",
)
SEE_WAIVER_REQUESTS = Permission(is_team, "The waiver requests are for the TFMOT team.")

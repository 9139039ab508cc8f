"""Who may do what with gaps (one place, used by views and the API)."""

from tfmot_portal.permissions import Permission, is_team, is_team_or_owner


def can_view_dashboard(user) -> bool:
    return user.is_authenticated


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

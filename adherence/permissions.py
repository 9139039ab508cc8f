"""Who may do what with gaps (one place, used by views and the API)."""

from tfmot_portal.permissions import Permission, is_team


def can_view_dashboard(user) -> bool:
    return user.is_authenticated


def can_acknowledge(user, gap) -> bool:
    return user.is_authenticated and (user.is_staff or gap.technique.is_owned_by(user))


def can_waive(user, gap=None) -> bool:
    return is_team(user)


def can_see_internals(user, gap=None) -> bool:
    """Notes, waiver reasons and evidence: staff, and the technique's owners."""
    if not user.is_authenticated:
        return False
    return user.is_staff or (gap is not None and gap.technique.is_owned_by(user))


ACKNOWLEDGE = Permission(
    can_acknowledge, "Only the technique's owners or the TFMOT team can acknowledge a gap."
)
WAIVE = Permission(can_waive, "Only the TFMOT team can waive a gap.")

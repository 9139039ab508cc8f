"""Who may do what on a technique's lifecycle (checked in views before any validation,
and again in the services)."""

from tfmot_portal.permissions import Permission, is_team, is_team_or_owner


def can_manage(user, technique) -> bool:
    """The lifecycle page, contribution steps and TOS change requests."""
    return is_team_or_owner(user, technique)


def can_decide_tos(user, change) -> bool:
    """Staff decide TOS change requests, never their own."""
    return is_team(user) and change.requested_by_id != user.pk


SEE_LIFECYCLE = Permission(
    can_manage, "The lifecycle page is for the technique's owners and the TFMOT team."
)
UPDATE_STEP = Permission(
    lambda user, step: can_manage(user, step.technique),
    "Only the TFMOT team or the technique's owners update its contribution steps.",
)
LAUNCH = Permission(is_team, "Only the TFMOT team marks a technique launched.")
DEPRECATE = Permission(is_team, "Only the TFMOT team starts a deprecation.")
MODERATE = Permission(is_team, "Only the TFMOT team moderates offers.")
REQUEST_TOS = Permission(
    can_manage, "Only the technique's owners or the TFMOT team can ask for a TOS change."
)
DECIDE_TOS = Permission(
    can_decide_tos,
    "Only the TFMOT team decides TOS changes, and never on a request of their own.",
)
SEE_OWNERSHIP = Permission(is_team, "GitHub ownership drift is for the TFMOT team.")
CHECK_OWNERSHIP = Permission(is_team, "Only the TFMOT team runs the ownership check.")
SEE_TOS_REQUESTS = Permission(is_team, "The queue of TOS change requests is for the TFMOT team.")

"""Who may do what on a technique's lifecycle (checked in views before any validation,
and again in the services)."""


def can_manage(user, technique) -> bool:
    """The lifecycle page, contribution steps and TOS change requests."""
    return user.is_authenticated and (user.is_staff or technique.is_owned_by(user))


def is_team(user) -> bool:
    """Launch, deprecation, moderation, TOS decisions, GitHub ownership."""
    return user.is_authenticated and user.is_staff


def can_decide_tos(user, change) -> bool:
    """Staff decide TOS change requests, never their own."""
    return is_team(user) and change.requested_by_id != user.pk

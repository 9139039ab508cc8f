"""Who sees internal (Google-only) results: staff and the technique's owners."""


def can_see_internal(user, technique) -> bool:
    return user.is_authenticated and (user.is_staff or technique.is_owned_by(user))

"""Who may see, edit and decide reviews (one place for the pages and the API)."""


def can_view(user, review) -> bool:
    """Drafts and decisions in progress: owners and staff. The public sees only the
    public parts of accepted reviews, on the technique page."""
    return user.is_authenticated and (user.is_staff or review.technique.is_owned_by(user))


def can_edit(user, review) -> bool:
    return user.is_authenticated and review.editable and review.technique.is_owned_by(user)


def can_decide(user, review) -> bool:
    """TFMOT staff, but never on a review of a technique they own or that they submitted."""
    return (
        user.is_authenticated
        and user.is_staff
        and not review.technique.is_owned_by(user)
        and review.submitted_by_id != user.pk
    )

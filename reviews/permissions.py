"""Who may see, edit and decide reviews (one place for the pages and the API)."""

from tfmot_portal.permissions import Permission, is_team, is_team_or_owner


def can_view(user, review) -> bool:
    """Drafts and decisions in progress: owners and staff. The public sees only the
    public parts of accepted reviews, on the technique page."""
    return is_team_or_owner(user, review.technique)


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


VIEW = Permission(
    can_view, "Reviews in progress are for the technique's owners and the TFMOT team."
)
EDIT = Permission(
    can_edit,
    "Only the technique's owners can edit this review, and only while it is a draft or "
    "returned for changes.",
)
SUBMIT = Permission(
    can_edit,
    "Only the technique's owners can submit this review, while it is a draft or returned "
    "for changes.",
)
DECIDE = Permission(
    can_decide,
    "Only the TFMOT team can decide on a review, and not on one they own or submitted.",
)
ASSIGN_SHEPHERD = Permission(is_team, "Only the TFMOT team assigns shepherds.")
EXPORT_ANSWERS = Permission(
    is_team, "Review answers of a whole cycle, drafts included, are for the TFMOT team."
)

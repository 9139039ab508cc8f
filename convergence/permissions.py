"""Who sees internal (Google-only) results: staff and the technique's owners.

One rule in three forms: ``can_see_internal`` for one technique, ``internal_visibility``
for many (two queries at most), and ``ConvergenceRun.objects.visible_to`` for querysets.
"""

from __future__ import annotations

from collections.abc import Callable

from techniques.models import Technique
from tfmot_portal.permissions import Permission, is_team, is_team_or_owner


def can_see_internal(user, technique) -> bool:
    return is_team_or_owner(user, technique)


def internal_visibility(user) -> Callable[[int], bool]:
    """A predicate on technique ids: may ``user`` (None: the public) see their internal
    results? Computed once, in at most one query."""
    if user is None or not user.is_authenticated:
        return lambda technique_id: False
    if user.is_staff:
        return lambda technique_id: True
    owned = set(Technique.objects.owned_by(user).values_list("pk", flat=True))
    return owned.__contains__


# Looking up a culprit range calls GitHub: the technique's owners and the team.
FIND_CULPRIT = Permission(
    lambda user, test: is_team_or_owner(user, test.technique),
    "Only the TFMOT team or the technique's owners can look up a culprit range.",
)

# Opening the revert of a verified culprit PR writes to GitHub as the portal: the team.
OPEN_REVERT = Permission(is_team, "Only the TFMOT team can open the revert of a culprit PR.")

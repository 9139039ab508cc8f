"""The deprecation banner (above the TOS header) with the call for owners, and the
contribution checklist of a technique not launched yet."""

from lifecycle.forms import OfferHelpForm
from lifecycle.models import Deprecation, OwnerInterest
from lifecycle.selectors import checklist
from techniques.models import Stage
from techniques.panels import Panel, register_panel


def deprecation_banner(request, technique):
    deprecation = (
        Deprecation.objects.filter(technique=technique).select_related("replacement").first()
        if technique.stage in (Stage.DEPRECATING, Stage.DEPRECATED)
        else None
    )
    if deprecation is None:
        return None
    listed = list(
        deprecation.interests.filter(status=OwnerInterest.Status.APPROVED).select_related("user")
    )
    offered = (
        request.user.is_authenticated and deprecation.interests.filter(user=request.user).exists()
    )
    return Panel(
        "lifecycle/_banner.html",
        {
            "deprecation": deprecation,
            "listed": listed,
            "offered": offered,
            "technique": technique,
            "form": OfferHelpForm(),
        },
    )


register_panel(deprecation_banner, order=5)


def contribution_panel(request, technique):
    """Before launch the owners' duties do not bind yet: the technique's page shows how
    far its contribution process is, just before the duties the portal checks."""
    if not technique.may_launch:
        return None
    return Panel("lifecycle/_checklist.html", {"checklist": checklist(technique)})


register_panel(contribution_panel, order=15)

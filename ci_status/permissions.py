"""Who may see what in ci_status: the sync pages are for the TFMOT team (staff)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from tfmot_portal.permissions import is_team


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_team(request.user):
            raise PermissionDenied("The sync pages are for the TFMOT team.")
        return view(request, *args, **kwargs)

    return wrapper

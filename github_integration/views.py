"""Pages of the GitHub integration: your account and its GitHub link, the bootstrap."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from github_integration.bootstrap import bootstrap_decide as decide
from github_integration.forms import BootstrapDecisionForm
from github_integration.permissions import DECIDE_BOOTSTRAP, SEE_SETUP
from github_integration.selectors import bootstrap_page, me_page
from tfmot_portal.forms import submit


@login_required
@require_safe
def me(request):
    """Who you are, your GitHub link, and the techniques it makes you an owner of."""
    return render(request, "github_integration/me.html", me_page(request.user))


@login_required
@require_safe
def bootstrap(request):
    SEE_SETUP.check(request.user)
    return render(request, "github_integration/bootstrap.html", bootstrap_page())


@login_required
@require_POST
def bootstrap_decide(request):
    DECIDE_BOOTSTRAP.check(request.user)

    def decide_selected(proposal, action):
        ids = [chosen.pk for chosen in proposal]
        count = decide(ids, request.user, confirm=action == "confirm")
        done = "confirmed" if action == "confirm" else "rejected"
        messages.success(request, f"{count} proposal(s) {done}.")

    submit(request, BootstrapDecisionForm(request.POST), decide_selected)
    return redirect("github_integration:bootstrap")

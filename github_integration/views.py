"""Pages of the GitHub integration: your account and its GitHub link, the bootstrap."""

from __future__ import annotations

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from github_integration.bootstrap import bootstrap_decide as decide
from github_integration.forms import BootstrapDecisionForm
from github_integration.models import BootstrapProposal, GapIssue, TeamSync
from github_integration.permissions import DECIDE_BOOTSTRAP, SEE_SETUP
from github_integration.signin import github_signin_configured
from techniques.models import Maintainer, Technique
from tfmot_portal.forms import submit


@login_required
@require_safe
def me(request):
    """Who you are, your GitHub link, and the techniques it makes you an owner of."""
    account = SocialAccount.objects.filter(user=request.user, provider="github").first()
    github_id = int(account.uid) if account and account.uid.isdigit() else None
    maintainers = list(
        Maintainer.objects.for_user(request.user).select_related("group").order_by("group__name")
    )
    techniques = Technique.objects.owned_by(request.user).for_pages().order_by("name")
    return render(
        request,
        "github_integration/me.html",
        {
            "account": account,
            "github_login": account.extra_data.get("login") if account else "",
            "github_id": github_id,
            "github_url": (account.extra_data.get("html_url") or "") if account else "",
            "maintainers": maintainers,
            "techniques": techniques,
            "can_connect": github_signin_configured() and account is None,
        },
    )


@login_required
@require_safe
def bootstrap(request):
    SEE_SETUP.check(request.user)
    proposals = BootstrapProposal.objects.order_by("repository", "state", "kind", "key")
    pending = [p for p in proposals if p.state == BootstrapProposal.State.PENDING]
    decided = [p for p in proposals if p.state != BootstrapProposal.State.PENDING][:200]
    teams = TeamSync.objects.select_related("group").order_by("group__name")
    issues = GapIssue.objects.select_related("gap__technique").order_by("-claimed_at")[:50]
    return render(
        request,
        "github_integration/bootstrap.html",
        {"pending": pending, "decided": decided, "teams": teams, "issues": issues},
    )


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

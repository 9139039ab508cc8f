"""Reads of the GitHub integration for pages: a person's account page, the bootstrap."""

from __future__ import annotations

from allauth.socialaccount.models import SocialAccount

from github_integration.models import BootstrapProposal, GapIssue, TeamSync
from github_integration.signin import github_signin_configured
from techniques.models import Maintainer, Technique

DECIDED_SHOWN = 200
ISSUES_SHOWN = 50


def me_page(user) -> dict:
    """Who ``user`` is, their GitHub link, the maintainer entries it makes theirs and the
    techniques they own; ``can_connect`` while sign-in with GitHub is on and unlinked."""
    account = SocialAccount.objects.filter(user=user, provider="github").first()
    github_id = int(account.uid) if account and account.uid.isdigit() else None
    maintainers = list(
        Maintainer.objects.for_user(user).select_related("group").order_by("group__name")
    )
    return {
        "account": account,
        "github_login": account.extra_data.get("login") if account else "",
        "github_id": github_id,
        "github_url": (account.extra_data.get("html_url") or "") if account else "",
        "maintainers": maintainers,
        "techniques": Technique.objects.owned_by(user).for_pages().order_by("name"),
        "can_connect": github_signin_configured() and account is None,
    }


def bootstrap_page() -> dict:
    """The bootstrap's proposals (pending, then the latest decided), the team syncs and
    the latest gap issues."""
    proposals = BootstrapProposal.objects.order_by("repository", "state", "kind", "key")
    pending = [p for p in proposals if p.state == BootstrapProposal.State.PENDING]
    decided = [p for p in proposals if p.state != BootstrapProposal.State.PENDING]
    return {
        "pending": pending,
        "decided": decided[:DECIDED_SHOWN],
        "teams": TeamSync.objects.select_related("group").order_by("group__name"),
        "issues": GapIssue.objects.select_related("gap__technique").order_by("-claimed_at")[
            :ISSUES_SHOWN
        ],
    }

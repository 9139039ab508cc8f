"""Sign in with GitHub through django-allauth's GitHub provider.

- The provider's endpoints come from the settings at each request: ``GITHUB_OAUTH_URL``
  (authorize and token exchange; GitHub Enterprise: its web address) and
  ``GITHUB_API_URL`` (``/user``), so one configuration serves github.com, an Enterprise
  server and the project's GitHub-shaped server.
- Password sign-up stays closed; a GitHub sign-in finds its account by the GitHub user
  id, or creates one (user name = the GitHub login, not chosen by the user). It is never
  joined to an account by user name (docs/security.md, "Identity").
- After a GitHub sign-in the maintainers with that GitHub user id follow a renamed
  login, and maintainers listed under the login without an id get it; maintainers listed
  under the login with another id are left alone and the history says so
  (:func:`github_identity_link`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.signals import user_logged_in
from allauth.account.utils import filter_users_by_email
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.github.provider import GitHubProvider
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.signals import social_account_added
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import receiver
from django.http import Http404
from django.urls import reverse

from techniques.models import Maintainer
from techniques.services import maintainer_update, maintainers_record_change

logger = logging.getLogger(__name__)


def github_signin_configured() -> bool:
    providers: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS
    return bool(providers.get("github", {}).get("APP", {}).get("client_id"))


class PortalGitHubAdapter(GitHubOAuth2Adapter):
    """allauth's GitHub adapter with its URLs read from the settings per request (allauth
    makes an adapter for each request)."""

    def __init__(self, request) -> None:
        super().__init__(request)
        self.web_url = settings.GITHUB_OAUTH_URL.rstrip("/")
        self.api_url = settings.GITHUB_API_URL.rstrip("/")
        self.authorize_url = f"{self.web_url}/login/oauth/authorize"
        self.access_token_url = f"{self.web_url}/login/oauth/access_token"
        self.profile_url = f"{self.api_url}/user"
        self.emails_url = f"{self.api_url}/user/emails"


class PortalGitHubProvider(GitHubProvider):
    oauth2_adapter_class = PortalGitHubAdapter


_login = OAuth2LoginView.adapter_view(PortalGitHubAdapter)
_callback = OAuth2CallbackView.adapter_view(PortalGitHubAdapter)


def oauth2_login(request, *args, **kwargs):
    """POST: start the sign-in (redirect to GitHub's authorize page). 404 when GitHub
    sign-in is not configured."""
    if not github_signin_configured():
        raise Http404("Sign in with GitHub is not configured.")
    return _login(request, *args, **kwargs)


def oauth2_callback(request, *args, **kwargs):
    if not github_signin_configured():
        raise Http404("Sign in with GitHub is not configured.")
    return _callback(request, *args, **kwargs)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False  # password accounts are made by staff (admin) only


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """GitHub sign-ins: an account is found by its GitHub user id only.

    A GitHub sign-in is never joined to an existing account by user name (a login may be
    a recycled one); an account and a GitHub identity are joined by a GitHub sign-in
    already linked (allauth's social account, keyed on the id) or by "Link your GitHub
    account" from a signed-in session. A new GitHub account signs up automatically: its
    user name is its login (a free variant when taken), never one the user chooses, and
    an e-mail address another account already has is dropped rather than asked about.
    """

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True  # anyone may sign in with GitHub; rights come from maintainership

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        return True  # never allauth's sign-up form: nothing of the identity is chosen

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.is_existing or request.user.is_authenticated:
            return
        # An address another account has would stop allauth's automatic sign-up at a
        # form; without e-mail verification the address proves nothing, so it is dropped.
        taken = {
            e.email.lower() for e in sociallogin.email_addresses if filter_users_by_email(e.email)
        }
        email = sociallogin.user.email or ""
        if email and filter_users_by_email(email):
            taken.add(email.lower())
            sociallogin.user.email = ""
        sociallogin.email_addresses = [
            e for e in sociallogin.email_addresses if e.email.lower() not in taken
        ]

    def save_user(self, request, sociallogin, form=None):
        """The new account's user name is the GitHub login, or a free variant of it."""
        user = sociallogin.user
        login = str(sociallogin.account.extra_data.get("login") or "")
        if login:
            user.username = get_account_adapter(request).generate_unique_username(
                [login, "github-user"]
            )
        user.set_unusable_password()
        sociallogin.save(request)
        return user

    def get_connect_redirect_url(self, request, socialaccount) -> str:
        return reverse("github_integration:me")


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def github_identity_link(user, github_id: int, login: str) -> list[Maintainer]:
    """Link ``user``'s GitHub identity to the maintainers it gives.

    Maintainers with this GitHub id follow a renamed login (recorded in the history of
    the group's techniques); maintainers listed under ``login`` without an id get it;
    the user name follows a rename when it was the old login. Returns the maintainers
    now linked.
    """
    renamed = []
    for other in (
        Maintainer.objects.filter(github_login__iexact=login, github_id__isnull=False)
        .exclude(github_id=github_id)
        .select_related("group")
    ):
        logger.warning(
            "GitHub sign-in as @%s (GitHub user %s) not linked to @%s of %s (GitHub user %s)",
            login,
            github_id,
            other.github_login,
            other.group.slug,
            other.github_id,
        )
        maintainers_record_change(
            other.group,
            f"A GitHub sign-in as @{login} (GitHub user {github_id}) was not given the rights "
            f"of @{other.github_login}: GitHub user {other.github_id} on record.",
        )
    for maintainer in Maintainer.objects.filter(github_id=github_id).select_related("group"):
        if maintainer.github_login.lower() != login.lower():
            old = maintainer.github_login
            maintainer_update(maintainer, github_login=login)
            renamed.append(old)
            maintainers_record_change(
                maintainer.group, f"@{old} is now @{login} on GitHub (same GitHub user)."
            )
    for maintainer in Maintainer.objects.filter(github_login__iexact=login, github_id__isnull=True):
        maintainer_update(maintainer, github_id=github_id)
    User = get_user_model()
    if (
        user.username.lower() != login.lower()
        and user.username.lower() in {old.lower() for old in renamed}
        and not User.objects.filter(username__iexact=login).exists()
    ):
        user.username = login
        user.save(update_fields=["username"])
    return list(Maintainer.objects.filter(github_id=github_id).select_related("group"))


def accounts_follow_rename(github_id: int, old: str, new: str) -> int:
    """User names of accounts linked to this GitHub user follow a renamed login (when
    the new name is free), so the portal's "user name = GitHub login" holds."""
    User = get_user_model()
    if User.objects.filter(username__iexact=new).exists():
        return 0
    linked = SocialAccount.objects.filter(provider="github", uid=str(github_id)).values("user_id")
    return User.objects.filter(pk__in=linked, username__iexact=old).update(username=new)


def _link_from(sociallogin) -> None:
    account = sociallogin.account
    if account.provider != "github" or not account.user_id:
        return
    github_id = _int(account.uid)
    login = str(account.extra_data.get("login") or "")
    if github_id is not None and login:
        github_identity_link(account.user, github_id, login)


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None:
        _link_from(sociallogin)


@receiver(social_account_added)
def _on_connect(sender, request, sociallogin, **kwargs):
    _link_from(sociallogin)


_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


def github_signin_is_demo() -> bool:
    """True when "Sign in with GitHub" goes to the project's GitHub-shaped server (the
    demo): its sign-in page and API share one address, which GitHub's never do
    (github.com and api.github.com; an Enterprise server's API is under /api/v3)."""
    web = settings.GITHUB_OAUTH_URL.rstrip("/")
    return github_signin_configured() and web == settings.GITHUB_API_URL.rstrip("/")


def github_demo_login(requested: str) -> str:
    """The login the demo's GitHub-shaped server is asked to approve: ``requested`` when
    it is a valid GitHub login, otherwise its default (alice)."""
    return requested if _GITHUB_LOGIN.match(requested or "") else DEMO_DEFAULT_LOGIN


DEMO_DEFAULT_LOGIN = "alice"  # fake_github.identity.DEFAULT_LOGIN (not imported: layers)

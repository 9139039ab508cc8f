from urllib.parse import urlencode

from django import template

from github_integration.signin import (
    github_demo_login,
    github_signin_configured,
    github_signin_is_demo,
)

register = template.Library()


@register.simple_tag
def github_signin_enabled() -> bool:
    """True when "Sign in with GitHub" is configured (GITHUB_OAUTH_CLIENT_ID)."""
    return github_signin_configured()


@register.simple_tag(takes_context=True)
def github_demo_signin(context) -> dict | None:
    """In demo mode only (the GitHub-shaped server is the OAuth provider): the login the
    button signs in as (``?login=`` of the sign-in page, else alice) and the query that
    asks the server for it; None otherwise."""
    if not github_signin_is_demo():
        return None
    login = github_demo_login(context["request"].GET.get("login", ""))
    return {"login": login, "query": urlencode({"auth_params": urlencode({"login": login})})}

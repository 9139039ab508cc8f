from django import template

from github_integration.signin import github_signin_configured

register = template.Library()


@register.simple_tag
def github_signin_enabled() -> bool:
    """True when "Sign in with GitHub" is configured (GITHUB_OAUTH_CLIENT_ID)."""
    return github_signin_configured()

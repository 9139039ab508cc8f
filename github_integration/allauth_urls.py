"""django-allauth's routes the GitHub sign-in uses, without a namespace (allauth reverses
them by name). Password sign-up and allauth's own password pages are not routed: the
portal's sign-in page stays the one at /accounts/login/."""

from allauth.socialaccount import views as social
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.urls import path
from django.views.decorators.http import require_http_methods

from github_integration import signin

urlpatterns = [
    path("accounts/github/login/", signin.oauth2_login, name="github_login"),
    path("accounts/github/login/callback/", signin.oauth2_callback, name="github_callback"),
    path(
        "accounts/social/login/cancelled/",
        social.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("accounts/social/login/error/", social.login_error, name="socialaccount_login_error"),
    path("accounts/social/signup/", social.signup, name="socialaccount_signup"),
    path(
        "accounts/social/connections/",
        require_http_methods(["GET", "POST"])(login_required(social.connections)),
        name="socialaccount_connections",
    ),
    # allauth sends people to "account_login": the portal's sign-in page (the route
    # named "login" answers this path first; this entry only gives allauth the name).
    path("accounts/login/", LoginView.as_view(), name="account_login"),
]

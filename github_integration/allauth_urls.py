"""django-allauth's routes the GitHub sign-in uses, without a namespace (allauth reverses
them by name). Password sign-up and allauth's own password pages are not routed."""

from django.urls import include, path

from github_integration import signin

urlpatterns = [
    path("accounts/github/login/", signin.oauth2_login, name="github_login"),
    path("accounts/github/login/callback/", signin.oauth2_callback, name="github_callback"),
    path("accounts/social/", include("allauth.socialaccount.urls")),
]

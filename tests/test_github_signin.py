"""Sign in with GitHub (django-allauth) against the project's GitHub-shaped server."""

from urllib.parse import urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from techniques.models import Maintainer, TechniqueChange


@pytest.fixture
def github_signin(settings, fake_github):
    settings.GITHUB_OAUTH_URL = fake_github.url
    settings.GITHUB_API_URL = fake_github.url
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {
            **settings.SOCIALACCOUNT_PROVIDERS["github"],
            "APP": {"client_id": "portal-client", "secret": "portal-secret"},
        }
    }
    return fake_github


def sign_in_with_github(client, login=None, next_url=None):
    """The whole OAuth flow: portal -> authorize -> callback -> token -> /user."""
    data = {"next": next_url} if next_url else {}
    start = client.post("/accounts/github/login/", data)
    assert start.status_code == 302, start.content[:300]
    authorize = start["Location"]
    if login:
        authorize += f"&login={login}"
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_login_page_offers_github_only_when_configured(client, db, settings):
    assert b"Sign in with GitHub" not in client.get("/accounts/login/").content
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APP": {"client_id": "x", "secret": "y"}}}
    assert b"Sign in with GitHub" in client.get("/accounts/login/").content


def test_unconfigured_github_sign_in_is_404(client, db):
    assert client.post("/accounts/github/login/").status_code == 404
    assert client.get("/accounts/github/login/callback/?code=x&state=y").status_code == 404


def test_first_sign_in_joins_the_owners_account_and_lands_on_their_page(
    client, github_signin, pruning, alice
):
    response = sign_in_with_github(client)  # the server approves as alice by default
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    page = client.get("/me/")
    assert page.context["user"] == alice
    assert "Weight pruning" in page.content.decode()
    account = SocialAccount.objects.get(user=alice, provider="github")
    github_id = github_signin.dataset.user_id("alice")
    assert account.uid == str(github_id)
    assert Maintainer.objects.get(github_login="alice").github_id == github_id
    me = client.get("/me/github/").content.decode()
    assert "@alice" in me and str(github_id) in me and "Weight pruning" in me


def test_renamed_login_keeps_the_link(client, github_signin, pruning, alice):
    sign_in_with_github(client)
    client.logout()
    github_signin.dataset.rename_user("alice", "alice-ml")
    response = sign_in_with_github(client, login="alice-ml")
    assert response.status_code == 302
    user = get_user_model().objects.get(pk=alice.pk)
    assert user.username == "alice-ml"
    maintainer = Maintainer.objects.get(github_id=github_signin.dataset.user_id("alice-ml"))
    assert maintainer.github_login == "alice-ml"
    assert TechniqueChange.objects.filter(
        technique=pruning, field="maintainers", after__contains="@alice is now @alice-ml"
    ).exists()
    assert "Weight pruning" in client.get("/me/").content.decode()


def test_new_github_user_gets_an_account_with_no_rights(client, github_signin, pruning):
    sign_in_with_github(client, login="mallory")
    user = get_user_model().objects.get(username="mallory")
    assert not user.is_staff and not user.has_usable_password()
    assert "do not maintain" in client.get("/me/").content.decode()


def test_staff_account_is_never_taken_over_by_a_github_login(client, github_signin, carol):
    sign_in_with_github(client, login="carol")
    github_user = SocialAccount.objects.get(provider="github").user
    assert github_user != carol and not github_user.is_staff


def test_a_code_works_once(client, github_signin, alice):
    start = client.post("/accounts/github/login/")
    approved = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(approved.headers["Location"])
    client.get(f"{callback.path}?{callback.query}")
    client.logout()
    again = client.get(f"{callback.path}?{callback.query}")
    assert again.status_code == 401  # allauth's error page, nobody signed in
    assert b"TFMOT portal" in again.content
    assert not again.wsgi_request.user.is_authenticated


def test_password_sign_in_and_lockout_still_work(client, settings, alice):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    ok = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert ok.status_code == 302
    client.logout()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert locked.status_code == 429


def test_password_sign_up_stays_closed(client, db):
    from allauth.account.adapter import get_adapter

    assert get_adapter().is_open_for_signup(None) is False


def test_staff_link_their_github_account_from_their_page(client, github_signin, carol, pruning):
    client.force_login(carol)
    page = client.get("/me/github/").content.decode()
    assert "Link your GitHub account" in page
    start = client.post("/accounts/github/login/", {"process": "connect", "next": "/me/github/"})
    approved = requests.get(start["Location"] + "&login=carol", allow_redirects=False, timeout=5)
    callback = urlsplit(approved.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302 and done["Location"] == "/me/github/"
    account = SocialAccount.objects.get(provider="github")
    assert account.user == carol and account.uid == str(github_signin.dataset.user_id("carol"))
    page = client.get("/me/github/").content.decode()
    assert "Linked to GitHub user" in page and ">@carol</a>" in page


def test_a_get_asks_to_continue_in_the_portals_layout(client, db, github_signin):
    page = client.get("/accounts/github/login/")
    assert page.status_code == 200
    assert b"TFMOT portal" in page.content and b"<form" in page.content

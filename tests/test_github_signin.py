"""Sign in with GitHub (django-allauth) against the project's GitHub-shaped server."""

import html
import re
from urllib.parse import urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from techniques.models import Maintainer, Technique, TechniqueChange
from tests.factories import ReviewFactory, UserFactory


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


def test_first_sign_in_is_never_joined_by_user_name_and_rights_follow_the_id(
    client, github_signin, pruning, alice
):
    response = sign_in_with_github(client)  # the server approves as alice by default
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    page = client.get("/me/")
    signed_in = page.context["user"]
    assert signed_in.pk != alice.pk  # the password account "alice" is not joined
    assert signed_in.username.startswith("alice")
    assert "Weight pruning" in page.content.decode()
    github_id = github_signin.dataset.user_id("alice")
    account = SocialAccount.objects.get(provider="github")
    assert account.user_id == signed_in.pk and account.uid == str(github_id)
    assert Maintainer.objects.get(github_login="alice").github_id == github_id
    me = client.get("/me/github/").content.decode()
    assert "@alice" in me and str(github_id) in me and "Weight pruning" in me
    # The maintainer now has its GitHub id: the password account of that name owns nothing.
    assert not Technique.objects.owned_by(alice).exists()
    client.force_login(alice)
    assert "do not maintain" in client.get("/me/").content.decode()


def test_renamed_login_keeps_the_link(client, github_signin, pruning):
    sign_in_with_github(client)
    user = SocialAccount.objects.get(provider="github").user
    assert user.username == "alice"
    client.logout()
    github_signin.dataset.rename_user("alice", "alice-ml")
    response = sign_in_with_github(client, login="alice-ml")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.username == "alice-ml"
    maintainer = Maintainer.objects.get(github_id=github_signin.dataset.user_id("alice-ml"))
    assert maintainer.github_login == "alice-ml"
    assert TechniqueChange.objects.filter(
        technique=pruning, field="maintainers", after__contains="@alice is now @alice-ml"
    ).exists()
    assert "Weight pruning" in client.get("/me/").content.decode()


def test_a_recycled_login_gets_none_of_the_rights_of_the_id_on_record(
    client, github_signin, pruning, alice
):
    real_id = github_signin.dataset.user_id("alice")
    Maintainer.objects.filter(github_login="alice").update(github_id=real_id)
    draft = ReviewFactory(technique=pruning)
    # alice renames herself; someone else (another GitHub id) takes the login "alice".
    github_signin.dataset.rename_user("alice", "alice-ml")
    assert github_signin.dataset.user_id("alice") != real_id
    sign_in_with_github(client, login="alice")
    intruder = SocialAccount.objects.get(provider="github").user
    assert intruder.pk != alice.pk
    assert not Technique.objects.owned_by(intruder).exists()
    assert "do not maintain" in client.get("/me/").content.decode()
    assert client.get(f"/reviews/{draft.pk}/edit").status_code in (403, 404)
    assert Maintainer.objects.get(github_login="alice").github_id == real_id
    note = TechniqueChange.objects.get(technique=pruning, after__contains="not given the rights")
    assert f"GitHub user {real_id} on record" in note.after
    # The real alice, under her new login, is the owner.
    client.logout()
    sign_in_with_github(client, login="alice-ml")
    page = client.get("/me/")
    assert page.context["user"].pk not in (alice.pk, intruder.pk)
    assert "Weight pruning" in page.content.decode()
    assert Maintainer.objects.get(github_id=real_id).github_login == "alice-ml"


def test_a_github_sign_up_never_chooses_its_user_name(client, github_signin, pruning, alice):
    """The GitHub account's public e-mail is alice's: the sign-up is still automatic (the
    address is dropped), under the GitHub login, and a posted user name is ignored."""
    Maintainer.objects.create(group=pruning.owner_group, github_login="grace")
    github_signin.dataset.public_emails["mallory"] = alice.email
    response = sign_in_with_github(client, login="mallory")
    assert response.status_code == 302 and "/social/signup" not in response["Location"]
    mallory = SocialAccount.objects.get(provider="github").user
    assert mallory.username == "mallory" and mallory.email == ""
    posted = client.post("/accounts/social/signup/", {"username": "grace", "email": ""})
    assert posted.status_code in (302, 403, 404)
    User = get_user_model()
    assert not User.objects.filter(username="grace").exists()
    assert User.objects.get(pk=mallory.pk).username == "mallory"
    assert not Technique.objects.owned_by(mallory).exists()
    client.logout()
    sign_in_with_github(client, login="grace")
    grace = User.objects.get(username="grace")
    assert list(Technique.objects.owned_by(grace)) == [pruning]


def test_a_password_account_never_has_the_rights_of_a_github_id(db, pruning):
    """A maintainer with a GitHub id is only the GitHub sign-in with that id; one without
    is the account of its name while that account has no GitHub sign-in."""
    Maintainer.objects.filter(github_login="dave").update(github_id=4242)
    dave = UserFactory(username="dave")
    assert not Technique.objects.owned_by(dave).exists()
    assert not pruning.is_owned_by(dave)
    alice = UserFactory(username="alice")
    assert list(Technique.objects.owned_by(alice)) == [pruning]
    assert pruning.is_owned_by(alice)
    SocialAccount.objects.create(user=alice, provider="github", uid="777")
    alice = get_user_model().objects.get(pk=alice.pk)
    assert not Technique.objects.owned_by(alice).exists()  # a GitHub sign-in: by id only
    assert not pruning.is_owned_by(alice)
    SocialAccount.objects.create(user=dave, provider="github", uid="4242")
    dave = get_user_model().objects.get(pk=dave.pk)
    assert list(Technique.objects.owned_by(dave)) == [pruning]
    assert pruning.is_owned_by(dave)


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


def test_demo_sign_in_page_says_who_github_signs_in_as_and_picks_another_login(
    client, db, github_signin
):
    page = client.get("/accounts/login/").content.decode()
    assert "approves at once, with no password, as the GitHub user <strong>alice</strong>" in page
    assert "?login=bob" in page
    bob = client.get("/accounts/login/?login=bob")
    assert b"as the GitHub user <strong>bob</strong>" in bob.content
    action = re.search(r'action="(/accounts/github/login/[^"]*)"', bob.content.decode())
    start = client.post(html.unescape(action.group(1)))
    assert start.status_code == 302
    approved = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(approved.headers["Location"])
    client.get(f"{callback.path}?{callback.query}")
    assert client.get("/me/").context["user"].username == "bob"


def test_sign_in_page_outside_the_demo_says_nothing_of_the_demo(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APP": {"client_id": "x", "secret": "y"}}}
    settings.GITHUB_OAUTH_URL = "https://github.com"
    settings.GITHUB_API_URL = "https://api.github.com"
    page = client.get("/accounts/login/?login=bob").content
    assert b"Sign in with GitHub" in page
    assert b"github-demo-note" not in page and b"auth_params" not in page

"""Sign-in from the header returns to the page it was asked on; from the home page it lands on /me/."""

import re


def _header_sign_in(client, path):
    page = client.get(path).content.decode()
    return re.search(r'<a href="([^"]*)">Sign in</a>', page).group(1)


def test_header_sign_in_on_the_home_page_lands_on_me(client, alice):
    link = _header_sign_in(client, "/")
    assert link == "/accounts/login/"
    done = client.post(link, {"username": "alice", "password": "pw-for-tests-1"})
    assert done.status_code == 302 and done["Location"] == "/me/"


def test_header_sign_in_elsewhere_returns_to_that_page(client, alice):
    link = _header_sign_in(client, "/releases/?sha=abc")
    assert link == "/accounts/login/?next=/releases/%3Fsha%3Dabc"
    done = client.post(link, {"username": "alice", "password": "pw-for-tests-1"})
    assert done.status_code == 302 and done["Location"] == "/releases/?sha=abc"

"""Sign in with GitHub in a real browser, against the project's GitHub-shaped server,
with the Content-Security-Policy on (its form-action must allow GitHub's authorize page)."""

import copy

import pytest

from tests.browser.conftest import serious_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def github_server(settings):
    from fake_github import FakeGitHub, demo_dataset

    with FakeGitHub(demo_dataset()) as server:
        settings.GITHUB_OAUTH_URL = server.url
        settings.GITHUB_API_URL = server.url
        settings.SOCIALACCOUNT_PROVIDERS = {
            "github": {
                **settings.SOCIALACCOUNT_PROVIDERS["github"],
                "APP": {"client_id": "demo-client", "secret": "demo-secret"},
            }
        }
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"].append(server.url)
        settings.CONTENT_SECURITY_POLICY = policy
        yield server


def test_sign_in_with_github_lands_on_the_owners_page(browser, live_server, demo, github_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        shot(page, "github-sign-in")
        page.click("#github-sign-in")  # the GitHub-shaped server approves as alice
        page.wait_for_url("**/me/")
        assert "Signed in as alice" in " ".join(page.locator(".account").inner_text().split())
        assert "Magnitude-based weight pruning" in page.locator("main").inner_text()
        page.goto("/me/github/")
        main = page.locator("main").inner_text()
        assert "Linked to GitHub user @alice" in main
        assert "TensorFlow Model Optimization" in main
        shot(page, "github-account")
        context_axe = browser.new_context(base_url=live_server.url, bypass_csp=True)
        axe_page = context_axe.new_page()
        axe_page.context.add_cookies(context.cookies())
        axe_page.goto("/me/github/")
        assert serious_violations(axe_page) == []
        context_axe.close()
    finally:
        context.close()

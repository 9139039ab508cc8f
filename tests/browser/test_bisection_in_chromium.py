"""The TFMOT team's way from a verified culprit to its revert, in a real browser: carol
(staff) follows "Bisections to act on" from her landing page to the bisection, presses
"Open revert", and the draft revert PR the GitHub-shaped server opened through the
``revertPullRequest`` mutation is linked on the page."""

import re

import pytest

from convergence.models import Bisection, BisectionStep, Revert
from tests.browser.conftest import serious_violations, shot
from tests.factories import BisectionFactory, BisectionStepFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def verified(transactional_db, demo_github, resnet):
    """A verified bisection of pruning/resnet50 (auto revert off) whose culprit is the
    newest merged PR of the GitHub-shaped server's repository."""
    ds = demo_github.dataset
    resnet.technique.auto_revert = False
    resnet.technique.save()
    index, commit = next(
        (i, c)
        for i, c in reversed(list(enumerate(ds.commits)))
        if c.pr_number and ds.issue(c.pr_number).merged_at
    )
    pull = ds.issue(commit.pr_number)
    chosen = ds.commits[index - 2 : index + 2]  # parent's parent .. the commit after
    commits = [
        {
            "sha": c.sha,
            "message": c.message,
            "url": "",
            "pr": c.pr_number,
            "pr_url": f"https://github.com/{ds.full_name}/pull/{c.pr_number}"
            if c.pr_number
            else "",
            "pr_title": ds.issue(c.pr_number).title if c.pr_number else "",
            "rank": 0,
            "reason": "",
        }
        for c in chosen
    ]
    bisection = BisectionFactory(
        test=resnet,
        repository=ds.full_name,
        commits=commits,
        range_base=ds.commits[index - 3].sha,
        range_head=chosen[-1].sha,
        state=Bisection.State.VERIFIED,
        verified=True,
        culprit_sha=commit.sha,
        culprit_parent_sha=chosen[1].sha,
        culprit_pr=pull.number,
        culprit_pr_url=commits[2]["pr_url"],
        culprit_pr_author=pull.author,
        culprit_why=f"the test fails at {commit.sha[:7]} and passes at its parent",
        runs_dispatched=4,
    )
    for sha, verdict, purpose in [
        (chosen[1].sha, "good", "search"),
        (commit.sha, "bad", "search"),
        (commit.sha, "bad", "verify"),
        (chosen[1].sha, "good", "verify"),
    ]:
        BisectionStepFactory(
            bisection=bisection,
            sha=sha,
            verdict=verdict,
            purpose=purpose,
            status=BisectionStep.Status.DONE,
            run_url=f"https://github.com/{ds.full_name}/actions/runs/{len(sha)}",
        )
    return bisection


def test_carol_opens_the_revert_of_a_verified_culprit_from_her_landing(
    browser, live_server, carol, verified, demo_github
):
    ds = demo_github.dataset
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_server.url, bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", "carol")
        page.fill("#id_password", "pw-for-tests-1")
        page.click("form:has(#id_password) button[type=submit]")
        page.wait_for_url("**/me/")
        section = page.locator("#bisections")
        entry = section.get_by_role("link", name="pruning/resnet50")
        assert f"verified culprit #{verified.culprit_pr}" in section.inner_text()
        entry.click()
        page.wait_for_url(f"**{verified.get_absolute_url()}")
        assert "Verified" in page.locator(".bisection-state").inner_text()
        assert f"PR #{verified.culprit_pr}" in page.locator("main").inner_text()
        assert "No revert is open." in page.locator("main").inner_text()
        assert serious_violations(page) == []

        page.get_by_role("button", name="Open revert").click()
        page.wait_for_url(f"**{verified.get_absolute_url()}")
        number = ds.reverts[verified.culprit_pr]  # the mutation reached the server
        link = page.get_by_role("link", name=f"Revert PR #{number}")
        assert link.get_attribute("href") == f"https://github.com/{ds.full_name}/pull/{number}"
        assert re.search(r"open.*opened by carol", page.locator("main").inner_text())
        assert page.get_by_role("button", name="Open revert").count() == 0
        assert f"Draft revert #{number} opened" in page.locator("main").inner_text()
        assert serious_violations(page) == []
        shot(page, "bisection-revert-opened")
    finally:
        context.close()
    opened = ds.issue(number)
    assert opened.draft and opened.title.startswith("Revert ")
    assert verified.get_absolute_url() in opened.body
    revert = Revert.objects.get()
    assert revert.state == Revert.State.OPEN and revert.opened_by.username == "carol"

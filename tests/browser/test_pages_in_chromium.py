"""The main pages in a real browser: content, keyboard, accessibility, and the owners'
and team's flows from end to end. Screenshots go to test-artifacts/screenshots/."""

import re
from datetime import date, timedelta

import pytest

from tests.browser.conftest import serious_violations, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_public_pages_content_and_accessibility(page):
    from techniques.models import Technique

    for name, path, title in [
        ("home", "/", "Techniques"),
        ("technique", "/techniques/pruning/", Technique.objects.get(slug="pruning").name),
        ("owners", "/owners/", "Owners"),
        ("pipeline", "/pipeline/", "In the pipeline"),
    ]:
        page.goto(path)
        assert page.title() == f"{title} · TFMOT portal", name
        shot(page, f"public-{name}")
        assert serious_violations(page) == [], name
    page.goto("/techniques/pruning/")
    assert "Owned by TensorFlow Model Optimization" in page.locator(".owned-by").inner_text()
    assert page.locator("#tos-h").inner_text().startswith("What to expect: Production")


def test_skip_link_is_the_first_stop_for_the_keyboard(page):
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_owner_fills_and_submits_a_review_staff_accepts_it(page, browser, live_server):
    sign_in(page, "alice")
    page.goto("/reviews/")
    row = page.locator("tr", has_text="Magnitude-based weight pruning")
    row.get_by_role("link", name="Fill in").click()
    page.fill("#id_benefits_usage", "Pruning is used **widely** in on-device models.")
    page.wait_for_function(
        "document.getElementById('autosave-status').textContent.includes('Draft saved')",
        timeout=15000,
    )
    for radio in page.locator("input[type=radio][value=met]").all():
        radio.check()
    for note in page.locator("fieldset.duty input[type=text]").all():
        note.fill("Agreed with the team; see the evidence.")
    shot(page, "review-form")
    page.click("#preview-review")
    page.wait_for_url("**/preview")
    page.click("#submit-review")
    page.wait_for_selector("text=Review submitted to the TFMOT team")
    review_url = page.url
    assert serious_violations(page) == []

    staff = browser.new_context(base_url=live_server.url, bypass_csp=True).new_page()
    sign_in(staff, "carol")
    staff.goto(review_url)
    staff.get_by_role("button", name="Accept review").click()
    staff.wait_for_selector("text=accepted")
    shot(staff, "review-accepted")
    staff.goto("/techniques/pruning/")
    assert "used widely in on-device models" in re.sub(
        r"\s+", " ", staff.locator("#review-h").locator("..").inner_text()
    )


def test_staff_waives_a_gap_and_sees_the_ci_grid(page):
    sign_in(page, "carol")
    page.goto("/adherence/?sort=most")
    assert serious_violations(page) == []
    page.locator("td.cell-fail a").first.click()
    page.fill("#id_reason", "Agreed at the TFMOT sync; owners are hiring.")
    until = (date.today() + timedelta(days=60)).isoformat()
    page.fill("#id_until", until)
    page.get_by_role("button", name="Waive gap").click()
    page.wait_for_selector(f"text=Gap waived until {until}")
    shot(page, "gap-waived")
    page.goto("/ci/")
    assert page.locator(".status-failing").count() >= 1
    assert "Likely culprit" in page.content()
    assert page.locator("form[action*='culprit']").count() >= 1  # staff may look it up
    shot(page, "ci-grid")
    assert serious_violations(page) == []


def test_text_over_its_limit_is_counted_refused_and_kept_as_typed(page):
    """A 50,000-character answer is not cut at 20,000 by the browser: the count beside
    the box says it is over, saving refuses it with a message, and the form comes back
    with every character typed."""
    sign_in(page, "alice")
    page.locator("#your-reviews li a").first.click()
    page.wait_for_url(re.compile(r".*/reviews/\d+/edit$"))
    count = page.locator("#id_benefits_usage-limit")
    assert count.inner_text().endswith("of 20,000 characters")
    answer = "Used for int8 deployment on Pixel phones. " * 1200  # 50,400 characters
    page.fill("#id_benefits_usage", answer)
    assert page.input_value("#id_benefits_usage") == answer
    assert count.inner_text() == "50,399 of 20,000 characters: 30,399 over the limit"
    assert "over" in count.get_attribute("class")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "Not saved: Benefits and usage: 50,399 characters, 30,399 over the limit" in main
    assert "Draft saved." not in main
    assert page.input_value("#id_benefits_usage") == answer  # as typed, to the last space
    assert "30,399 over the limit" in count.inner_text()
    # Shortened to fit, it saves.
    page.fill("#id_benefits_usage", answer[:19_000])
    assert "over" not in count.inner_text()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert "Draft saved." in page.locator("main").inner_text()
    assert serious_violations(page) == []


def test_api_docs_badges_are_readable_and_api_docs_and_sync_pass_axe(page):
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=20000)
    badges = page.locator(".info .title small")
    assert badges.count() == 2  # the API's version and the OpenAPI version
    for i in range(badges.count()):
        colours = badges.nth(i).evaluate(
            """small => [getComputedStyle(small.querySelector('pre')).color,
                         getComputedStyle(small.querySelector('pre')).backgroundColor,
                         getComputedStyle(small).backgroundColor]"""
        )
        text, behind, badge = colours
        assert behind == "rgba(0, 0, 0, 0)" and text != badge, colours  # no panel over it
    assert serious_violations(page) == []
    sign_in(page, "carol")
    page.goto("/sync/")
    assert serious_violations(page) == []

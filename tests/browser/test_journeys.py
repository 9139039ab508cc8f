"""The three journeys the portal is designed around, in a real browser, with axe:
the TFMOT team (carol) finds failing production convergence tests and who answers for
them in one click; an owner (alice) fills and submits her overdue review from her page;
a visitor reads the CI grid. And no public page is wider than a phone."""

import re

import pytest
from django.utils import timezone

from tests.browser.conftest import overflow, serious_violations, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_carol_finds_failing_production_tests_and_their_owners_in_one_click(page):
    sign_in(page, "carol")
    assert page.url.endswith("/me/")
    attention = page.locator("#failing-tests")
    # The landing page already names the test and the people responsible.
    assert "mobilenetv2-imagenet-qat-int8" in attention.inner_text()
    assert "TensorFlow Model Optimization" in attention.inner_text()
    assert "@alice*" in attention.inner_text()
    assert serious_violations(page) == []
    shot(page, "journey-carol-landing")
    # One click: the full list, filtered, with the owners beside each test.
    attention.get_by_role("link", name="Failing production convergence tests").click()
    page.wait_for_url("**/ci/?tos=production&state=failing")
    rows = page.locator("table.testgrid tbody tr[id^=test-]")
    assert rows.count() >= 1
    for i in range(rows.count()):
        row = rows.nth(i)
        assert "Failing" in row.inner_text()
        assert "Production TOS" in row.inner_text()
        assert row.locator("td.tg-owners a").count() >= 1  # the owner group, the star
    assert "TensorFlow Model Optimization" in rows.first.inner_text()
    assert serious_violations(page) == []
    shot(page, "journey-carol-failing-tests")


def test_the_team_menu_keeps_the_header_on_one_line(page):
    sign_in(page, "carol")
    links = page.locator(".sections > ul > li")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, "the section links wrap onto several lines"
    page.locator(".sections details summary").click()
    page.get_by_role("link", name="Audit").click()
    page.wait_for_url("**/audit/")
    assert "user" not in page.locator("ol.audit").inner_text().lower().split("changed")[0]


def test_alice_fills_and_submits_her_overdue_review_from_her_page(page):
    sign_in(page, "alice")
    mine = page.locator("#your-reviews")
    overdue = mine.locator("li", has_text="days overdue").first
    # The demo leaves one of her reviews of the previous half-year open.
    today = timezone.localdate()
    previous = f"{today.year} H1" if today.month > 6 else f"{today.year - 1} H2"
    assert f"{previous} review" in overdue.inner_text()
    overdue.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/reviews/\d+/edit$"))
    assert "days overdue" in page.locator("main").inner_text()
    # Pre-filled from the portal's results: duties the data checks have a rating.
    assert page.locator("fieldset.duty input[type=radio]:checked").count() >= 5
    assert "Portal's results" in page.locator("fieldset.duty").first.inner_text()
    assert serious_violations(page) == []
    page.fill("#id_benefits_usage", "QAT is used **widely** for int8 deployment.")
    leaving = "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; }"
    assert page.evaluate(leaving), "typed text without a warning before leaving"
    page.wait_for_function(
        "document.getElementById('autosave-status').textContent.includes('Draft saved')",
        timeout=15000,
    )
    assert not page.evaluate(leaving), "a saved draft still warns before leaving"
    for fieldset in page.locator("fieldset.duty").all():
        if fieldset.locator("input[type=radio]:checked").count() == 0:
            fieldset.locator("input[type=radio][value=met]").check()
        fieldset.locator("input[type=text]").fill("As the evidence shows; owners are on it.")
    shot(page, "journey-alice-review-form")
    page.click("#preview-review")
    page.wait_for_url(re.compile(r".*/reviews/\d+/preview$"))
    preview = page.locator("main").inner_text()
    assert "used widely for int8 deployment" in preview
    assert "not_met" not in preview and "self_assessment" not in preview
    assert serious_violations(page) == []
    shot(page, "journey-alice-preview")
    page.click("#submit-review")
    page.wait_for_selector("text=Review submitted to the TFMOT team")
    assert "Submitted" in page.locator("main").inner_text()
    assert "not_met" not in page.locator("main").inner_text()


def test_a_visitor_reads_the_ci_grid(page):
    page.goto("/")
    page.get_by_role("link", name="CI", exact=True).click()
    page.wait_for_url("**/ci/")
    assert "/accounts/login/" not in page.url
    headers = page.locator("table.testgrid thead th.tg-col")
    assert headers.count() >= 5
    assert re.fullmatch(
        r"\d\d-\d\d\s*[0-9a-f]{7}|\d\d-\d\d\s*internal", headers.first.inner_text().strip()
    )
    head = page.locator("table.testgrid thead").inner_text()
    assert "TOS" in head and "Owners" in head
    assert page.locator("td.tg-cell.run-failed").count() >= 1
    assert page.locator("form[action*='culprit']").count() == 0  # no actions for visitors
    assert serious_violations(page) == []
    shot(page, "journey-visitor-ci")
    page.select_option("#f-state", "failing")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**state=failing**")
    for text in page.locator("table.testgrid tbody tr[id^=test-]").all_inner_texts():
        assert "Failing" in text


def test_a_visitor_searches_from_the_header(page):
    page.goto("/")
    page.fill("#site-q", "arm")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=arm")
    page.get_by_role("link", name="Arm ML Tooling").first.click()
    page.wait_for_url("**/groups/**")
    assert "Maintainers" in page.locator("main").inner_text()
    assert page.locator("main a[href^='mailto:']").count() >= 1
    assert serious_violations(page) == []


PUBLIC_PAGES = [
    "/",
    "/owners/",
    "/pipeline/",
    "/ci/",
    "/releases/",
    "/search/?q=pruning",
    "/api/docs/",
    "/accounts/login/",
    "/releases/?sha=abcdef1",
]


def test_no_public_page_overflows_a_phone(browser, live_server, demo):
    from techniques.models import OwnerGroup, Technique

    pages = PUBLIC_PAGES + [t.get_absolute_url() for t in Technique.objects.all()]
    pages += [g.get_absolute_url() for g in OwnerGroup.objects.all()]
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, bypass_csp=True
    )
    phone = context.new_page()
    wide = {}
    for path in pages:
        phone.goto(path)
        if path == "/api/docs/":
            phone.wait_for_selector(".opblock", timeout=20000)
        if overflow(phone) > 0:
            wide[path] = overflow(phone)
    phone.goto("/")
    assert phone.locator("table.techniques td .health").first.is_visible()  # health
    health = phone.locator("table.techniques td .health").first.bounding_box()
    assert health["x"] + health["width"] <= 390
    shot(phone, "phone-home")
    context.close()
    assert not wide, f"pages wider than 390 px: {wide}"


def test_api_docs_show_public_reads_unlocked_and_no_console_error(browser, live_server, demo):
    # The real Content-Security-Policy this time (no bypass): any violation is an error.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    docs = context.new_page()
    errors = []
    docs.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    docs.goto("/api/docs/")
    docs.wait_for_selector(".opblock", timeout=20000)
    assert docs.locator(".site-header").count() == 1  # inside the portal's frame
    get_ops = docs.locator(".opblock-get")
    assert get_ops.count() >= 10
    assert get_ops.locator(".authorization__btn").count() == 0
    assert docs.locator(".opblock-post .authorization__btn").count() >= 1  # the upload
    context.close()
    assert errors == []


def test_alice_lands_first_on_her_red_convergence_test(page):
    """The policy's most urgent duty (find the PR, revert) is the first card of her page,
    above her gaps and the table of her techniques."""
    sign_in(page, "alice")
    first = page.locator("section.attention-card").first
    assert first.get_attribute("id") == "your-red-tests"
    assert "mobilenetv2-imagenet-qat-int8" in first.inner_text()
    assert "revert" in first.inner_text()
    table = page.locator("table.mine").bounding_box()
    assert first.bounding_box()["y"] < page.locator("#your-gaps").bounding_box()["y"] < table["y"]
    assert serious_violations(page) == []
    shot(page, "journey-alice-landing")


def _boxes_overlap(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_the_adherence_pages_fit_a_phone_and_the_matrix_headers_stay_apart(
    browser, live_server, demo
):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, bypass_csp=True
    )
    phone = context.new_page()
    sign_in(phone, "carol")
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    for path in ("/adherence/", "/adherence/trend/"):
        phone.goto(path)
        assert phone.evaluate(fits), f"{path} is {overflow(phone)} px wider than the phone"
        for select in phone.locator("main select").all():
            box = select.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, path
        shot(phone, "phone" + path.rstrip("/").replace("/", "-"))
    phone.goto("/adherence/")
    # The group headers, and each one's text, print clear of one another.
    headers = phone.locator("table.matrix thead th.area")
    assert headers.count() >= 3
    texts = phone.evaluate(
        """() => [...document.querySelectorAll('table.matrix thead th.area')].map(th => {
            const range = document.createRange(); range.selectNodeContents(th);
            const r = range.getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height};
        })"""
    )
    cells = [headers.nth(i).bounding_box() for i in range(headers.count())]
    for i in range(len(texts) - 1):
        assert not _boxes_overlap(cells[i], cells[i + 1])
        assert not _boxes_overlap(texts[i], texts[i + 1]), (i, texts[i], texts[i + 1])
    for text, cell in zip(texts, cells, strict=True):
        assert (
            text["x"] >= cell["x"] - 1
            and text["x"] + text["width"] <= cell["x"] + cell["width"] + 1
        )
    context.close()

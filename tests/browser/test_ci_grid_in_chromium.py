"""The CI grid in Chromium at 1366x900 and 390x844: one column per commit, never cut off
on the right (it scrolls inside its frame, the test column stays), cells linked to their
runs with the outcome and the missed figure on hover, the culprit note within the
screen, and the state beside the test on a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from convergence.models import ConvergenceRun
from convergence.services import convergence_state_update
from tests.browser.conftest import overflow, shot
from tests.factories import (
    BenefitTargetFactory,
    ConvergenceRunFactory,
    ConvergenceTestFactory,
    CulpritRangeFactory,
    TechniqueFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

PASSED, FAILED = ConvergenceRun.Outcome.PASSED, ConvergenceRun.Outcome.FAILED
SHARED = "5" * 40  # the commit both tests ran, on different days
LOG = "https://github.com/tensorflow/model-optimization/actions/runs/77"


@pytest.fixture
def grid(transactional_db):
    """Three tests over 16 commits; the first test broke two commits ago (an open alert
    with a long culprit note); the second ran the shared commit a day after the first."""
    now = timezone.now()
    tests = [
        ConvergenceTestFactory(technique=TechniqueFactory(name=f"Technique {n}"), name=f"resnet{n}")
        for n in range(3)
    ]
    BenefitTargetFactory(test=tests[0], metric="top1", documented_value=76.0, tolerance=0.3)
    for test_index, test in enumerate(tests):
        for i in range(16):
            sha = SHARED if i == 10 else f"{i:x}" * 40
            broken = test_index == 0 and i >= 14
            ConvergenceRunFactory(
                test=test,
                started_at=now - timedelta(days=16 - i, hours=-test_index * 20 if i == 10 else 0),
                tfmot_sha=sha,
                outcome=FAILED if broken else PASSED,
                metrics={"top1": 74.2 if broken else 76.4},
                log_url=LOG,
            )
        convergence_state_update(test)
    broken = tests[0]
    broken.refresh_from_db()
    CulpritRangeFactory(
        test=broken,
        base_sha=broken.last_good_run.tfmot_sha,
        head_sha=broken.first_bad_run.tfmot_sha,
        fetched_at=now,
        commits=[{"sha": "e" * 40, "message": "m", "author": "a", "url": ""}],
        pull_requests=[
            {
                "number": 900 + n,
                "title": "A long pull request title that says what changed in quantization " * 2,
                "url": f"https://github.com/tensorflow/model-optimization/pull/{900 + n}",
                "merged_at": now.isoformat(),
                "overlap": 3 - n,
                "reason": "changes quantization/keras/quantize.py",
            }
            for n in range(3)
        ],
    )
    return tests


def open_grid(browser, live_server, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live_server.url
    )
    page = context.new_page()
    page.goto("/ci/?sort=name")
    return context, page


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_grid_at_1366_one_column_per_commit_scrolls_in_its_frame(browser, live_server, grid):
    context, page = open_grid(browser, live_server, 1366, 900)
    try:
        shot(page, "ci-grid-1366")
        assert overflow(page) == 0
        # The shared commit is one column, though its runs are a day apart.
        assert page.locator("code.tg-sha", has_text=SHARED[:7]).count() == 1
        shas = page.locator("thead .tg-sha").all_inner_texts()
        assert len(shas) == len(set(shas)) == 14
        frame = box(page, ".table-scroll")
        assert frame["x"] + frame["width"] <= 1366
        # Scrolled to its end inside the frame, the last column shows whole; the test
        # column stays at the frame's left edge.
        page.locator(".table-scroll").evaluate("el => el.scrollLeft = el.scrollWidth")
        last = box(page, "thead th.tg-col:last-child")
        assert last["x"] + last["width"] <= frame["x"] + frame["width"] + 1
        test_cell = box(page, "tbody th.tg-test")
        assert abs(test_cell["x"] - frame["x"]) <= 1
        page.locator(".table-scroll").evaluate("el => el.scrollLeft = 0")
        # The culprit note stays within the screen.
        note = box(page, ".tg-detail-body")
        assert note["x"] >= 0 and note["x"] + note["width"] <= 1366
        # A red cell: the outcome and the missed figure on hover, linked to its run.
        cell = page.locator(f"#test-{grid[0].pk} td.run-failed").first
        title = cell.get_attribute("title")
        assert title.startswith("failed on") and "misses top1 74.2" in title
        cell.locator("a").click()
        page.wait_for_url("**/ci/runs/*/")
        assert page.locator(f'a[href="{LOG}"]').count() == 1
        assert "Failed" in page.locator(".run-outcome").inner_text()
    finally:
        context.close()


def test_grid_on_a_phone_keeps_the_state_beside_the_test(browser, live_server, grid):
    context, page = open_grid(browser, live_server, 390, 844)
    try:
        assert overflow(page) == 0
        state = page.locator(f"#test-{grid[0].pk} td.tg-state")
        assert "Failing" in state.inner_text()
        before = state.bounding_box()
        assert before["x"] + before["width"] <= 390
        page.locator(".table-scroll").evaluate("el => el.scrollLeft = 600")
        after = state.bounding_box()
        assert after["x"] >= 0 and after["x"] + after["width"] <= 390
        assert abs(after["x"] - before["x"]) <= 1
        shot(page, "ci-grid-390")
        note = box(page, ".tg-detail-body")
        assert note["x"] >= 0
    finally:
        context.close()

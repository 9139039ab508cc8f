"""The landing page's sections show their first entries and count them all (one query per
section: the total rides on the rows), so "All N" tells the team how much waits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import GapFactory

pytestmark = pytest.mark.django_db


def section(page: str, key: str) -> str:
    return page.split(f'id="{key}"')[1].split("</section>")[0]


def test_a_section_lists_eight_and_counts_every_entry(carol_client):
    now = timezone.now()
    for day in range(11):
        GapFactory(opened_at=now - timedelta(days=day % 7))
    GapFactory(opened_at=now - timedelta(days=9))  # older
    page = carol_client.get("/me/").content.decode()
    new_gaps = section(page, "new-gaps")
    assert '<span class="count-badge nonzero">11</span>' in new_gaps
    assert new_gaps.count("<li>") == 8
    assert ">All 11</a>" in new_gaps
    # A new gap's detail is coloured as a failure; a waiver ending soon as a warning.
    assert new_gaps.count('class="status status-fail"') == 8
    GapFactory(state="waived", waived_until=now + timedelta(days=3))
    waivers = section(carol_client.get("/me/").content.decode(), "waivers")
    assert waivers.count('class="status status-warn"') == 1


def test_an_empty_section_counts_zero_and_says_so(carol_client):
    page = carol_client.get("/me/").content.decode()
    waivers = section(page, "waivers")
    assert '<span class="count-badge">0</span>' in waivers
    assert "No waiver ends soon." in waivers


def test_the_staff_landing_reads_each_section_in_one_query(carol_client):
    for _ in range(3):
        GapFactory(opened_at=timezone.now())
    carol_client.get("/me/")
    with CaptureQueriesContext(connection) as queries:
        carol_client.get("/me/")
    gap_reads = [q["sql"] for q in queries if 'FROM "adherence_gap"' in q["sql"]]
    # gaps this week, overdue remediation, waivers ending: no separate COUNT
    assert len(gap_reads) == 3
    assert not any(sql.startswith("SELECT COUNT(") for sql in gap_reads)


def test_a_gap_noticed_today_that_began_long_ago_is_not_new(carol_client):
    """ "Gaps opened this week" and the trend date a gap by its since, as its page does."""
    from adherence.trend import open_gaps_per_week

    now = timezone.now()
    old = GapFactory(opened_at=now, since=now - timedelta(days=100))
    new = GapFactory(opened_at=now, since=now - timedelta(days=2))
    GapFactory(opened_at=now, state="waived", waived_until=now.date() + timedelta(days=30))
    new_gaps = section(carol_client.get("/me/").content.decode(), "new-gaps")
    assert '<span class="count-badge nonzero">1</span>' in new_gaps
    assert new.get_absolute_url() in new_gaps and old.get_absolute_url() not in new_gaps
    points = open_gaps_per_week(weeks=26, now=now)
    assert points[-12][1] == 1  # 11 weeks ago: the old gap had begun, not the new one
    assert points[-16][1] == 0  # 15 weeks ago: neither
    assert points[-1][1] == 2  # now: both; the waived gap does not count

"""CSV downloads for the team's reports: the adherence matrix (signed-in users, as the
page) and a review cycle's answers (the TFMOT team: drafts included)."""

import csv
import io

import pytest
from django.utils import timezone

from reviews.models import Review
from tests.factories import GapFactory, ReviewCycleFactory, ReviewFactory, RuleResultFactory


def _rows(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_adherence_matrix_downloads_for_signed_in_users(client, bob, pruning, clustering):
    assert client.get("/adherence/matrix.csv").status_code == 302  # to the sign-in page
    now = timezone.now()
    RuleResultFactory(
        technique=pruning, rule_id="two-maintainers", status="fail", summary="", evaluated_at=now
    )
    GapFactory(technique=pruning, rule_id="two-maintainers", severity="high", opened_at=now)
    client.force_login(bob)
    header, *rows = _rows(client.get("/adherence/matrix.csv"))
    assert header[:6] == ["technique", "name", "owner_group", "tos_level", "stage", "open_gaps"]
    assert [r[0] for r in rows] == ["clustering", "pruning"]  # by name, as the page
    pruning_row = dict(zip(header, rows[1], strict=True))
    assert pruning_row["open_gaps"] == "1"
    since = pruning_row["two-maintainers since"]
    assert [v for k, v in pruning_row.items() if k.startswith("two-maintainers")] == [
        "fail",
        since,
        "'@alice",  # the group's star assignee (formula-safe), no one assigned on the gap
        "TensorFlow Model Optimization",
        "",  # no due date
    ]
    # The page's filters apply, and the page links to the download with them.
    _, *research = _rows(client.get("/adherence/matrix.csv?tos_level=research"))
    assert [r[0] for r in research] == ["clustering"]
    page = client.get("/adherence/?tos_level=research").content.decode()
    assert 'href="/adherence/matrix.csv?tos_level=research"' in page
    # As on the page: techniques with open gaps only, and one rule's column.
    header, *failing = _rows(client.get("/adherence/matrix.csv?failing=1&rule=two-maintainers"))
    assert [r[0] for r in failing] == ["pruning"]
    assert [h for h in header[7:]] == [
        "two-maintainers (high)",
        "two-maintainers since",
        "two-maintainers assignee",
        "two-maintainers group",
        "two-maintainers due",
    ]


def test_cells_that_a_spreadsheet_would_run_are_quoted(client, bob, pruning):
    pruning.name = '=HYPERLINK("http://evil")'
    pruning.save()
    client.force_login(bob)
    _, row = _rows(client.get("/adherence/matrix.csv"))
    assert row[1] == '\'=HYPERLINK("http://evil")'


@pytest.fixture
def cycle(pruning, clustering, alice):
    cycle = ReviewCycleFactory(year=2026, half=1)
    ReviewFactory(
        cycle=cycle,
        technique=pruning,
        status=Review.Status.SUBMITTED,
        submitted_by=alice,
        submitted_at=timezone.now(),
        benefits_usage="Used by 40 teams.",
        self_assessment={"response-time": {"rating": "met", "note": "@SUM(A1)"}},
        proposal_deprecate=False,
    )
    ReviewFactory(cycle=cycle, technique=clustering)
    return cycle


def test_a_cycles_answers_download_for_the_team_only(client, alice, carol, cycle):
    url = f"/reviews/cycles/{cycle.pk}/answers.csv"
    assert client.get(url).status_code == 302
    client.force_login(alice)  # an owner: sees her own review, not the whole cycle
    assert client.get(url).status_code == 403
    assert "answers.csv" not in client.get(f"/reviews/?cycle={cycle.pk}").content.decode()
    client.force_login(carol)
    assert f'href="{url}"' in client.get(f"/reviews/?cycle={cycle.pk}").content.decode()
    response = client.get(url)
    assert 'filename="reviews-2026-H1.csv"' in response["Content-Disposition"]
    header, *rows = _rows(response)
    answers = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(answers) == {"pruning", "clustering"}
    assert answers["pruning"]["status"] == "submitted"
    assert answers["pruning"]["submitted_by"] == "alice"
    assert answers["pruning"]["benefits_usage"] == "Used by 40 teams."
    assert answers["pruning"]["response-time: rating"] == "met"
    assert answers["pruning"]["response-time: note"] == "'@SUM(A1)"
    assert answers["clustering"]["status"] == "draft"
    assert client.get("/reviews/cycles/999999/answers.csv").status_code == 404

"""Text cut to fit a column: the limit comes from the model field, nowhere else."""

from ci_status.models import Issue
from ci_status.upserts import issue_from_json
from techniques.text import fit
from tests.factories import RepositoryFactory


def test_fit_cuts_at_the_fields_max_length_and_reads_none_as_empty():
    limit = Issue._meta.get_field("title").max_length
    assert fit(Issue, "title", "x" * (limit + 50)) == "x" * limit
    assert fit(Issue, "title", "short") == "short"
    assert fit(Issue, "title", None) == ""
    assert fit(Issue, "state", 12345678901234) == "1234567890"  # max_length 10, as text


def test_fit_leaves_unbounded_text_whole():
    assert fit(Issue, "body_excerpt", "y" * 10_000) == "y" * 10_000


def test_a_synced_item_longer_than_its_columns_is_stored_cut(db):
    repository = RepositoryFactory()
    long_url = "https://github.com/" + "a" * 400
    issue = issue_from_json(
        repository,
        {
            "number": 1,
            "title": "t" * 900,
            "html_url": long_url,
            "user": {"login": "u" * 80},
            "author_association": "CONTRIBUTOR" * 5,
            "created_at": "2026-01-02T03:04:05Z",
            "labels": [{"name": "l" * 150}],
        },
    )
    issue.save()
    issue.refresh_from_db()
    assert len(issue.title) == 500 and len(issue.html_url) == 300
    assert len(issue.author) == 60 and len(issue.author_association) == 30
    assert issue.labels == ["l" * 100]

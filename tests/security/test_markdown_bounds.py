"""Review Markdown: linear-time parsing, size and depth limits, and whatever is stored
renders (as escaped plain text at worst) on the review page and the technique page."""

import re
from html import unescape

import pytest

from reviews.markup import MAX_MARKDOWN_CHARS, MAX_MARKDOWN_DEPTH, render_markdown
from reviews.models import Review
from reviews.services import cycles_ensure

pytestmark = pytest.mark.django_db

DEEP_LIST = "- " * 1000 + "deep"
DEEP_QUOTES = "> " * 5000 + "deep"
BRACKETS = "[" * MAX_MARKDOWN_CHARS


@pytest.fixture
def accepted_review(pruning):
    review = Review.objects.get(cycle=cycles_ensure(), technique=pruning)
    Review.objects.filter(pk=review.pk).update(
        status=Review.Status.ACCEPTED, benefits_usage=DEEP_LIST, major_updates=DEEP_QUOTES
    )
    return review


def visible(html: str) -> str:
    """The text a reader sees: tags dropped, entities read."""
    return unescape(re.sub(r"<[^>]+>", "", html)).strip()


@pytest.mark.parametrize("text", [DEEP_LIST, DEEP_QUOTES, BRACKETS, "<" * 20_000])
def test_pathological_text_renders_whole_and_escaped(text):
    html = render_markdown(text)
    assert visible(html) == text.strip()
    assert "<script" not in html


def test_runaway_emphasis_renders_as_emphasis_of_its_own_characters():
    html = render_markdown("*_" * 10_000)
    assert html.startswith("<p><em>") and set(visible(html)) == {"*", "_"}


def test_nesting_deeper_than_the_limit_is_plain_text_not_cut():
    text = "- " * (MAX_MARKDOWN_DEPTH + 5) + "last words"
    html = render_markdown(text)
    assert 'class="md-plain"' in html and "last words" in html
    assert "<li>" in render_markdown("- a\n  - b\n    - c")


def test_text_over_the_size_limit_is_plain_text():
    html = render_markdown("**x** " * (MAX_MARKDOWN_CHARS // 6 + 1))
    assert "<strong>" not in html and "**x**" in html


def test_markdown_is_sanitized_and_links_are_safe():
    html = render_markdown(
        "**ok** <script>alert(1)</script> <img src=x onerror=alert(1)> "
        "[x](javascript:alert(1)) [y](https://example.org)"
    )
    assert "<strong>ok</strong>" in html and 'href="https://example.org"' in html
    assert "<script" not in html and "onerror" not in html and 'href="javascript' not in html
    assert "noopener" in html


def test_stored_deep_text_never_breaks_the_review_or_technique_page(
    accepted_review, alice_client, pruning
):
    assert alice_client.get(f"/reviews/{accepted_review.pk}/").status_code == 200
    page = alice_client.get(f"/techniques/{pruning.slug}/")
    assert page.status_code == 200 and b"deep" in page.content


def test_preview_of_pathological_text_answers(alice_client):
    for text in (BRACKETS, DEEP_LIST, DEEP_QUOTES):
        response = alice_client.post("/reviews/preview", {"text": text})
        assert response.status_code == 200, text[:20]
        assert visible(response.json()["html"]) == text.strip()  # as the saved text reads

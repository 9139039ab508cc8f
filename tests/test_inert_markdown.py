"""Quoted text in the Markdown the portal writes to GitHub renders as plain characters."""

from markdown_it import MarkdownIt

from techniques.text import inert


def _render(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def test_a_phishing_title_is_neither_a_link_nor_a_ping():
    title = "cc @tensorflow/everyone](https://evil.example/phish) ![x](y) `code` <b>"
    html = _render(f"Quoted: {inert(title)}")
    assert "<a " not in html and "<img" not in html and "<code>" not in html
    assert "<b>" not in html
    assert "@tensorflow" not in html  # no mention survives
    assert "@\u200btensorflow" in html  # shown, but no longer a mention


def test_a_comment_marker_in_quoted_text_is_shown_not_hidden():
    out = inert("title <!-- tfmot-portal-gap-3 -->")
    assert "<!--" not in out
    assert _render(out).count("&lt;!--") == 1  # rendered as the characters it holds


def test_quoted_text_is_one_line():
    assert "\n" not in inert("a\n# heading\n\n- item")


def test_plain_words_stay_readable():
    assert inert("Fix pruning callback") == "Fix pruning callback"
    assert inert(None) == ""

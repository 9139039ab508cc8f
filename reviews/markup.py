"""Markdown for review text: CommonMark with a linear-time parser, bounded, sanitized.

markdown-it-py parses in time linear in the text (no backtracking over brackets or
emphasis); the size and nesting limits bound the work and the output of any one
render. Whatever is stored renders: text over the limits, or anything the parser
cannot handle, is shown as escaped plain text instead of failing the page.
"""

from __future__ import annotations

import logging

import nh3
from django.utils.html import escape
from markdown_it import MarkdownIt

logger = logging.getLogger(__name__)

MAX_MARKDOWN_CHARS = 20_000  # the longest review text (reviews.models.MAX_TEXT)
MAX_MARKDOWN_DEPTH = 16  # nested lists, quotes and inline markup

_parser = MarkdownIt("commonmark", {"maxNesting": MAX_MARKDOWN_DEPTH + 4, "html": True}).enable(
    ["table", "strikethrough"]
)


def plain_text_html(text: str) -> str:
    """The text escaped, line breaks kept: what any stored text can always show as."""
    return f'<p class="md-plain">{escape(text).replace(chr(10), "<br>")}</p>'


def _too_deep(tokens) -> bool:
    return any(
        token.level > MAX_MARKDOWN_DEPTH
        or any(child.level > MAX_MARKDOWN_DEPTH for child in token.children or ())
        for token in tokens
    )


def render_markdown(text: str) -> str:
    """Markdown to HTML, sanitized by nh3 (no script, no event handlers, safe links).

    Text over MAX_MARKDOWN_CHARS or nested deeper than MAX_MARKDOWN_DEPTH is shown as
    escaped plain text, whole, rather than cut or dropped.
    """
    text = text or ""
    if len(text) > MAX_MARKDOWN_CHARS:
        return plain_text_html(text)
    try:
        tokens = _parser.parse(text)
        if _too_deep(tokens):
            return plain_text_html(text)
        html = _parser.renderer.render(tokens, _parser.options, {})
        return nh3.clean(html, link_rel="noopener noreferrer nofollow")
    except Exception:  # a page must render whatever text is stored
        logger.exception("Markdown rendering failed; showing the text as plain text")
        return plain_text_html(text)

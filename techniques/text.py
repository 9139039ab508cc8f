"""Text cut to fit the database: one home for "as long as the field allows"."""

from __future__ import annotations

from django.db import models


def max_length(model: type[models.Model], field: str) -> int | None:
    """The field's ``max_length`` (None for unbounded text)."""
    return model._meta.get_field(field).max_length  # type: ignore[union-attr]


def fit(model: type[models.Model], field: str, value: object) -> str:
    """``value`` as text (None as ""), cut to what ``model.field`` can store."""
    text = "" if value is None else str(value)
    limit = max_length(model, field)
    return text[:limit] if limit else text


# Markdown punctuation that can start a link, an image, code, emphasis, a table cell or
# a heading: escaped with a backslash so quoted text reads as the characters it holds.
_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#+-.!|~")
_ZWSP = "\u200b"


def inert(text: object) -> str:
    """Quoted text (an issue title, a login, a commit message) made inert for the
    Markdown the portal writes to GitHub: one line, read as the characters it holds.

    Every writer of outgoing Markdown (gap issues, comments, revert bodies) passes quoted
    text through here. HTML's ``& < >`` become entities (so ``<!-- marker -->`` is shown,
    never hidden), Markdown punctuation is backslash-escaped (no links, images, code or
    emphasis), ``@`` is followed by a zero-width space (no mention or team ping: GitHub
    links ``@name`` in the rendered text, entities included) and bare URLs are broken
    by a zero-width space (GitHub autolinks ``https://`` and ``www.`` in plain text).
    """
    line = " ".join(("" if text is None else str(text)).split())
    out = []
    for char in line:
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == "@":
            out.append("@" + _ZWSP)
        elif char in _MARKDOWN_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    return escaped.replace("://", ":" + _ZWSP + "//").replace("www\\.", "www" + _ZWSP + "\\.")

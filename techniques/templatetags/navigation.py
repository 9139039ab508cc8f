"""The technique list of the navigation, built in Python: it is on every page with every
technique, where a template loop would cost more than the rest of the page."""

from html import escape

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def technique_nav_items(items: list[dict], current_slug: str | None = None) -> SafeString:
    """``<li>`` links to each technique, the current one marked ``aria-current``.
    Plain string building with one escape per value: with every technique, on every
    page, ``format_html`` per link would cost more than the rest of a small page."""
    return SafeString(  # nosec B703 - one escape per value below
        "\n".join(
            f'<li><a href="{escape(i["url"])}"'
            + (' aria-current="page"' if i["slug"] == current_slug else "")
            + f">{escape(i['name'])}</a></li>"
            for i in items
        )
    )


@register.simple_tag
def name_options(objects, selected="", width: int = 0, value: str = "slug") -> SafeString:
    """``<option>`` per object (value: its ``value`` attribute, the slug by default; text:
    its name, cut at ``width`` characters when given), the ``selected`` value marked.
    One escape per value: filters list every technique."""

    chosen = "" if selected is None else str(selected)

    def text(name: str) -> str:
        return name if not width or len(name) <= width else name[: width - 1] + "…"

    def marked(key: str) -> str:
        return " selected" if chosen and key == chosen else ""

    return SafeString(  # nosec B703 - one escape per value below
        "".join(
            f'<option value="{escape(str(getattr(o, value)))}"'
            + marked(str(getattr(o, value)))
            + f">{escape(text(o.name))}</option>"
            for o in objects
        )
    )

"""The technique list of the navigation, built in Python: it is on every page with every
technique, where a template loop would cost more than the rest of the page."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def technique_nav_items(items: list[dict], current_slug: str | None = None) -> SafeString:
    """``<li>`` links to each technique, the current one marked ``aria-current``."""
    return format_html_join(
        "\n",
        "<li>{}</li>",
        (
            (
                format_html('<a href="{}" aria-current="page">{}</a>', i["url"], i["name"])
                if i["slug"] == current_slug
                else format_html('<a href="{}">{}</a>', i["url"], i["name"]),
            )
            for i in items
        ),
    )


@register.simple_tag
def slug_options(objects, selected: str = "", width: int = 0) -> SafeString:
    """``<option>`` per object (value: its slug, text: its name, cut at ``width``
    characters when given), the ``selected`` slug marked."""

    def text(name: str) -> str:
        return name if not width or len(name) <= width else name[: width - 1] + "…"

    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (o.slug, SafeString(" selected") if o.slug == selected else "", text(o.name))
            for o in objects
        ),
    )

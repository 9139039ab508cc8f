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

"""Markup drawn many times a page, built in Python with one escape per value: the
navigation's technique links (every technique, on every page), the TOS and health badges
of table rows, the filters' options, and links whose route is reversed once per page
(``url_once``, ``{% route %}``), where template loops, filters and ``{% url %}`` per row
would cost more than the rest of the page."""

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from techniques.models import MIN_MAINTAINERS

register = template.Library()

_ARG = "987654321"  # a placeholder that fits both <int:pk> and <slug:slug>


def cut(text: str, width: int) -> str:
    """As the ``truncatechars`` filter cuts a name: ``width`` characters, "…" included."""
    return text if len(text) <= width else text[: width - 1] + "…"


def url_once(context, name: str, arg=None) -> str:
    """``reverse(name, args=[arg])`` for tags that draw many rows: each route is reversed
    once per page render (with a placeholder argument), then filled in per row."""
    patterns = context.render_context.setdefault("urls_once", {})
    if name not in patterns:
        patterns[name] = reverse(name, args=[] if arg is None else [_ARG])
    return patterns[name] if arg is None else patterns[name].replace(_ARG, str(arg))


@register.simple_tag(takes_context=True)
def route(context, name: str, arg=None) -> str:
    """``{% url name arg %}`` for rows drawn many times a page: the route is reversed
    once per page (``url_once``)."""
    return url_once(context, name, arg)


@register.simple_tag
def tos_badge(technique) -> SafeString:
    """A technique's terms-of-service level as a badge."""
    return SafeString(  # nosec B703 - one escape per value
        f'<span class="tos tos-{escape(technique.tos_level)}" title="Terms of service">'
        f"{escape(str(technique.get_tos_level_display()))} TOS</span>"
    )


@register.simple_tag(takes_context=True)
def health_badge(context, technique) -> SafeString:
    """A technique's stored health level and points, linked to how health is computed."""
    level = escape(technique.health_level)
    points = technique.health_points
    label = escape(str(technique.get_health_level_display()))
    if points:
        label += f' <span class="health-points">· {points} pt{"" if points == 1 else "s"}</span>'
    url = escape(url_once(context, "adherence:health"))
    return SafeString(  # nosec B703 - one escape per value
        f'<a class="health health-{level}" href="{url}#level-{level}" '
        f'title="How health is computed">{label}</a>'
    )


@register.simple_tag
def technique_nav_items(items: str, current_slug: str | None = None) -> SafeString:
    """The ``<li>`` links of one TOS level (HTML escaped once, when the navigation was
    built: ``techniques.context_processors``), the current technique's marked
    ``aria-current``."""
    if current_slug:
        link = escape(reverse("techniques:detail", args=[current_slug]))
        items = items.replace(f'<a href="{link}">', f'<a href="{link}" aria-current="page">', 1)
    return SafeString(items)  # nosec B703 - escaped where it was built


@register.simple_tag
def name_options(objects, selected="", width: int = 0, value: str = "slug") -> SafeString:
    """``<option>`` per object (value: its ``value`` attribute, the slug by default; text:
    its name, cut at ``width`` characters when given), the ``selected`` value marked.
    One escape per value: filters list every technique."""

    chosen = "" if selected is None else str(selected)
    options = []
    for item in objects:
        key, name = str(getattr(item, value)), item.name
        if width:
            name = cut(name, width)
        mark = " selected" if chosen and key == chosen else ""
        options.append(f'<option value="{escape(key)}"{mark}>{escape(name)}</option>')
    return SafeString("".join(options))  # nosec B703 - one escape per value above


@register.filter
def too_few_maintainers(active: int) -> bool:
    """Whether a group with ``active`` active maintainers is short of the policy's 2+."""
    return active < MIN_MAINTAINERS


@register.filter
def dotted_name(name: str) -> SafeString:
    """A Python name (``tfmot.sparsity.keras``) that wraps after its dots and commas in a
    narrow column, never inside a word."""
    text = escape(str(name or ""))
    return SafeString(text.replace(".", ".<wbr>").replace(", ", ",<wbr> "))  # nosec B703 - escaped

"""The grid's run cells, built in Python: 25 tests x 14 columns on every page of the
grid, where a template loop per cell would cost more than the rest of the page."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def run_cells(cells: list[dict | None]) -> SafeString:
    """One ``<td>`` per column: the run's symbol and, for screen readers, its label."""
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    '<td class="tg-cell run-{}" title="{}"><span aria-hidden="true">{}</span>'
                    '<span class="visually-hidden">{}</span></td>',
                    cell["outcome"],
                    cell["label"],
                    cell["symbol"],
                    cell["label"],
                )
                if cell
                else SafeString('<td class="tg-cell"></td>'),
            )
            for cell in cells
        ),
    )

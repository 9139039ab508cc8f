"""Display of adherence figures: matrix cells, "failing N days, since DATE", health."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

GLYPHS = {"pass": "✓", "fail": "✗", "waived": "~ waived", "na": "N/A", "unknown": "?"}


@register.filter
def cell_text(cell) -> str:
    """✗ 146d for a dated failing gap, ✗ alone when its start is unknown (never "0d")."""
    glyph = GLYPHS.get(cell.status, "?")
    if cell.status == "fail" and cell.days_failing is not None:
        return f"{glyph} {cell.days_failing}d"
    return glyph


@register.filter
def cell_title(cell) -> str:
    return cell_title_at(cell)


def cell_title_at(cell, now=None) -> str:
    if cell.status == "waived" and cell.gap and cell.gap.waived_until:
        return f"Waived until {cell.gap.waived_until:%Y-%m-%d}. {cell.summary}"
    if cell.status == "fail" and cell.gap:
        return f"{failing_for(cell.gap, now).capitalize()}. {cell.summary}"
    return cell.summary


@register.filter
def failing_for(gap, now=None) -> str:
    """ "failing 146 days, since 2026-06-30" from the gap's since (when the violation began)."""
    if gap.since is None:
        return "failing, start not dated by the rule"
    days = gap.days_failing(now or timezone.now())
    verb = "failed" if gap.resolved_at else "failing"
    return f"{verb} {days} day{'s' if days != 1 else ''}, since {gap.since:%Y-%m-%d}"


# The matrix's cells, built in Python: 50 techniques x 22 rules a page, where a template
# branch per cell would cost more than the rest of the page.
_CELL_HTML = {
    "waived": (
        '<td class="cell cell-waived" title="{title}"><a href="{url}">~'
        '<span class="visually-hidden"> {rule} waived</span></a></td>'
    ),
    "pass": (
        '<td class="cell cell-pass" title="{summary}">✓'
        '<span class="visually-hidden"> {rule} met</span></td>'
    ),
    "na": (
        '<td class="cell cell-na" title="{summary}">·'
        '<span class="visually-hidden"> {rule} not applicable</span></td>'
    ),
    "unknown": (
        '<td class="cell cell-unknown" title="{summary}">?'
        '<span class="visually-hidden"> {rule} not evaluated</span></td>'
    ),
}
_FAIL_LINKED = (
    '<td class="cell cell-fail" title="{title}"><a href="{url}">{text}'
    '<span class="visually-hidden"> {rule} failing: {title}</span></a></td>'
)
_FAIL = (
    '<td class="cell cell-fail" title="{title}">{text}'
    '<span class="visually-hidden"> {rule} failing</span></td>'
)


@register.simple_tag
def matrix_cells(cells) -> SafeString:
    """One ``<td>`` per cell: failing (days, linked to its gap), waived, met, not
    applicable or not evaluated, each with its words for screen readers."""
    now = timezone.now()
    html = []
    for cell in cells:
        if cell.status == "fail":
            title = cell_title_at(cell, now)
            template_ = _FAIL_LINKED if cell.gap else _FAIL
            html.append(
                format_html(
                    template_,
                    title=title,
                    url=cell.gap.get_absolute_url() if cell.gap else "",
                    text=cell_text(cell),
                    rule=cell.rule_id,
                )
            )
        elif cell.status == "waived":
            html.append(
                format_html(
                    _CELL_HTML["waived"],
                    title=cell_title_at(cell, now),
                    url=cell.gap.get_absolute_url() if cell.gap else "",
                    rule=cell.rule_id,
                )
            )
        else:
            html.append(
                format_html(
                    _CELL_HTML.get(cell.status, _CELL_HTML["unknown"]),
                    summary=cell.summary,
                    rule=cell.rule_id,
                )
            )
    return SafeString("".join(html))

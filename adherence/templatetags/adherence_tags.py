"""Display of adherence figures: matrix cells, "failing N days, since DATE", health."""

from __future__ import annotations

from datetime import datetime
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from adherence.models import Gap
from adherence.selectors import Shown
from techniques.templatetags.navigation import cut, health_badge, url_once

register = template.Library()

GLYPHS = {
    Shown.PASS: "✓",
    Shown.FAIL: "✗",
    Shown.WAIVED: "~ waived",
    Shown.NA: "N/A",
    Shown.UNKNOWN: "?",
}


@register.filter
def cell_text(cell) -> str:
    """✗ 146d for a dated failing gap, ✗ alone when its start is unknown (never "0d")."""
    glyph = GLYPHS.get(cell.status, "?")
    if cell.status == Shown.FAIL and cell.days_failing is not None:
        return f"{glyph} {cell.days_failing}d"
    return glyph


def cell_title_at(cell, now=None) -> str:
    if cell.status == Shown.WAIVED and cell.gap and cell.gap.waived_until:
        return f"Waived until {cell.gap.waived_until:%Y-%m-%d}. {cell.summary}"
    if cell.status == Shown.FAIL and cell.gap:
        failing = f"{failing_for(cell.gap, now).capitalize()}.{due_words(cell, now)} {cell.summary}"
        return _acknowledged_words(cell.gap) + failing
    return cell.summary


def _acknowledged(gap) -> bool:
    return gap is not None and gap.state == Gap.State.ACKNOWLEDGED


def _acknowledged_words(gap) -> str:
    """ "Acknowledged on 2026-12-01: the owners are on it. " for an acknowledged gap."""
    if not _acknowledged(gap):
        return ""
    when = f" on {gap.acknowledged_at:%Y-%m-%d}" if gap.acknowledged_at else ""
    return f"Acknowledged{when}: the owners are on it. "


def due_words(cell, now=None) -> str:
    """ " Due 2027-03-31." (" Overdue since …" once passed), or nothing without a due date."""
    if getattr(cell, "due", None) is None:
        return ""
    today = timezone.localdate(now) if now else timezone.localdate()
    if cell.due < today:
        return f" Overdue: due {cell.due:%Y-%m-%d}."
    return f" Due {cell.due:%Y-%m-%d}."


def _due_mark(cell, today) -> str:
    """The cell's visible due date (``due 31 Mar``), marked when it has passed."""
    if cell.due is None:
        return ""
    late = cell.due < today
    return (
        f'<span class="due{" overdue" if late else ""}">{"overdue " if late else "due "}'
        f"{cell.due:%-d %b}</span>"
    )


@register.filter
def failing_for(gap, now=None) -> str:
    """ "failing 146 days, since 2026-06-30" from the gap's since (when the violation began)."""
    if gap.since is None:
        return "failing, start not dated by the rule"
    days = gap.days_failing(now or timezone.now())
    verb = "failed" if gap.resolved_at else "failing"
    return f"{verb} {days} day{'s' if days != 1 else ''}, since {gap.since:%Y-%m-%d}"


# The matrix's cells, built in Python with one escape per value: 50 techniques x 22
# rules a page, where a template branch (or format_html) per cell would cost more than the
# rest of the page.
_CELL_HTML = {
    Shown.WAIVED: (
        '<td class="cell cell-waived" title="{title}"><a href="{url}">~'
        '<span class="visually-hidden"> {rule} waived</span></a></td>'
    ),
    Shown.PASS: (
        '<td class="cell cell-pass" title="{summary}">✓'
        '<span class="visually-hidden"> {rule} met</span></td>'
    ),
    Shown.NA: (
        '<td class="cell cell-na" title="{summary}">·'
        '<span class="visually-hidden"> {rule} not applicable</span></td>'
    ),
    Shown.UNKNOWN: (
        '<td class="cell cell-unknown" title="{summary}">?'
        '<span class="visually-hidden"> {rule} not evaluated</span></td>'
    ),
}
_CAUTION = (
    '<td class="cell cell-pass cell-caution" title="{summary}">✓ {caution}'
    '<span class="visually-hidden"> {rule} met, {caution}</span></td>'
)
_FAIL_LINKED = (
    '<td class="cell cell-fail{ack_class}" title="{title}"><a href="{url}">{text}{ack}'
    '<span class="visually-hidden"> {rule} failing: {title}</span></a>{due}</td>'
)
# An acknowledged gap still fails and counts, but the owners have answered it: the matrix
# tells it from an unanswered one (the legend says so).
_ACK_MARK = '<span class="ack-mark" aria-hidden="true"> ack</span>'

_FAIL = (
    '<td class="cell cell-fail" title="{title}">{text}'
    '<span class="visually-hidden"> {rule} failing</span></td>'
)


@register.simple_tag(takes_context=True)
def matrix_cells(context, cells) -> SafeString:
    """One ``<td>`` per cell: failing (days, linked to its gap), waived, met, not
    applicable or not evaluated, each with its words for screen readers."""
    now = timezone.now()
    today = timezone.localdate(now)

    def gap_url(gap) -> str:
        return escape(url_once(context, "adherence:gap", gap.pk)) if gap else ""

    html = []
    for cell in cells:
        rule = escape(cell.rule_id)
        if cell.status == Shown.FAIL:
            html.append(
                (_FAIL_LINKED if cell.gap else _FAIL).format(
                    title=escape(cell_title_at(cell, now)),
                    url=gap_url(cell.gap),
                    text=escape(cell_text(cell)),
                    rule=rule,
                    due=_due_mark(cell, today),
                    ack_class=" cell-acknowledged" if _acknowledged(cell.gap) else "",
                    ack=_ACK_MARK if _acknowledged(cell.gap) else "",
                )
            )
        elif cell.status == Shown.WAIVED:
            html.append(
                _CELL_HTML[Shown.WAIVED].format(
                    title=escape(cell_title_at(cell, now)), url=gap_url(cell.gap), rule=rule
                )
            )
        elif cell.caution:
            html.append(
                _CAUTION.format(
                    summary=escape(cell.summary), caution=escape(cell.caution), rule=rule
                )
            )
        else:
            html.append(
                _CELL_HTML.get(cell.status, _CELL_HTML[Shown.UNKNOWN]).format(
                    summary=escape(cell.summary), rule=rule
                )
            )
    return SafeString("".join(html))  # nosec B703 - every value escaped above


@register.simple_tag(takes_context=True)
def matrix_row_head(context, row) -> SafeString:
    """A matrix row's first cell: the technique (linked), its TOS and group, its open
    gaps and its health."""
    technique, group = row.technique, row.technique.owner_group
    name = escape(technique.name)
    html = (
        f'<a href="{escape(url_once(context, "techniques:detail", technique.slug))}" '
        f'title="{name}">{escape(cut(technique.name, 34))}</a><br><span class="muted">'
        f"{escape(str(technique.get_tos_level_display()))}"
    )
    if group:
        html += (
            f' · <a class="muted" href="{escape(url_once(context, "techniques:group", group.slug))}"'
            f' title="{escape(group.name)}">{escape(cut(group.name, 16))}</a>'
        )
    html += "</span> "
    if row.open_gaps:
        html += (
            f'<span class="count-badge nonzero" title="open gaps">{int(row.open_gaps)}'
            '<span class="visually-hidden"> open gaps</span></span>'
        )
    html += f"<br>{health_badge(context, technique)}"
    return SafeString(f'<th scope="row" class="tech">{html}</th>')  # nosec B703 - escaped above


# --- a gap's figures --------------------------------------------------------------------


def _label(key: object) -> str:
    return str(key).replace("_", " ").capitalize()


def _is_web_link(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _scalar(value: object) -> str:
    """One figure as read on the portal's pages: times as Y-m-d H:i (local), links as
    links, nothing as a dash; escaped."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if _is_web_link(value):
            return f'<a href="{escape(value)}">{escape(value)}</a>'
        if len(value) > 10 and value[:4].isdigit() and value[10:11] == "T":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return escape(value)
            if moment.tzinfo is not None:
                moment = timezone.localtime(moment)
            return escape(moment.strftime("%Y-%m-%d %H:%M"))
    return escape(str(value))


def _item_table(rows: list[dict], depth: int) -> str:
    """Rows of one shape (waiting issues, CODEOWNERS lines) as a table; a row's url
    links its title (or number) instead of a column of its own."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    linked = (
        next((c for c in ("title", "number") if c in columns), None) if "url" in columns else None
    )
    if linked:
        columns.remove("url")
    head = "".join(f'<th scope="col">{escape(_label(c))}</th>' for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column == linked and _is_web_link(row.get("url")):
                cells.append(
                    f'<td><a href="{escape(str(row["url"]))}">{escape(str(value))}</a></td>'
                )
            else:
                cells.append(f"<td>{_figures_html(value, depth + 1)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-scroll"><table class="figures"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _figures_html(value: object, depth: int = 0) -> str:
    if depth > 4:
        return escape(str(value))
    if isinstance(value, dict):
        if not value:
            return "—"
        pairs = "".join(
            # The rule's own keys read as words; deeper keys are names (tests, logins).
            f"<dt>{escape(_label(k) if depth == 0 else str(k))}</dt>"
            f"<dd>{_figures_html(v, depth + 1)}</dd>"
            for k, v in value.items()
        )
        return f'<dl class="figures">{pairs}</dl>'
    if isinstance(value, list):
        if not value:
            return "none"
        if all(isinstance(v, dict) for v in value):
            return _item_table(value, depth)
        if all(not isinstance(v, dict | list) for v in value):
            return ", ".join(_scalar(v) for v in value)
        return "<ul>" + "".join(f"<li>{_figures_html(v, depth + 1)}</li>" for v in value) + "</ul>"
    return _scalar(value)


@register.filter
def figures(evidence: object) -> SafeString:
    """A rule's evidence (a gap's stored figures) as a labelled list: keys as words,
    lists of items as tables, times and links as the pages show them."""
    return SafeString(_figures_html(evidence))  # nosec B703 - each value escaped as built

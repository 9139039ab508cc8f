"""The grid's rows, the tests' state badges and their alert lines, built in Python: 25
tests x 14 columns, with a head and an alert line per test, on every page of the grid,
where template tags and filters per cell would cost more than the rest of the page. Links
are reversed once per page (``url_once``). A gap page shows the same alert lines."""

from datetime import datetime
from html import escape

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString

from convergence.models import State
from techniques.templatetags.navigation import cut, tos_badge, url_once

register = template.Library()


def _day(moment: datetime | None) -> str:
    """As the template filter ``date:"Y-m-d"`` draws it: in the current time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%d") if moment else ""


@register.simple_tag(takes_context=True)
def run_cells(context, cells: list[dict | None]) -> SafeString:
    """One ``<td>`` per column: the run's symbol, linked to the run's page; its label
    (outcome, date, commit, the documented figures it misses) on hover and, for screen
    readers, in words."""
    html = []
    for cell in cells:
        if cell is None:
            html.append('<td class="tg-cell"></td>')
            continue
        label = escape(cell["label"])
        symbol = escape(cell["symbol"])
        inner = (
            f'<span aria-hidden="true">{symbol}</span><span class="visually-hidden">{label}</span>'
        )
        if cell.get("id"):
            url = escape(url_once(context, "convergence:run", cell["id"]))
            inner = f'<a href="{url}">{inner}</a>'
        html.append(
            f'<td class="tg-cell run-{escape(cell["outcome"])}" title="{label}">{inner}</td>'
        )
    return SafeString("".join(html))  # nosec B703 - one escape per value above


_STATE_SYMBOLS = {"passing": "✓", "failing": "✗", "flaky": "≈", "stale": "○", "no_runs": "·"}


def _owners(context, group) -> str:
    """The owner group's link and its direct assignees' (the stars)."""
    if group is None:
        return '<span class="warn">no owner group</span>'
    html = f'<a href="{escape(url_once(context, "techniques:group", group.slug))}">{escape(group.name)}</a>'
    for m in group.assignees:
        html += f'<br><a href="{escape(m.github_url)}">@{escape(m.github_login)}*</a>'
    return html


@register.simple_tag
def condition_badges(conditions) -> SafeString:
    """A badge per condition (``ConvergenceTest.conditions``, or their values in the
    release check's rows), "✓ Passing" when there is none: a failing test that is also
    flaky, or stale, says so on every page."""
    html = []
    for condition in [State(c) for c in conditions] or [State.PASSING]:
        html.append(
            f'<span class="status status-{escape(condition.value)}">'
            f"{_STATE_SYMBOLS[condition.value]} {escape(str(condition.label))}</span>"
        )
    return SafeString(" ".join(html))  # nosec B703 - one escape per value


@register.simple_tag
def state_badge(test) -> SafeString:
    """A convergence test's conditions, and a regressed benefit, as badges (the grid and
    the technique page's panel)."""
    html = str(condition_badges(test.conditions))
    if test.benefit_regressed:
        html += ' <span class="status status-fail">▼ benefit regressed</span>'
    return SafeString(html)  # nosec B703 - one escape per value


def _state(test, row) -> str:
    """The state badge and since when."""
    html = str(state_badge(test))
    if (
        test.state_since
        and test.state != "passing"
        and not row.internal_failure
        and not row.dates_hidden
    ):
        since = dateformat.format(timezone.localtime(test.state_since), "j M")
        html += f'<br><span class="muted">since {escape(since)}</span>'
    return html


@register.simple_tag(takes_context=True)
def row_head(context, row) -> SafeString:
    """A grid row's first four cells: the test (linked to its technique's page), its
    conditions and since when (beside the test, so that a phone keeps both in view), the
    TOS badge (``tos_badge``), the owner group with its direct assignees."""
    test = row.test
    technique = test.technique
    link = escape(url_once(context, "techniques:detail", technique.slug))
    kind = str(test.get_kind_display()).lower()
    about = f"{test.name} · {test.model_family} · {kind}, {test.cadence_label}"
    return SafeString(  # nosec B703 - one escape per value
        f'<th scope="row" class="tg-test"><a href="{link}#test-{test.pk}">'
        f"{escape(cut(technique.name, 48))}</a><br>"
        f'<span class="muted">{escape(about)}</span></th>'
        f'<td class="tg-state">{_state(test, row)}</td>'
        f"<td>{tos_badge(technique)}</td>"
        f'<td class="tg-owners">{_owners(context, technique.owner_group)}</td>'
    )


@register.simple_tag(takes_context=True)
def alert_row(context, row, width: int) -> SafeString:
    """The grid's line under a test with an open alert or an internal failure
    (``alert_detail``); empty for the other tests."""
    if not (row.test.alert_open or row.internal_failure):
        return SafeString("")
    return SafeString(  # nosec B703 - alert_detail escapes each value
        f'<tr class="tg-detail"><td colspan="{int(width)}"><div class="tg-detail-body">'
        f"{alert_detail(context, row)}</div></td></tr>"
    )


def _bisection_line(context, bisection) -> str:
    """The alert's bisection: its state, its culprit and the revert it opened."""
    link = escape(url_once(context, "convergence:bisection", bisection.pk))
    text = f"Bisection: {escape(bisection.get_state_display().lower())}"
    if bisection.culprit_pr:
        text += f", culprit #{int(bisection.culprit_pr)}"
    line = f'<p class="bisection-link"><a href="{link}">{text}</a>'
    revert = next((r for r in bisection.reverts.all() if r.url), None)
    if revert:
        state = "draft, " * revert.draft + revert.get_state_display().lower()
        line += (
            f'; revert <a href="{escape(revert.url)}">#{int(revert.number)}</a> ({escape(state)})'
        )
    return line + "</p>"


@register.simple_tag(takes_context=True)
def alert_detail(context, row) -> SafeString:
    """Since when the test fails, its last good and first bad runs, the culprit range
    (``_culprit.html``) and, for those who may, the button that looks the range up."""
    test = row.test
    html = ""
    if row.internal_failure:
        html += '<p class="note">An internal failure is open: the team is on it.</p>'
    if test.alert_open and not row.alert_hidden:
        html += "<strong>Culprit range:</strong> "
        if test.failing_since:
            html += f'<span class="failing-since">Failing since {_day(test.failing_since)}</span>. '
        good, bad = test.last_good_run, test.first_bad_run
        if good:
            html += (
                f"Last good <code>{escape(good.tfmot_sha[:7])}</code> ({_day(good.started_at)}), "
                f"first bad <code>{escape(bad.tfmot_sha[:7]) if bad else ''}</code> "
                f"({_day(bad.started_at) if bad else ''})."
            )
        else:
            html += "Failing since its first runs: no good run to compare with."
        culprit = row.culprit
        bisection = (
            max(culprit.bisections.all(), key=lambda b: (b.created_at, b.pk), default=None)
            if culprit
            else None
        )
        if culprit and not culprit.error:
            html += context.template.engine.get_template("convergence/_culprit.html").render(
                context.new({"culprit": culprit, "bisection": bisection})
            )
        elif culprit:
            html += f'<p class="error">Compare failed: {escape(culprit.error)}</p>'
        if bisection:
            html += _bisection_line(context, bisection)
        if context.get("may_refresh") and good:
            action = escape(url_once(context, "convergence:culprit_refresh", test.pk))
            html += (
                f' <form method="post" class="inline" action="{action}">{CsrfTokenNode().render(context)}'
                f'<button type="submit" class="secondary">{"Refresh" if culprit else "Find"} '
                "culprit range</button></form>"
            )
    return SafeString(html)  # nosec B703 - each value escaped above

"""The grid's run cells, built in Python: 25 tests x 14 columns on every page of the
grid, where a template loop per cell would cost more than the rest of the page."""

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

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


_STATE_SYMBOLS = {"passing": "✓", "failing": "✗", "flaky": "≈", "stale": "○"}


@register.simple_tag
def row_head(row) -> SafeString:
    """A grid row's first four cells, as the templates ``techniques/_tos_badge.html`` and
    ``convergence/_state.html`` draw them: the test (linked from its technique's page),
    the TOS badge, the owner group with its direct assignees, the state and since when."""
    test = row.test
    technique = test.technique
    group = technique.owner_group
    if group is not None:
        owners = format_html('<a href="{}">{}</a>', group.get_absolute_url(), group.name)
        owners += format_html_join(
            "",
            '<br><a href="{}">@{}*</a>',
            (
                (m.github_url, m.github_login)
                for m in group.active_maintainers
                if m.is_direct_assignee
            ),
        )
    else:
        owners = SafeString('<span class="warn">no owner group</span>')
    state = format_html(
        '<span class="status status-{}">{} {}</span>',
        test.state,
        _STATE_SYMBOLS.get(test.state, "?"),
        test.get_state_display(),
    )
    if test.benefit_regressed:
        state += SafeString(' <span class="status status-fail">▼ benefit regressed</span>')
    if (
        test.state_since
        and test.state != "passing"
        and not row.internal_failure
        and not row.dates_hidden
    ):
        since = dateformat.format(timezone.localtime(test.state_since), "j M")
        state += format_html('<br><span class="muted">since {}</span>', since)
    return format_html(
        '<th scope="row" class="tg-test"><a href="{}#test-{}">{}</a><br><span class="muted">'
        "{} · {} · {}, {}</span></th>"
        '<td><span class="tos tos-{}" title="Terms of service">{} TOS</span></td>'
        '<td class="tg-owners">{}</td><td>{}</td>',
        technique.get_absolute_url(),
        test.pk,
        Truncator(technique.name).chars(48),
        test.name,
        test.model_family,
        str(test.get_kind_display()).lower(),
        test.cadence_label,
        technique.tos_level,
        technique.get_tos_level_display(),
        owners,
        state,
    )

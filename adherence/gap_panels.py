"""Sections other apps add to the gap page of their rules: the evidence they hold beyond
the rule's summary (a failing convergence test's culprit range), registered in the
app's ``AppConfig.ready()`` as the technique page's panels are, so adherence imports none
of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from techniques.panels import Panel

GapPanelFunction = Callable[..., Panel | None]  # (request, gap) -> Panel | None
_GAP_PANELS: list[tuple[frozenset[str], GapPanelFunction]] = []


def register_gap_panel(rule_ids: Iterable[str], function: GapPanelFunction) -> GapPanelFunction:
    """Show ``function(request, gap)`` on the gap pages of the rules ``rule_ids``."""
    if function not in [f for _, f in _GAP_PANELS]:
        _GAP_PANELS.append((frozenset(rule_ids), function))
    return function


def gap_panels(request, gap) -> list[Panel]:
    panels = []
    for rule_ids, function in _GAP_PANELS:
        if gap.rule_id in rule_ids:
            panel = function(request, gap)
            if panel is not None:
                panels.append(panel)
    return panels

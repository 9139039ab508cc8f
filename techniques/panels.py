"""Sections other apps contribute to the technique page.

Each app that has something to show on a technique page (CI status, convergence,
community figures, adherence summary, last review) registers a function here in its
AppConfig.ready(); the function returns a template name and context, or None. The
technique page renders them in registration order, so apps stay decoupled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Panel:
    template: str
    context: dict
    banner: bool = False


PanelFunction = Callable[..., Panel | None]
_PANELS: list[tuple[int, PanelFunction]] = []


def register_panel(function: PanelFunction, order: int = 50) -> PanelFunction:
    if function not in [f for _, f in _PANELS]:
        _PANELS.append((order, function))
        _PANELS.sort(key=lambda item: item[0])
    return function


# Panels registered with an order below this are banners shown above the TOS header
# (e.g. a deprecation notice); the others follow the owners section.
BANNER_ORDER = 10


def technique_panels(request, technique) -> list[Panel]:
    panels = []
    for order, function in _PANELS:
        panel = function(request, technique)
        if panel is not None:
            panel.banner = order < BANNER_ORDER
            panels.append(panel)
    return panels

"""The technique page's public adherence summary (no notes, no waiver reasons)."""

from adherence.selectors import duty_summary
from techniques.panels import Panel, register_panel


def adherence_panel(request, technique):
    return Panel(
        "adherence/_panel.html", {"summary": duty_summary(technique), "technique": technique}
    )


register_panel(adherence_panel, order=20)

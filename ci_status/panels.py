"""The technique page's "Community on GitHub" panel: the stored figures (two queries)."""

from ci_status.selectors import community_figures
from techniques.panels import Panel


def community_panel(request, technique):
    figures = community_figures([technique])[technique.pk]
    return Panel(
        "ci_status/_community_panel.html",
        {"figures": figures, "labels": technique.github_labels},
    )

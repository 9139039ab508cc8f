"""Navigation shown on every page: techniques grouped by TOS level, and the sections."""

from html import escape

from django.urls import NoReverseMatch, reverse

from techniques.cache import cached
from techniques.models import Technique, TOSLevel
from techniques.selectors import SEARCH_MAX_LENGTH

# (label, URL name, who sees it: "public", "user" or "staff"). A section whose URL does
# not exist (a feature not installed) is left out rather than linking to a 404.
SECTIONS = [
    ("My page", "techniques:landing", "user"),
    ("Techniques", "techniques:home", "public"),
    ("Owners", "techniques:owners", "public"),
    ("Pipeline", "lifecycle:pipeline", "public"),
    ("CI", "convergence:grid", "public"),
    ("Bisections", "convergence:bisections", "public"),
    ("Releases", "convergence:releases", "public"),
    ("Adherence", "adherence:dashboard", "user"),
    ("Reviews", "reviews:queue", "user"),
    ("API", "api-docs", "public"),
    # The team's tools, grouped under one "Team" menu so the bar stays on one line.
    ("Gap trend", "adherence:trend", "staff"),
    ("Campaigns", "adherence:campaigns", "staff"),
    ("Waiver requests", "adherence:waiver_requests", "staff"),
    ("TOS requests", "lifecycle:tos_requests", "staff"),
    ("Sync", "ci_status:sync", "staff"),
    ("GitHub ownership", "lifecycle:ownership", "staff"),
    ("Audit", "techniques:audit", "staff"),
    ("GitHub setup", "github_integration:bootstrap", "staff"),
    ("Account", "github_integration:me", "user"),
    ("Admin", "admin:index", "staff"),
]


def _visible(audience: str, user) -> bool:
    if audience == "public":
        return True
    if audience == "user":
        return user.is_authenticated
    return user.is_staff


def navigation(request):
    sections: list[dict] = []
    team: list[dict] = []
    for label, name, audience in SECTIONS:
        if not _visible(audience, request.user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        item = {"label": label, "url": url, "active": request.path == url}
        (team if audience == "staff" else sections).append(item)
    return {
        "nav_sections": sections,
        "nav_team": team,
        "nav_team_active": any(item["active"] for item in team),
        "search_max_length": SEARCH_MAX_LENGTH,
        # A callable: the template calls it where it draws the sidebar, so pages that
        # hide the sidebar never read the technique list.
        "nav_tos_groups": lambda: cached(
            "nav-techniques-html", request, _techniques_by_level, registry_only=True
        ),
    }


def _techniques_by_level() -> list[tuple[str, str]]:
    """Per TOS level, the ``<li>`` links to its techniques as one HTML string (cached
    whole; ``technique_nav_items`` marks the current page's link). One escape per value:
    the nav is on every page, with every technique."""
    rows = Technique.objects.order_by("name").values_list("slug", "name", "tos_level")
    by_level: dict[str, list[str]] = {level.value: [] for level in TOSLevel}
    # One reverse() for all the links.
    url = reverse("techniques:detail", args=["slug-placeholder"])
    for slug, name, level in rows:
        link = escape(url.replace("slug-placeholder", slug))
        by_level[level].append(f'<li><a href="{link}">{escape(name)}</a></li>')
    return [(TOSLevel(level).label, "\n".join(items)) for level, items in by_level.items()]

"""Navigation shown on every page: techniques grouped by TOS level, and the sections."""

from django.urls import NoReverseMatch, reverse

from techniques.cache import cached
from techniques.models import Technique, TOSLevel

# (label, URL name, who sees it: "public", "user" or "staff"). A section whose URL does
# not exist (a feature not installed) is left out rather than linking to a 404.
SECTIONS = [
    ("Techniques", "techniques:home", "public"),
    ("Owners", "techniques:owners", "public"),
    ("Pipeline", "lifecycle:pipeline", "public"),
    ("API", "api-docs", "public"),
    ("My techniques", "techniques:mine", "user"),
    ("Adherence", "adherence:dashboard", "user"),
    ("Reviews", "reviews:queue", "user"),
    ("CI", "convergence:grid", "user"),
    ("Releases", "convergence:releases", "user"),
    ("Sync", "ci_status:sync", "staff"),
    ("GitHub ownership", "lifecycle:ownership", "staff"),
    ("Audit", "techniques:audit", "staff"),
    ("Admin", "admin:index", "staff"),
]


def _visible(audience: str, user) -> bool:
    if audience == "public":
        return True
    if audience == "user":
        return user.is_authenticated
    return user.is_staff


def navigation(request):
    sections = []
    for label, name, audience in SECTIONS:
        if not _visible(audience, request.user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        sections.append({"label": label, "url": url, "active": request.path == url})
    return {
        "nav_sections": sections,
        "nav_tos_groups": cached("nav-techniques", request, _techniques_by_level),
    }


def _techniques_by_level() -> list[tuple[str, list[dict]]]:
    rows = Technique.objects.order_by("name").values_list("slug", "name", "tos_level")
    by_level: dict[TOSLevel, list[dict]] = {level: [] for level in TOSLevel}
    for slug, name, level in rows:
        by_level[TOSLevel(level)].append({"slug": slug, "name": name})
    return [(level.label, items) for level, items in by_level.items()]

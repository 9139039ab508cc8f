"""Reads of the registry for pages: owner groups with their techniques, and search."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q

from techniques.models import Maintainer, OwnerGroup, Technique
from techniques.panels import techniques_health

SEARCH_LIMIT = 20


def techniques_with_health(techniques) -> list[Technique]:
    """The techniques as a list, each with ``health`` set (one provider, fixed queries)."""
    techniques = list(techniques)
    health = techniques_health(techniques)
    for technique in techniques:
        technique.health = health.get(technique.pk)
    return techniques


def group_for_page(slug: str) -> OwnerGroup | None:
    """The group with its maintainers (active first, star first) and its techniques."""
    return (
        OwnerGroup.objects.filter(slug=slug)
        .prefetch_related(
            Prefetch(
                "maintainers",
                queryset=Maintainer.objects.order_by(
                    "status", "-is_direct_assignee", "github_login"
                ),
            ),
            Prefetch("techniques", queryset=Technique.objects.order_by("tos_level", "name")),
        )
        .first()
    )


@dataclass
class SearchResults:
    query: str
    techniques: list
    groups: list
    maintainers: list

    @property
    def count(self) -> int:
        return len(self.techniques) + len(self.groups) + len(self.maintainers)


def search(query: str) -> SearchResults:
    """Techniques, owner groups and maintainers whose names contain the words."""
    query = " ".join(query.split())[:100]
    if not query:
        return SearchResults("", [], [], [])
    techniques = Technique.objects.select_related("owner_group")
    groups = OwnerGroup.objects.all()
    maintainers = Maintainer.objects.select_related("group")
    for word in query.split()[:5]:
        techniques = techniques.filter(
            Q(name__icontains=word)
            | Q(slug__icontains=word)
            | Q(category__icontains=word)
            | Q(public_api__icontains=word)
        )
        groups = groups.filter(
            Q(name__icontains=word) | Q(slug__icontains=word) | Q(github_team__icontains=word)
        )
        maintainers = maintainers.filter(Q(github_login__icontains=word) | Q(name__icontains=word))
    return SearchResults(
        query,
        list(techniques.order_by("name")[:SEARCH_LIMIT]),
        list(groups.order_by("name")[:SEARCH_LIMIT]),
        list(maintainers.order_by("github_login", "group__name")[:SEARCH_LIMIT]),
    )

"""Sections of a signed-in person's landing page (``/me/``), contributed by the apps.

Each app that knows of something needing a person's action (a review to decide, a
failing convergence test, a waiver ending) registers a function here in its
AppConfig.ready(); the registry imports no other app. A function gets the user and the
techniques they maintain and returns a ``Section`` or None; it reads precomputed data in
a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Func, IntegerField, QuerySet, Subquery


class Tone(StrEnum):
    """The colour of an entry's detail: something failing, or something to watch."""

    FAIL = "fail"
    WARN = "warn"


@dataclass
class Entry:
    text: str
    url: str
    detail: str = ""
    status: Tone | None = None  # None: drawn neutral
    people: list = field(default_factory=list)  # [(label, url)] responsible people


@dataclass
class Section:
    key: str  # the section's anchor
    title: str
    entries: list[Entry]
    url: str = ""  # the page that lists them all, filtered
    empty: str = "Nothing here."
    total: int | None = None  # when ``entries`` is only the first few

    @property
    def count(self) -> int:
        return len(self.entries) if self.total is None else self.total


def listed_section(
    key: str, title: str, queryset: QuerySet, entry: Callable, url: str, empty: str, shown: int = 8
) -> Section:
    """A section of the first ``shown`` rows of ``queryset``, each drawn by ``entry(row)``,
    counting them all in the same query: the total rides on every row as a scalar
    subquery, which the database computes once, so only the rows shown are joined and
    drawn (a window count would join and carry every matching row)."""
    count = queryset.order_by().annotate(n=Func("pk", function="COUNT")).values("n")
    rows = list(queryset.annotate(total_rows=Subquery(count, output_field=IntegerField()))[:shown])
    total = rows[0].total_rows if rows else 0
    return Section(key, title, [entry(row) for row in rows], url, empty, total)


# audience: "staff" (the TFMOT team) or "owner" (maintainers of at least one technique)
LandingFunction = Callable[..., Section | None]
_SECTIONS: list[tuple[int, str, LandingFunction]] = []


# What each section reads, when it is not its app's rows (the page cache's counters).
_READS: dict[LandingFunction, tuple[str, ...]] = {}


def register_landing(
    function: LandingFunction,
    *,
    audience: str,
    order: int = 50,
    reads: tuple[str, ...] | None = None,
):
    """Add a section; ``reads`` names the page-cache scopes of the rows it reads (default:
    its app's)."""
    if reads is not None:
        _READS[function] = reads
    if function not in [f for _, _, f in _SECTIONS]:
        _SECTIONS.append((order, audience, function))
        _SECTIONS.sort(key=lambda item: item[0])
    return function


def landing_reads(audiences: Iterable[str]) -> tuple[str, ...]:
    """The scopes whose rows the sections for these audiences read (a section's app's,
    unless it says): the landing page keys its cache on their counters."""
    wanted = set(audiences)
    scopes: set[str] = set()
    for _, who, function in _SECTIONS:
        if who in wanted:
            scopes.update(_READS.get(function, (function.__module__.split(".")[0],)))
    return tuple(sorted(scopes))


def landing_sections(user, owned: list, audience: str) -> list[Section]:
    sections = []
    for _, who, function in _SECTIONS:
        if who == audience:
            section = function(user, owned)
            if section is not None:
                sections.append(section)
    return sections

"""Reads of the registry for pages: owner groups with their techniques, and search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from techniques.audit import technique_paths
from techniques.duties import duties_for, duties_not_applicable
from techniques.models import Maintainer, OwnerGroup, Technique, TOSLevel

SEARCH_LIMIT = 20
HOME_PAGE_SIZE = 30
GROUPS_PAGE_SIZE = 30


def home_page(sort: str, number) -> dict:
    """One page of the registry for the home page, grouped by TOS level (in the order of
    ``TOSLevel``), sorted by name or by health (worst first) within each level; with each
    level's total count. Three queries at any registry size, plus the page's prefetch."""
    level_rank = Case(
        *(When(tos_level=level, then=Value(rank)) for rank, level in enumerate(TOSLevel)),
        default=Value(len(TOSLevel)),
        output_field=IntegerField(),
    )
    order = ("-health_points", "name") if sort == "health" else ("name",)
    techniques = (
        Technique.objects.for_pages().annotate(level_rank=level_rank).order_by("level_rank", *order)
    )
    page = Paginator(techniques, HOME_PAGE_SIZE).get_page(number)
    rows = list(page.object_list)
    totals = dict(Technique.objects.order_by().values_list("tos_level").annotate(n=Count("pk")))
    groups = [
        (level, totals.get(level, 0), [t for t in rows if t.tos_level == level])
        for level in TOSLevel
    ]
    # A level with techniques shows on the pages that hold some; an empty level shows
    # its empty state on the first page.
    groups = [g for g in groups if g[2] or (not g[1] and page.number == 1)]
    return {"tos_groups": groups, "page": page}


def maintainer_labels(group_ids: list[int]) -> dict[int, list[str]]:
    """Per group, its active maintainers as "@login" (a star for a direct assignee), star
    first, read as tuples in one query for all the groups."""
    labels: dict[int, list[str]] = {pk: [] for pk in group_ids}
    rows = (
        Maintainer.objects.active()
        .filter(group_id__in=group_ids)
        .order_by("group_id", "-is_direct_assignee", "github_login")
        .values_list("group_id", "github_login", "is_direct_assignee")
    )
    for group_id, login, star in rows:
        labels[group_id].append(f"@{login}{'*' if star else ''}")
    return labels


def attach_maintainer_labels(groups) -> None:
    """Set ``maintainer_labels`` on each group (``maintainer_labels``)."""
    labels = maintainer_labels([group.pk for group in groups])
    for group in groups:
        group.maintainer_labels = labels[group.pk]


def groups_page(number) -> Page:
    """A page of the owner groups by name, each with its techniques counted and its
    active maintainers' labels (``maintainer_labels``): two queries and the page count.
    Techniques are counted for the page's groups alone (a subquery run per row shown)."""
    counts = (
        Technique.objects.filter(owner_group=OuterRef("pk"))
        .order_by()
        .values("owner_group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    groups = (
        OwnerGroup.objects.only("name", "slug", "github_team")
        .annotate(technique_count=Coalesce(Subquery(counts), 0))
        .order_by("name")
    )
    page = Paginator(groups, GROUPS_PAGE_SIZE).get_page(number)
    attach_maintainer_labels(page.object_list)
    return page


def technique_page(slug: str, user) -> dict | None:
    """The technique page's data for ``user`` (None for an unknown slug): the technique
    with its group and maintainers, its duties, its latest history, and the flags."""
    technique = Technique.objects.for_pages().filter(slug=slug).first()
    if technique is None:
        return None
    group = technique.owner_group
    return {
        "technique": technique,
        "duties": duties_for(technique),
        "duties_not_applicable": duties_not_applicable(technique),
        "changes": technique.changes.select_related("changed_by")[:20],
        "is_owner": technique.is_owned_by(user),
        "may_show_email": bool(group and group.shows_emails),
    }


def group_page(slug: str) -> dict | None:
    """The owner group page's data (None for an unknown slug): the group, its techniques,
    its active and emeritus maintainers, and whether its contact policy shows e-mail."""
    group = group_for_page(slug)
    if group is None:
        return None
    maintainers = list(group.maintainers.all())
    return {
        "group": group,
        "techniques": list(group.techniques.all()),
        "active": [m for m in maintainers if m.is_active],
        "emeritus": [m for m in maintainers if not m.is_active],
        "may_show_email": group.shows_emails,
    }


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


SEARCH_MAX_LENGTH = 100


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
    """Techniques, owner groups and maintainers whose names contain the words (the
    first ``SEARCH_MAX_LENGTH`` characters, as the search boxes allow)."""
    query = " ".join(query.split())[:SEARCH_MAX_LENGTH]
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


# --- the audit trail, readable ------------------------------------------------------


@dataclass
class AuditChange:
    field: str
    before: str
    after: str


# Field labels where the verbose name reads badly (acronyms).
FIELD_LABELS = {
    "tos_level": "TOS level",
    "proposal_tos": "Proposed TOS",
    "tos_rationale": "TOS rationale",
}


def _readable(value) -> str:
    if value in (None, "None", ""):
        return "—"
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _moment(value) -> str:
    """A stored time as the pages show one (Y-m-d H:i, local time; no seconds)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return _readable(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)  # the database's times are UTC
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# The trail's kinds of record: {content type model: label}.
AUDIT_KINDS = {
    "technique": "Techniques",
    "ownergroup": "Owner groups",
    "maintainer": "Maintainers",
    "review": "Reviews",
    "gap": "Gaps (waivers)",
    "citoken": "CI tokens",
    "toschangerequest": "TOS changes",
    "waiverrequest": "Waiver requests",
    "remediation": "Remediation",
    "campaign": "Campaigns",
    "deprecation": "Deprecations",
}


def audit_actors():
    """The people who appear in the audit trail, by login."""
    return (
        get_user_model()
        .objects.filter(pk__in=LogEntry.objects.filter(actor__isnull=False).values("actor_id"))
        .order_by("username")
    )


def audit_entries(model: str = "", actor=None, technique: Technique | None = None):
    """The audit log, newest first: only one kind of record (its model's name), one
    person's changes, the records of one technique (itself, its group and maintainers,
    reviews, gaps, waivers, remediation, tokens, TOS changes, deprecation) if given."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp")
    if model:
        entries = entries.filter(content_type__model=model)
    if actor is not None:
        entries = entries.filter(actor=actor)
    if technique is not None:
        belongs = Q(pk__in=[])
        for audited, path in technique_paths():
            rows = audited._default_manager.filter(**{path or "pk": technique.pk})
            belongs |= Q(
                content_type=ContentType.objects.get_for_model(audited),
                object_id__in=rows.values("pk"),
            )
        entries = entries.filter(belongs)
    return entries


def audit_changes(entries) -> list[tuple[object, list[AuditChange]]]:
    """Each log entry with its changes as (field label, before, after) in words:
    related objects by name (one query per related model), choices by label."""
    entries = list(entries)
    wanted: dict[type[Model], set[str]] = {}
    plans = []
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        fields = []
        for name, values in (entry.changes_dict or {}).items():
            before, after = [*values, "", ""][:2] if isinstance(values, list) else ("", "")
            field = None
            if model is not None:
                try:
                    field = model._meta.get_field(name)
                except Exception:
                    field = None
            if field is not None and not getattr(field, "concrete", False):
                field = None
            if field is not None and (field.many_to_one or field.one_to_one):
                ids = wanted.setdefault(field.related_model, set())
                ids.update(str(v) for v in (before, after) if v not in (None, "None", ""))
            fields.append((name, field, before, after))
        plans.append((entry, fields))
    names: dict[tuple[type[Model], str], str] = {}
    for related, ids in wanted.items():
        keys = [i for i in ids if i.isdigit()]
        for obj in related._default_manager.filter(pk__in=keys):
            label = obj.get_username() if hasattr(obj, "get_username") else str(obj)
            names[(related, str(obj.pk))] = label
    result = []
    for entry, fields in plans:
        changes = []
        for name, field, before, after in fields:
            label = FIELD_LABELS.get(name) or (
                str(field.verbose_name).capitalize() if field is not None else name
            )
            if field is not None and (field.many_to_one or field.one_to_one):
                before = names.get((field.related_model, str(before)), before)
                after = names.get((field.related_model, str(after)), after)
            elif isinstance(field, DateTimeField):
                before, after = (
                    _moment(v) if v not in (None, "None", "") else v for v in (before, after)
                )
            elif field is not None and field.choices:
                choices = {str(k): v for k, v in field.flatchoices}
                before, after = choices.get(str(before), before), choices.get(str(after), after)
            changes.append(AuditChange(label, _readable(before), _readable(after)))
        result.append((entry, changes))
    return result


def health_level_counts() -> dict[str, int]:
    """Techniques per stored health level (the metrics read it)."""
    rows = Technique.objects.values("health_level").annotate(n=Count("pk"))
    return {row["health_level"]: row["n"] for row in rows}


# The filters pages share, by form field: the lookup from a technique.
TECHNIQUE_FILTERS = {
    "tos_level": "tos_level",
    "owner_group": "owner_group__slug",
    "stage": "stage",
    "technique": "slug",
}


def filter_by_technique(queryset, filters: dict, user, through: str = ""):
    """``queryset`` narrowed by the filters pages share (``TECHNIQUE_FILTERS``, and
    ``mine``: the techniques the viewer maintains). ``through`` is the path from the
    queryset's model to its technique (``"technique__"``), empty for techniques."""
    for key, lookup in TECHNIQUE_FILTERS.items():
        if filters.get(key):
            queryset = queryset.filter(**{through + lookup: filters[key]})
    if filters.get("mine"):
        owned = Technique.objects.owned_by(user).values("pk")
        queryset = queryset.filter(**{through + "pk__in": owned})
    return queryset

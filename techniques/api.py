"""Read-only API of the registry: techniques, owner groups, maintainers (cached on the
registry version: they show only registry rows)."""

import django_filters
from django.utils.decorators import method_decorator
from rest_framework import viewsets
from rest_framework.response import Response

from techniques.cache import public_page
from techniques.models import Maintainer, OwnerGroup, Technique
from techniques.selectors import attach_maintainer_labels, maintainer_labels
from techniques.serializers import MaintainerSerializer, OwnerGroupSerializer, TechniqueSerializer


class TechniqueFilter(django_filters.FilterSet):
    label = django_filters.CharFilter(method="filter_label", label="GitHub label")
    owner_group = django_filters.CharFilter(field_name="owner_group__slug")

    class Meta:
        model = Technique
        fields = ["tos_level", "stage", "category", "owner_group", "label", "health_level"]

    def filter_label(self, queryset, name, value):
        # JSON containment is not portable to SQLite; labels are few, match in Python.
        rows = queryset.select_related(None).values_list("pk", "github_labels")
        ids = [pk for pk, labels in rows if value in labels]
        return queryset.filter(pk__in=ids)


@method_decorator(public_page(registry_only=True), name="dispatch")
class TechniqueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Technique.objects.select_related("owner_group").order_by("slug")
    serializer_class = TechniqueSerializer
    lookup_field = "slug"
    filterset_class = TechniqueFilter
    search_fields = ["name", "slug", "public_api"]
    ordering_fields = ["slug", "name", "launch_date", "stage", "health_points"]


@method_decorator(public_page(registry_only=True), name="dispatch")
class OwnerGroupViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = OwnerGroup.objects.order_by("name")
    serializer_class = OwnerGroupSerializer
    lookup_field = "slug"
    search_fields = ["name"]

    def list(self, request, *args, **kwargs):
        """A page of groups as rows of values, their active maintainers' labels read in
        one query of tuples: a page holds 50 groups, where a model instance and a
        serializer per group would cost more than the rest of the request."""
        columns = [name for name in OwnerGroupSerializer.Meta.fields if name != "maintainers"]
        rows = self.filter_queryset(self.get_queryset()).values(*columns)
        page = self.paginate_queryset(rows)
        shown = list(rows) if page is None else page
        labels = maintainer_labels([row["id"] for row in shown])
        for row in shown:
            row["maintainers"] = labels[row["id"]]
        return self.get_paginated_response(shown) if page is not None else Response(shown)

    def get_object(self):
        group = super().get_object()
        attach_maintainer_labels([group])
        return group


@method_decorator(public_page(registry_only=True), name="dispatch")
class MaintainerViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Maintainer.objects.select_related("group").order_by("github_login", "group__name")
    serializer_class = MaintainerSerializer
    filterset_fields = ["status", "is_direct_assignee"]
    search_fields = ["github_login", "name"]

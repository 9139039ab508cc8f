"""Read-only API of the registry: techniques, owner groups, maintainers."""

import django_filters
from django.db.models import Prefetch
from django.utils.decorators import method_decorator
from rest_framework import viewsets

from techniques.cache import public_page
from techniques.models import Maintainer, OwnerGroup, Technique
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


@method_decorator(public_page, name="dispatch")
class TechniqueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Technique.objects.select_related("owner_group").order_by("slug")
    serializer_class = TechniqueSerializer
    lookup_field = "slug"
    filterset_class = TechniqueFilter
    search_fields = ["name", "slug", "public_api"]
    ordering_fields = ["slug", "name", "launch_date", "stage", "health_points"]


@method_decorator(public_page, name="dispatch")
class OwnerGroupViewSet(viewsets.ReadOnlyModelViewSet):
    # Only the active maintainers the list shows, only the fields it shows.
    queryset = OwnerGroup.objects.prefetch_related(
        Prefetch(
            "maintainers",
            queryset=Maintainer.objects.active().only(
                "id", "group_id", "github_login", "is_direct_assignee", "status"
            ),
        )
    ).order_by("name")
    serializer_class = OwnerGroupSerializer
    lookup_field = "slug"
    search_fields = ["name"]


@method_decorator(public_page, name="dispatch")
class MaintainerViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Maintainer.objects.select_related("group").order_by("github_login", "group__name")
    serializer_class = MaintainerSerializer
    filterset_fields = ["status", "is_direct_assignee"]
    search_fields = ["github_login", "name"]

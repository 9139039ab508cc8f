"""Read-only public API of the synced GitHub items with their first responses."""

import django_filters
from django.utils.decorators import method_decorator
from rest_framework import mixins, pagination, serializers, viewsets

from ci_status.models import Issue
from ci_status.selectors import items_for_api
from techniques.cache import public_page


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Issue
        fields = [
            "number",
            "kind",
            "state",
            "title",
            "html_url",
            "created_at",
            "first_response_at",
            "first_response_by",
            "first_maintainer_response_at",
            "first_maintainer_response_by",
        ]


class ItemFilter(django_filters.FilterSet):
    technique = django_filters.CharFilter(
        field_name="technique_links__technique__slug", label="Technique slug"
    )

    class Meta:
        model = Issue
        fields = ["number", "state", "kind", "technique"]

    def filter_queryset(self, queryset):
        # Belonging is by label or paths; a mention is only a triage suggestion.
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("technique"):
            queryset = queryset.exclude(technique_links__via="mention").distinct()
        return queryset


class ItemPagination(pagination.CursorPagination):
    """Newest first, ``next``/``previous`` links: no count of a table of 100,000s."""

    ordering = "-number"
    page_size = 50


@method_decorator(public_page, name="dispatch")
class ItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Issues and PRs of the synced repository: ``?number=N``, ``?technique=slug``,
    ``?state=open``, ``?kind=pr``."""

    queryset = Issue.objects.none()  # for the schema; requests use get_queryset
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    pagination_class = ItemPagination

    def get_queryset(self):
        return items_for_api()

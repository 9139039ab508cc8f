"""Read-only API of rule results and gaps: public fields for everyone, internals for staff."""

import django_filters
from django.contrib.auth.models import User
from django.utils.decorators import method_decorator
from rest_framework import serializers, viewsets

from adherence.models import Gap, RuleResult
from adherence.services import EVALUATED
from techniques.cache import public_page
from techniques.serializers import BelongsToTechniqueSerializer


class PublicRuleResultSerializer(BelongsToTechniqueSerializer):
    class Meta:
        model = RuleResult
        fields = ["technique", "rule_id", "status", "since", "evaluated_at"]


class StaffRuleResultSerializer(PublicRuleResultSerializer):
    class Meta(PublicRuleResultSerializer.Meta):
        fields = [*PublicRuleResultSerializer.Meta.fields, "summary", "evidence", "links"]


class PublicGapSerializer(BelongsToTechniqueSerializer):
    class Meta:
        model = Gap
        fields = [
            "id",
            "technique",
            "rule_id",
            "severity",
            "state",
            "since",
            "opened_at",
            "resolved_at",
            "waived_until",
        ]


class StaffGapSerializer(PublicGapSerializer):
    acknowledged_by = serializers.StringRelatedField[User]()
    waived_by = serializers.StringRelatedField[User]()

    class Meta(PublicGapSerializer.Meta):
        fields = [
            *PublicGapSerializer.Meta.fields,
            "summary",
            "evidence",
            "links",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledge_note",
            "waived_by",
            "waived_at",
            "waiver_reason",
        ]


class GapFilter(django_filters.FilterSet):
    technique = django_filters.CharFilter(field_name="technique__slug")

    class Meta:
        model = Gap
        fields = ["technique", "rule_id", "state", "severity"]


class ByAudienceMixin(viewsets.GenericViewSet):
    public_serializer: type[serializers.BaseSerializer]
    staff_serializer: type[serializers.BaseSerializer]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return self.staff_serializer if self.request.user.is_staff else self.public_serializer


@method_decorator(public_page(reads=("adherence",)), name="dispatch")
class GapViewSet(ByAudienceMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Gap.objects.select_related("technique", "acknowledged_by", "waived_by").order_by(
        "-opened_at", "-id"
    )
    public_serializer, staff_serializer = PublicGapSerializer, StaffGapSerializer
    filterset_class = GapFilter
    ordering_fields = ["opened_at", "resolved_at", "severity"]


# The results show their evaluation time: renewed by an evaluation that changed nothing else.
@method_decorator(public_page(reads=("adherence", EVALUATED)), name="dispatch")
class RuleResultViewSet(ByAudienceMixin, viewsets.ReadOnlyModelViewSet):
    queryset = RuleResult.objects.select_related("technique").order_by("technique__slug", "rule_id")
    public_serializer, staff_serializer = PublicRuleResultSerializer, StaffRuleResultSerializer
    filterset_fields = ["rule_id", "status"]

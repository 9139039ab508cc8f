from rest_framework import serializers

from techniques.models import Maintainer, OwnerGroup, Technique


# The base of the serializers of records that belong to a technique, which the API names
# by its slug. A comment, not a docstring: drf-spectacular would describe every subclass
# in the schema with it.
class BelongsToTechniqueSerializer(serializers.ModelSerializer):
    technique = serializers.SlugRelatedField[Technique](slug_field="slug", read_only=True)


class MaintainerSerializer(serializers.ModelSerializer):
    group = serializers.SlugRelatedField[OwnerGroup](slug_field="slug", read_only=True)

    class Meta:
        model = Maintainer
        fields = ["id", "github_login", "name", "group", "is_direct_assignee", "status"]


class OwnerGroupSerializer(serializers.ModelSerializer):
    maintainers = serializers.SerializerMethodField()

    class Meta:
        model = OwnerGroup
        fields = [
            "id",
            "name",
            "slug",
            "mailing_list",
            "github_team",
            "contact_policy",
            "maintainers",
        ]

    def get_maintainers(self, group) -> list[str]:
        labels = getattr(group, "maintainer_labels", None)  # selectors.attach_maintainer_labels
        if labels is not None:
            return labels
        return [str(m) for m in group.maintainers.all() if m.is_active]

    def to_representation(self, group) -> dict:
        # Plain attribute reads: a page holds 50 groups, and the generic field-by-field
        # path costs more than the rest of the request.
        return {
            "id": group.id,
            "name": group.name,
            "slug": group.slug,
            "mailing_list": group.mailing_list,
            "github_team": group.github_team,
            "contact_policy": group.contact_policy,
            "maintainers": self.get_maintainers(group),
        }


class TechniqueSerializer(serializers.ModelSerializer):
    owner_group = serializers.SlugRelatedField[OwnerGroup](slug_field="slug", read_only=True)
    owned_by = serializers.CharField(source="owner_group.name", default=None, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Technique
        fields = [
            "id",
            "slug",
            "name",
            "category",
            "public_api",
            "github_labels",
            "path_globs",
            "tos_level",
            "stage",
            "launch_date",
            "overview_url",
            "support_scope",
            "accepts_feature_requests",
            "accepts_prs",
            "provides_release_notes",
            "owner_group",
            "owned_by",
            "health_level",
            "health_points",
            "url",
        ]

    def get_url(self, technique) -> str:
        return self.context["request"].build_absolute_uri(technique.get_absolute_url())

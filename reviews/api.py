"""Read-only review API with the pages' permissions: the public sees accepted reviews'
public parts; owners and staff see their reviews in full. Writes go through the pages
(autosave, submit, decide), which share the same services and permission checks."""

from django.db.models import Q
from django.utils.decorators import method_decorator
from rest_framework import serializers, viewsets

from reviews.models import Review, ReviewCycle
from reviews.permissions import can_view
from techniques.cache import public_page
from techniques.models import Technique
from techniques.serializers import BelongsToTechniqueSerializer


class PublicReviewSerializer(BelongsToTechniqueSerializer):
    cycle = serializers.StringRelatedField[ReviewCycle]()

    class Meta:
        model = Review
        fields = [
            "id",
            "technique",
            "cycle",
            "status",
            "benefits_usage",
            "major_updates",
            "decided_at",
        ]


class FullReviewSerializer(PublicReviewSerializer):
    class Meta(PublicReviewSerializer.Meta):
        fields = [
            *PublicReviewSerializer.Meta.fields,
            "self_assessment",
            "proposal_tos",
            "proposal_maintainers",
            "proposal_deprecate",
            "proposal_notes",
            "evidence",
            "reviewer_comments",
            "version",
            "submitted_at",
        ]


@method_decorator(public_page(reads=("reviews",)), name="dispatch")
class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_fields = ["status"]

    def get_queryset(self):
        reviews = Review.objects.select_related("technique", "cycle").order_by(
            "-cycle__year", "-cycle__half", "technique__slug"
        )
        user = self.request.user
        if user.is_staff:
            return reviews
        visible = Q(status=Review.Status.ACCEPTED)
        if user.is_authenticated:
            visible |= Q(technique__in=Technique.objects.owned_by(user).values("pk"))
        return reviews.filter(visible)

    def get_serializer_class(self):
        user = self.request.user
        if user.is_staff:
            return FullReviewSerializer
        # The object is read only for a signed-in user (not for the public or the schema).
        signed_in_retrieve = user.is_authenticated and self.action == "retrieve"
        if signed_in_retrieve and can_view(user, self.get_object()):
            return FullReviewSerializer
        return PublicReviewSerializer

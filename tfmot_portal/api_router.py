"""The one DRF router: each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from techniques.api import MaintainerViewSet, OwnerGroupViewSet, TechniqueViewSet

router = DefaultRouter()
router.register("techniques", TechniqueViewSet, basename="technique")
router.register("groups", OwnerGroupViewSet, basename="ownergroup")
router.register("maintainers", MaintainerViewSet, basename="maintainer")

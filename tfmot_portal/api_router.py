"""The one DRF router: each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from adherence.api import GapViewSet, RuleResultViewSet
from ci_status.api import ItemViewSet
from convergence.api import (
    BisectionViewSet,
    ChangePointViewSet,
    ConvergenceRunViewSet,
    ConvergenceTestViewSet,
)
from reviews.api import ReviewViewSet
from techniques.api import MaintainerViewSet, OwnerGroupViewSet, TechniqueViewSet

router = DefaultRouter()
router.register("techniques", TechniqueViewSet, basename="technique")
router.register("groups", OwnerGroupViewSet, basename="ownergroup")
router.register("maintainers", MaintainerViewSet, basename="maintainer")
router.register("gaps", GapViewSet, basename="gap")
router.register("rule-results", RuleResultViewSet, basename="ruleresult")
router.register("convergence/tests", ConvergenceTestViewSet, basename="convergencetest")
router.register("convergence/runs", ConvergenceRunViewSet, basename="convergencerun")
router.register("convergence/changepoints", ChangePointViewSet, basename="changepoint")
router.register("convergence/bisections", BisectionViewSet, basename="bisection")
router.register("reviews", ReviewViewSet, basename="review")
router.register("items", ItemViewSet, basename="item")

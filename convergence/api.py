"""Upload API for CI systems (token auth) and read-only convergence resources."""

from __future__ import annotations

import hashlib
from typing import cast

import django_filters
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.decorators import method_decorator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import Counter
from rest_framework import exceptions, mixins, pagination, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from convergence.models import Bisection, ChangePoint, CIToken, ConvergenceRun, ConvergenceTest
from convergence.parsers import MAX_BYTES, ResultsError, parse_results
from convergence.permissions import internal_visibility
from convergence.presenters import visible_strip
from convergence.selectors import bisections_visible
from convergence.services import results_ingest
from techniques.cache import public_page
from techniques.serializers import BelongsToTechniqueSerializer
from tfmot_portal.client_address import client_address
from tfmot_portal.throttling import ScopedRateThrottle

CI_TOKEN_FAILURES = Counter(
    "portal_ci_token_failures_total",
    "Upload requests with a wrong, malformed or revoked CI token, by outcome: refused "
    "(401) or throttled (429, the address sent too many wrong tokens).",
    ["outcome"],
)
FAILURE_WINDOW_SECONDS = 600


def _failures_key(request) -> str:
    # The client's address as the throttles see it (never an X-Forwarded-For it wrote).
    ident = client_address(request)
    return "ci-token-failures:" + hashlib.sha256(ident.encode()).hexdigest()[:32]


class CITokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; a missing, wrong or revoked token is a 401.

    Wrong tokens are counted per client address: after ``CI_TOKEN_FAILURE_LIMIT`` of them
    within ten minutes the address gets 429 (before any token is checked) until the
    window ends, so tokens cannot be guessed at the upload's own rate."""

    def authenticate(self, request):
        key = _failures_key(request)
        if (cache.get(key) or 0) >= settings.CI_TOKEN_FAILURE_LIMIT:
            CI_TOKEN_FAILURES.labels("throttled").inc()
            raise exceptions.Throttled(
                wait=FAILURE_WINDOW_SECONDS, detail="Too many wrong CI tokens from this address."
            )
        header = request.headers.get("Authorization", "")
        if not header:
            raise exceptions.NotAuthenticated(
                "Send the CI token as 'Authorization: Bearer <token>'."
            )
        scheme, _, clear = header.partition(" ")
        if scheme.lower() != "bearer" or not clear.strip():
            self._failed(key)
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = CIToken.authenticate(clear.strip())
        if token is None:
            self._failed(key)
            raise exceptions.AuthenticationFailed("Unknown or revoked CI token.")
        return (None, token)

    @staticmethod
    def _failed(key: str) -> None:
        CI_TOKEN_FAILURES.labels("refused").inc()
        if cache.add(key, 1, FAILURE_WINDOW_SECONDS):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, FAILURE_WINDOW_SECONDS)

    def authenticate_header(self, request):
        return "Bearer"


class CITokenScheme(OpenApiAuthenticationExtension):
    """Describes the CI token in the OpenAPI schema."""

    target_class = "convergence.api.CITokenAuthentication"
    name = "ciToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A CI token created in the admin.",
        }


class HasCIToken(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, CIToken)


class RawBodyParser(BaseParser):
    """The body as bytes, for the declared media types only (anything else, form data
    included, is a 415): the results parsers decide what is valid."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(MAX_BYTES + 1)


class RawXMLParser(RawBodyParser):
    media_type = "application/xml"


class RawTextXMLParser(RawBodyParser):
    media_type = "text/xml"


class UploadView(APIView):
    """POST convergence results as JSON or JUnit XML. Nothing is written unless the
    whole file is valid. `?internal=1` marks Google-internal results (tokens allowed to)."""

    authentication_classes = [CITokenAuthentication]
    permission_classes = [HasCIToken]
    parser_classes = [RawBodyParser, RawXMLParser, RawTextXMLParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "upload"

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT, "application/xml": OpenApiTypes.STR},
        responses={
            201: OpenApiTypes.OBJECT,
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            415: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        length = (
            int(request.META.get("CONTENT_LENGTH") or 0)
            if request.META.get("CONTENT_LENGTH", "").isdigit()
            else 0
        )
        if length > MAX_BYTES:
            return Response(
                {"error": f"The body is {length} bytes; the limit is {MAX_BYTES}."}, status=413
            )
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in {parser.media_type for parser in self.parser_classes}:
            raise exceptions.UnsupportedMediaType(media_type)  # form data included: a 415
        internal = request.query_params.get("internal") in ("1", "true")
        if internal and not request.auth.may_upload_internal:
            return Response({"error": "This token may not upload internal results."}, status=403)
        try:
            records = parse_results(request.data or b"", request.content_type or "")
            result = results_ingest(
                records, ConvergenceRun.Source.UPLOAD, internal=internal, token=request.auth
            )
        except ResultsError as error:
            return Response({"error": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        except PermissionDenied as error:
            return Response({"error": str(error)}, status=status.HTTP_403_FORBIDDEN)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "tests": result.tests},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ConvergenceTestSerializer(BelongsToTechniqueSerializer):
    class Meta:
        model = ConvergenceTest
        fields = [
            "id",
            "technique",
            "name",
            "kind",
            "model_family",
            "task",
            "location",
            "cadence_hours",
            "state",
            "state_since",
            "alert_open",
            "failing_since",
            "flip_rate",
            "benefit_regressed",
        ]

    def to_representation(self, instance):
        """When an internal run the viewer may not see drives the state, the state stays
        (the public learns that a failure is open) but not since when."""
        data = super().to_representation(instance)
        context = cast(dict, self.context)  # DRF's context is a dict, shared by a list's items
        if "sees_internal" not in context:  # once per list
            request = context.get("request")
            context["sees_internal"] = internal_visibility(getattr(request, "user", None))
        sees = context["sees_internal"](instance.technique_id)
        if not instance.dates_shown(sees) or (
            not sees and visible_strip(instance, show_internal=False)[1]
        ):
            data["state_since"] = data["failing_since"] = None
        return data


class ConvergenceRunSerializer(serializers.ModelSerializer):
    test = serializers.StringRelatedField[ConvergenceTest]()

    class Meta:
        model = ConvergenceRun
        fields = [
            "id",
            "test",
            "started_at",
            "tfmot_sha",
            "tf_version",
            "python_version",
            "outcome",
            "metrics",
            "source",
            "log_url",
        ]


@method_decorator(public_page(reads=("convergence",)), name="dispatch")
class ConvergenceTestViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ConvergenceTest.objects.select_related("technique").order_by(
        "technique__slug", "name"
    )
    serializer_class = ConvergenceTestSerializer
    filterset_fields = ["state", "kind", "technique__slug"]


class RunPagination(pagination.CursorPagination):
    """Newest first with ``next``/``previous`` links: no count of a table of millions."""

    ordering = ("-started_at", "-id")
    page_size = 50


@method_decorator(public_page(reads=("convergence",)), name="dispatch")
class ConvergenceRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Convergence runs, newest first: ``?outcome=failure``, ``?test=<id>``. The list is
    cursor-paginated (follow ``next`` and ``previous``; there is no ``count``)."""

    serializer_class = ConvergenceRunSerializer
    filterset_fields = ["outcome", "test"]
    pagination_class = RunPagination

    def get_queryset(self):
        runs = ConvergenceRun.objects.select_related("test__technique").order_by(
            "-started_at", "-id"
        )
        return runs.visible_to(self.request.user)


class ChangePointSerializer(serializers.ModelSerializer):
    test = serializers.StringRelatedField[ConvergenceTest]()

    class Meta:
        model = ChangePoint
        fields = [
            "id",
            "test",
            "metric",
            "sha",
            "run_started_at",
            "before_mean",
            "after_mean",
            "change_percent",
            "significance",
            "regression",
        ]


class ChangePointFilter(django_filters.FilterSet):
    test = django_filters.CharFilter(
        method="filter_test", label="The test, as <technique>/<test> (or its name alone)."
    )
    metric = django_filters.CharFilter(label="The metric, as the results name it.")
    regression = django_filters.BooleanFilter(label="Regressions only (true) or none (false).")

    class Meta:
        model = ChangePoint
        fields = ["test", "metric", "regression"]

    def filter_test(self, queryset, name, value):
        technique, _, test = value.strip().rpartition("/")
        queryset = queryset.filter(test__name=test)
        return queryset.filter(test__technique__slug=technique) if technique else queryset


class ChangePointPagination(pagination.CursorPagination):
    """Newest first with ``next``/``previous`` links, as the runs."""

    ordering = ("-run_started_at", "-id")
    page_size = 50


@method_decorator(public_page(reads=("convergence",)), name="dispatch")
class ChangePointViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Change points of the metric series, newest first:
    ``?test=<technique>/<test>&metric=<name>``, ``?regression=true``. A change point names
    the first run after a persistent, significant shift (its commit and start), the means
    before and after, the change in percent, the p-value and whether the shift goes the
    metric's worse way. Those found only with internal runs are listed for the viewers
    who may see internal results. Cursor-paginated (``next``, ``previous``)."""

    serializer_class = ChangePointSerializer
    filterset_class = ChangePointFilter
    pagination_class = ChangePointPagination

    def get_queryset(self):
        points = ChangePoint.objects.select_related("test__technique").order_by(
            "-run_started_at", "-id"
        )
        return points.visible_to(self.request.user)


class BisectionSerializer(serializers.ModelSerializer):
    test = serializers.StringRelatedField[ConvergenceTest]()
    commits_in_range = serializers.SerializerMethodField()
    revert_pr_url = serializers.SerializerMethodField()
    revert_state = serializers.SerializerMethodField()

    class Meta:
        model = Bisection
        fields = [
            "id",
            "test",
            "trigger",
            "state",
            "reason",
            "range_base",
            "range_head",
            "commits_in_range",
            "runs_dispatched",
            "culprit_sha",
            "culprit_pr",
            "verified",
            "revert_pr_url",
            "revert_state",
            "created_at",
            "finished_at",
        ]

    def get_commits_in_range(self, bisection: Bisection) -> int:
        return len(bisection.commits)

    def _revert(self, bisection: Bisection):
        return max(bisection.reverts.all(), key=lambda r: r.created_at, default=None)

    def get_revert_pr_url(self, bisection: Bisection) -> str:
        revert = self._revert(bisection)
        return revert.url if revert else ""

    def get_revert_state(self, bisection: Bisection) -> str:
        revert = self._revert(bisection)
        return revert.state if revert else ""


@method_decorator(public_page(reads=("convergence",)), name="dispatch")
class BisectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Bisections of red tests and regression change points, newest first:
    ``?state=verified``, ``?test=<id>``. Internal ones only for staff and the owners."""

    serializer_class = BisectionSerializer
    filterset_fields = ["state", "test", "trigger"]

    def get_queryset(self):
        return (
            bisections_visible(self.request.user)
            .prefetch_related("reverts")
            .order_by("-created_at", "-id")
        )

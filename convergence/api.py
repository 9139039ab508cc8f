"""Upload API for CI systems (token auth) and read-only convergence resources."""

from __future__ import annotations

from django.db.models import Q
from django.utils.decorators import method_decorator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from convergence.models import CIToken, ConvergenceRun, ConvergenceTest
from convergence.parsers import MAX_BYTES, ResultsError, parse_results
from convergence.services import results_ingest
from techniques.cache import public_page
from techniques.models import Technique


class CITokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; a missing, wrong or revoked token is a 401."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            raise exceptions.NotAuthenticated(
                "Send the CI token as 'Authorization: Bearer <token>'."
            )
        scheme, _, clear = header.partition(" ")
        if scheme.lower() != "bearer" or not clear.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = CIToken.authenticate(clear.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked CI token.")
        return (None, token)

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
    """The body as bytes: the results parsers decide what is valid."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(MAX_BYTES + 1)


class UploadView(APIView):
    """POST convergence results as JSON or JUnit XML. Nothing is written unless the
    whole file is valid. `?internal=1` marks Google-internal results (tokens allowed to)."""

    authentication_classes = [CITokenAuthentication]
    permission_classes = [HasCIToken]
    parser_classes = [RawBodyParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "upload"

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT, "application/xml": OpenApiTypes.STR},
        responses={
            201: OpenApiTypes.OBJECT,
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BYTES:
            return Response(
                {"error": f"The body is {length} bytes; the limit is {MAX_BYTES}."}, status=413
            )
        internal = request.query_params.get("internal") in ("1", "true")
        if internal and not request.auth.may_upload_internal:
            return Response({"error": "This token may not upload internal results."}, status=403)
        try:
            records = parse_results(request.data or b"", request.content_type or "")
            result = results_ingest(records, ConvergenceRun.Source.UPLOAD, internal=internal)
        except ResultsError as error:
            return Response({"error": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "tests": result.tests},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ConvergenceTestSerializer(serializers.ModelSerializer):
    technique = serializers.SlugRelatedField[Technique](slug_field="slug", read_only=True)

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
            "flip_rate",
            "benefit_regressed",
        ]


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


@method_decorator(public_page, name="dispatch")
class ConvergenceTestViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ConvergenceTest.objects.select_related("technique").order_by(
        "technique__slug", "name"
    )
    serializer_class = ConvergenceTestSerializer
    filterset_fields = ["state", "kind", "technique__slug"]


@method_decorator(public_page, name="dispatch")
class ConvergenceRunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ConvergenceRunSerializer
    filterset_fields = ["outcome", "test"]

    def get_queryset(self):
        runs = ConvergenceRun.objects.select_related("test__technique").order_by(
            "-started_at", "-id"
        )
        user = self.request.user
        if user.is_staff:
            return runs
        owned = (
            Technique.objects.owned_by(user).values("pk")
            if user.is_authenticated
            else Technique.objects.none().values("pk")
        )
        return runs.filter(Q(internal=False) | Q(test__technique__in=owned))

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tfmot_portal.api_router import router


@require_safe
def healthz(request):
    """Liveness probe for load balancers; also the benchmark's floor (no database)."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("ops.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("convergence.api_urls")),
    path("api/", include(router.urls)),
    path("", include("ci_status.urls")),
    path("", include("adherence.urls")),
    path("", include("convergence.urls")),
    path("", include("reviews.urls")),
    path("", include("lifecycle.urls")),
    path("", include("techniques.urls")),
    path("", include("github_integration.allauth_urls")),
    path("", include("github_integration.urls")),
]

from django.urls import path

from convergence import views

app_name = "convergence"

urlpatterns = [
    path("ci/", views.grid, name="grid"),
    path("ci/runs/<int:pk>/", views.run_detail, name="run"),
    path("ci/tests/<int:pk>/culprit", views.culprit_refresh, name="culprit_refresh"),
    path("ci/bisections/", views.bisections, name="bisections"),
    path("ci/bisections/<int:pk>/", views.bisection, name="bisection"),
    path("ci/bisections/<int:pk>/revert", views.bisection_revert, name="bisection_revert"),
    path("releases/", views.releases, name="releases"),
    path("releases/readiness.json", views.readiness_json, name="readiness_json"),
]

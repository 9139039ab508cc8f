from django.urls import path
from django.views.decorators.http import require_safe

from adherence import views

app_name = "adherence"

urlpatterns = [
    path("adherence/", views.dashboard, name="dashboard"),
    path("adherence/trend/", views.trend, name="trend"),
    path("adherence/feed.atom", require_safe(views.GapFeed()), name="feed"),
    path("adherence/gaps/<int:pk>/", views.gap_detail, name="gap"),
    path("adherence/gaps/<int:pk>/acknowledge", views.acknowledge, name="acknowledge"),
    path("adherence/gaps/<int:pk>/waive", views.waive, name="waive"),
    path("badges/<slug:slug>.svg", views.badge, name="badge"),
    path("health/", views.health, name="health"),
]

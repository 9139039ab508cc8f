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
    path("adherence/gaps/<int:pk>/remediation", views.remediation, name="remediation"),
    path("adherence/gaps/<int:pk>/waiver-request", views.waiver_request, name="waiver_request"),
    path("adherence/waiver-requests/", views.waiver_requests, name="waiver_requests"),
    path("adherence/waiver-requests/<int:pk>/decide", views.waiver_decide, name="waiver_decide"),
    path("adherence/campaigns/", views.campaigns, name="campaigns"),
    path("adherence/campaigns/new", views.campaign_new, name="campaign_new"),
    path("adherence/campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("adherence/rules/<slug:rule_id>/", views.rule_detail, name="rule"),
    path("badges/<slug:slug>.svg", views.badge, name="badge"),
    path("health/", views.health, name="health"),
]

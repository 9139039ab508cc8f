from django.urls import path

from ci_status import views

app_name = "ci_status"

urlpatterns = [
    path("sync/", views.sync_status, name="sync"),
    path("sync/now/", views.sync_now, name="sync_now"),
    path("sync/runs/<int:pk>.json", views.sync_run_json, name="sync_run_json"),
    path("sync/triage/", views.triage, name="triage"),
    path("webhooks/github/", views.github_webhook, name="webhook"),
]

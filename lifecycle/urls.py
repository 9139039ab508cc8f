from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("pipeline/", views.pipeline, name="pipeline"),
    path("lifecycle/ownership/", views.ownership, name="ownership"),
    path("lifecycle/ownership/check", views.ownership_check_now, name="ownership_check"),
    path("lifecycle/steps/<int:pk>", views.step_save, name="step"),
    path("lifecycle/offers/<int:pk>/moderate", views.moderate, name="moderate"),
    path("lifecycle/tos-requests/", views.tos_requests, name="tos_requests"),
    path("lifecycle/tos-requests/<int:pk>/decide", views.tos_decide, name="tos_decide"),
    path("lifecycle/<slug:slug>/", views.technique_lifecycle, name="technique"),
    path("lifecycle/<slug:slug>/launch", views.launch, name="launch"),
    path("lifecycle/<slug:slug>/deprecate", views.deprecate, name="deprecate"),
    path("lifecycle/<slug:slug>/help", views.offer_help, name="help"),
    path("lifecycle/<slug:slug>/tos", views.tos_request, name="tos_request"),
]

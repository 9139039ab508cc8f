from django.urls import path

from ops import views

app_name = "ops"

urlpatterns = [
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.prometheus_metrics, name="metrics"),
    path("adherence/matrix.csv", views.adherence_csv, name="adherence_csv"),
    path(
        "reviews/cycles/<int:pk>/answers.csv", views.review_answers_csv, name="review_answers_csv"
    ),
]

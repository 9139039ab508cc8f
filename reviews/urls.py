from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("reviews/", views.queue, name="queue"),
    path("reviews/preview", views.preview, name="preview"),
    path("reviews/<int:pk>/", views.detail, name="detail"),
    path("reviews/<int:pk>/edit", views.edit, name="edit"),
    path("reviews/<int:pk>/autosave", views.autosave, name="autosave"),
    path("reviews/<int:pk>/preview", views.review_preview, name="review_preview"),
    path("reviews/<int:pk>/submit", views.submit, name="submit"),
    path("reviews/<int:pk>/decide", views.decide, name="decide"),
    path("reviews/<int:pk>/shepherd", views.assign_shepherd, name="shepherd"),
]

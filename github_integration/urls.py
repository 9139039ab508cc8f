from django.urls import path

from github_integration import views

app_name = "github_integration"

urlpatterns = [
    path("me/github/", views.me, name="me"),
    path("github/bootstrap/", views.bootstrap, name="bootstrap"),
    path("github/bootstrap/decide", views.bootstrap_decide, name="bootstrap_decide"),
]

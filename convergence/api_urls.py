"""The API route of convergence outside the DRF router: the CI results upload (a CI
token's POST, never a session), named ``convergence-upload`` without a namespace."""

from django.urls import path

from convergence.api import UploadView

urlpatterns = [
    path("api/convergence/upload/", UploadView.as_view(), name="convergence-upload"),
]

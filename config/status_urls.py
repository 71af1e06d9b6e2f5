"""URLconf of the status host: only what customers may see. No admin, no API."""

from django.urls import include, path

from config import views

urlpatterns = [
    path("", include("statuspage.public_urls")),
    path("healthz", views.healthz, name="healthz"),
]

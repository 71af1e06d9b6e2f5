"""URLconf of the status host: only what customers may see. No admin, no API of the portal."""

from django.urls import include, path

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("statuspage.public_urls")),
]

handler500 = "config.views.server_error"

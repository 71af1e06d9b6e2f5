"""URLs of integrations and alerts, included by oncall/urls.py under the oncall namespace."""

from django.urls import path

from oncall.views import intake as views

INTEGRATION = "services/<slug:slug>/integrations/<uuid:public_id>"

urlpatterns = [
    path("teams/<slug:slug>/alerts/", views.team_alerts, name="team-alerts"),
    path("services/<slug:slug>/integrations/new/", views.integration_create, name="integration-create"),
    path(f"{INTEGRATION}/rotate/", views.integration_rotate, name="integration-rotate"),
    path(f"{INTEGRATION}/disable/", views.integration_switch, {"state": "disable"}, name="integration-disable"),
    path(f"{INTEGRATION}/enable/", views.integration_switch, {"state": "enable"}, name="integration-enable"),
    path(f"{INTEGRATION}/delete/", views.integration_delete, name="integration-delete"),
]

"""URLs of the notification pages, included by oncall/urls.py under the oncall namespace."""

from django.urls import path

from oncall.views import notifications as views

urlpatterns = [
    path("profile/notifications/", views.notification_settings, name="notification-settings"),
    path("profile/notifications/rules/", views.notification_rules_save, name="notification-rules"),
    path("profile/notifications/methods/<int:pk>/delete/", views.contact_method_delete, name="contact-method-delete"),
    path("teams/<slug:slug>/webhooks/", views.team_webhooks, name="team-webhooks"),
    path("teams/<slug:slug>/webhooks/<int:pk>/edit/", views.team_webhook_edit, name="team-webhook-edit"),
    path("teams/<slug:slug>/webhooks/<int:pk>/delete/", views.team_webhook_delete, name="team-webhook-delete"),
]

from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.index, name="index"),
    path("all/", views.incident_list, name="list"),
    path("declare/", views.declare, name="declare"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("<int:number>/", views.detail, name="detail"),
    path("<int:number>/status/", views.change_status, name="status"),
    path("<int:number>/severity/", views.change_severity, name="severity"),
    path("<int:number>/roles/", views.assign_role, name="role"),
    path("<int:number>/notes/", views.add_note, name="note"),
    path("<int:number>/updates/", views.post_update, name="update"),
    path("<int:number>/help/", views.ask_help, name="help"),
    path("<int:number>/triage/", views.record_triage, name="triage"),
    path("<int:number>/resolve/", views.resolve, name="resolve"),
]

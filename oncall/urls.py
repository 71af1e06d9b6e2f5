from django.urls import include, path

from oncall.views import teams as views

app_name = "oncall"

urlpatterns = [
    path("", views.home, name="home"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("services/", views.service_list, name="service-list"),
    path("services/new/", views.service_create, name="service-create"),
    path("services/<slug:slug>/", views.service_detail, name="service-detail"),
    path("services/<slug:slug>/edit/", views.service_edit, name="service-edit"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("", include("oncall.urls_schedules")),
    path("", include("oncall.urls_notifications")),
    path("", include("oncall.urls_paging")),
    path("", include("oncall.urls_intake")),
    path("", include("oncall.urls_comptime")),
]

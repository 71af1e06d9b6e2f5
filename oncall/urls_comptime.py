"""URLs of the comp-time pages and the load report, included by oncall/urls.py under the oncall namespace."""

from django.urls import path

from oncall.views import comptime as views

urlpatterns = [
    path("my/comp-time/", views.my_comp_time, name="my-comp-time"),
    path("work-logs/<int:pk>/delete/", views.work_log_delete, name="work-log-delete"),
    path("teams/<slug:slug>/comp-time/", views.team_comp_time, name="team-comp-time"),
    path("teams/<slug:slug>/comp-time/policy/", views.policy_edit, name="comp-time-policy"),
    path("teams/<slug:slug>/comp-time/grants/<int:pk>/decide/", views.grant_decide, name="comp-time-grant-decide"),
    path("teams/<slug:slug>/comp-time/uses/new/", views.use_create, name="comp-time-use-create"),
    path("teams/<slug:slug>/comp-time/work-logs/new/", views.team_work_log_create, name="comp-time-work-log-create"),
    path("teams/<slug:slug>/comp-time/holidays/new/", views.holiday_add, name="comp-time-holiday-add"),
    path(
        "teams/<slug:slug>/comp-time/holidays/<int:pk>/delete/", views.holiday_remove, name="comp-time-holiday-remove"
    ),
    path("teams/<slug:slug>/load/", views.load_report, name="team-load"),
]

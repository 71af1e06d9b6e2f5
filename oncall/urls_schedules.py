"""URLs of the schedule pages, included by oncall/urls.py under the oncall namespace."""

from django.urls import path

from oncall.views import schedules as views

urlpatterns = [
    path("teams/<slug:slug>/oncall/", views.team_oncall, name="team-oncall"),
    path("teams/<slug:slug>/schedules/new/", views.schedule_create, name="schedule-create"),
    path("schedules/<slug:slug>/", views.schedule_detail, name="schedule-detail"),
    path("schedules/<slug:slug>/layers/new/", views.layer_edit, name="layer-create"),
    path("schedules/<slug:slug>/layers/<int:pk>/edit/", views.layer_edit, name="layer-edit"),
    path("schedules/<slug:slug>/overrides/new/", views.override_create, name="override-create"),
    path("schedules/<slug:slug>/overrides/<int:pk>/delete/", views.override_delete, name="override-delete"),
    path("schedules/<slug:slug>/swaps/new/", views.swap_create, name="swap-create"),
    path("schedules/<slug:slug>/swaps/<int:pk>/<str:action>/", views.swap_decide, name="swap-decide"),
    path("schedules/<slug:slug>/feed/rotate/", views.schedule_feed_rotate, name="schedule-feed-rotate"),
    path("my/shifts/", views.my_shifts, name="my-shifts"),
    path("my/shifts/feed/rotate/", views.my_feed_rotate, name="my-feed-rotate"),
    path("feeds/schedules/<str:secret>.ics", views.schedule_feed, name="schedule-feed"),
    path("feeds/people/<str:secret>.ics", views.person_feed, name="person-feed"),
]

"""URLs of pages and escalation policies, included by oncall/urls.py under the oncall namespace."""

from django.urls import path

from oncall.views import paging as views

urlpatterns = [
    path("teams/<slug:slug>/pages/", views.team_pages, name="team-pages"),
    path("pages/<int:pk>/", views.page_detail, name="page-detail"),
    path("pages/<int:pk>/<str:action>/", views.page_act, name="page-act"),
    path("page-links/<str:token>/", views.page_link, name="page-link"),
    path("teams/<slug:slug>/escalation-policies/", views.policy_list, name="policy-list"),
    path("teams/<slug:slug>/escalation-policies/new/", views.policy_edit, name="policy-create"),
    path("teams/<slug:slug>/escalation-policies/default/", views.policy_default, name="policy-default"),
    path("teams/<slug:slug>/escalation-policies/<int:pk>/", views.policy_edit, name="policy-edit"),
    path("teams/<slug:slug>/escalation-policies/<int:pk>/delete/", views.policy_delete, name="policy-delete"),
    path("services/<slug:slug>/escalation-policy/", views.service_policy_set, name="service-policy-set"),
]

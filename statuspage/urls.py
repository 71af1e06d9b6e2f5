from django.urls import path

from statuspage import views

app_name = "statuspage"

urlpatterns = [
    path("", views.index, name="index"),
    path("incident/<int:number>/customer-update/", views.from_incident, name="from-incident"),
    path("notices/<str:public_id>/", views.notice_detail, name="notice"),
    path("<str:public_id>/", views.page_detail, name="page"),
    path("<str:public_id>/components/<str:component_id>/status/", views.component_status, name="component-status"),
    path("<str:public_id>/notices/new/", views.notice_new, name="notice-new"),
    path("<str:public_id>/maintenance/new/", views.maintenance_new, name="maintenance-new"),
]

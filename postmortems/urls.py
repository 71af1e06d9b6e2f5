from django.urls import path

from postmortems import views

app_name = "postmortems"

urlpatterns = [
    path("", views.index, name="index"),
    path("action-items/", views.action_items, name="action-items"),
    path("action-items/reassign/", views.reassign, name="reassign"),
    path("action-items/<int:pk>/status/", views.item_status, name="item-status"),
    path("overdue/", views.overdue, name="overdue"),
    path("<int:number>/", views.detail, name="detail"),
    path("<int:number>/open/", views.create, name="create"),
    path("<int:number>/edit/", views.edit, name="edit"),
    path("<int:number>/factors/", views.add_factor, name="factor"),
    path("<int:number>/items/", views.add_item, name="item"),
    path("<int:number>/status/", views.transition, name="transition"),
    path("<int:number>/download/", views.download, name="download"),
    path("<int:number>/print/", views.print_view, name="print"),
]

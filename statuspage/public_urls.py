from django.urls import path, re_path

from statuspage import public_views

app_name = "status"

urlpatterns = [
    path("subscribe", public_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>", public_views.confirm, name="confirm"),
    path("unsubscribe/<str:token>", public_views.unsubscribe, name="unsubscribe"),
    # Everything else is a published document, or the page's own 404.
    re_path(r"^.*$", public_views.snapshot, name="snapshot"),
]

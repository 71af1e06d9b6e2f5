from django.urls import path

from statuspage import public_views

app_name = "status"

urlpatterns = [
    path("", public_views.home, name="home"),
]

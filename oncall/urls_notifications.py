"""URLs of the notification pages, included by oncall/urls.py under the oncall namespace."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

"""Views of the status host. Public, and they must not touch the database."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control


@login_not_required
@cache_control(public=True, max_age=30)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "statuspage/public/home.html")

"""Which site a request is for: the portal, or the customers' status page.

A small middleware rather than django-hosts: Fireline has exactly two URLconfs and
one rule to choose between them, so one function that reads the host is easier to
follow than a hosts registry and a second `reverse`. Links from the portal to the
status page are built with `status_url()`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from rest_framework.views import APIView


def is_status_host(host: str) -> bool:
    """True for the status host itself and any subdomain of it (per-page hosts)."""
    name, _port = split_domain_port(host)
    status = settings.STATUS_HOST
    return name == status or name.endswith("." + status)


def status_url(path: str = "/", *, scheme: str | None = None, port: str | None = None, host: str | None = None) -> str:
    """Absolute URL of a path on the status host (or one page's host), for links from the portal and mail."""
    scheme = scheme or settings.SITE_URL.split("://", 1)[0]
    site_port = settings.SITE_URL.split("://", 1)[1].partition("/")[0].rpartition(":")[2]
    port = port if port is not None else (site_port if site_port.isdigit() else "")
    host = host or settings.STATUS_HOST
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}{path}"


class StatusHostMiddleware:
    """Serves the status URLconf on the status host, so portal URLs don't exist there."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.is_status_host = is_status_host(request.get_host())
        if request.is_status_host:
            request.urlconf = settings.STATUS_URLCONF
        return self.get_response(request)


class PortalLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every portal page needs a signed-in user unless its view says otherwise.

    The status host is public, and DRF views authenticate on their own (tokens as
    well as sessions) and answer 401/403 instead of redirecting to a login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
        if getattr(request, "is_status_host", False):
            return None
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

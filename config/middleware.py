"""Project-wide middleware: the Content-Security-Policy of each host, and the reader's time zone."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from statuspage import snapshots

# The status pages' own policy (inline <style>, no script at all), as their snapshots send it.
STATUS_HOST_POLICY = dict(snapshots.SECURITY_HEADERS)[HEADER]


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (settings.CONTENT_SECURITY_POLICY) on the portal only.

    The status host's pages carry their snapshot's policy, which allows their inline
    style; responses Django renders there without one (subscription messages, a host
    with no page) get that same policy, never the portal's, and never two headers.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "is_status_host", False):
            response.headers.setdefault(HEADER, STATUS_HOST_POLICY)
            return response
        return super().process_response(request, response)


class UserTimeZoneMiddleware:
    """Shows times in the signed-in person's own time zone unless a page says otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = _user_zone(request)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)


def _user_zone(request: HttpRequest) -> ZoneInfo | None:
    user = getattr(request, "user", None)
    name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None

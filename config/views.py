"""Views that belong to the installation rather than to an app."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "fireline:beat:last-seen"


def _check_database() -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("fireline:healthz", "ok", 10)
    if cache.get("fireline:healthz") != "ok":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Reachability of each backing service; 503 if any is down, for load balancers."""
    report: dict[str, object] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
            logger.warning("healthz: %s unreachable: %s", name, exc)
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            healthy = False
        else:
            report[name] = {"ok": True}
    report["beat_last_seen_at"] = cache.get(BEAT_HEARTBEAT_KEY) if report["cache"]["ok"] else None
    report["status"] = "ok" if healthy else "unavailable"
    report["checked_at"] = timezone.now().isoformat()
    return JsonResponse(report, status=200 if healthy else 503)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413 and says so; JSON under /api/."""
    too_big = isinstance(exception, RequestDataTooBig)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if request.path.startswith("/api/"):
        detail = f"The request body is larger than {limit} bytes." if too_big else "Bad request."
        return JsonResponse({"detail": detail}, status=413 if too_big else 400)
    if too_big:
        return HttpResponse(loader.render_to_string("413.html", {"limit": limit}), status=413)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for URLs nothing matches: JSON under /api/, as the API answers, else the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


# The database is unreachable, the connection broke, or PostgreSQL gave up on a lock or a
# deadlock: the request's transaction rolled back, and trying again is the right advice.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 of both hosts: 503 with Retry-After when the database failed, else the 500 page.

    Runs while Django handles the exception, and needs nothing the failure may have taken: no
    request context, session or user. Paths under /api/ get JSON, as the API answers elsewhere.
    """
    unavailable = isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS)
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        detail = "The database did not answer. Try again in a moment." if unavailable else "Server error."
        response: HttpResponse = JsonResponse({"detail": detail}, status=status)
    else:
        response = HttpResponse(loader.render_to_string(f"{status}.html"), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Never kept by a proxy or browser in place of the page that failed.
    add_never_cache_headers(response)
    return response

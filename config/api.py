"""The one place domain errors (and Django's refusals of a body) become API responses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        if exc.field:
            return Response({exc.field: [exc.message]}, status=exc.status_code)
        return Response({"detail": exc.message}, status=exc.status_code)
    # Django refuses these while DRF reads the body; unhandled, they became an HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"The request body is larger than {limit} bytes."}, status=413)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": "The request has too many fields or files."}, status=400)
    return drf_exception_handler(exc, context)

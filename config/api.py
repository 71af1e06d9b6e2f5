"""The API's root router and the one place domain errors become responses."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        if exc.field:
            return Response({exc.field: [exc.message]}, status=exc.status_code)
        return Response({"detail": exc.message}, status=exc.status_code)
    return drf_exception_handler(exc, context)

"""The one place domain errors become API responses, and the API's search filter."""

from __future__ import annotations

from typing import Any

from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        if exc.field:
            return Response({exc.field: [exc.message]}, status=exc.status_code)
        return Response({"detail": exc.message}, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # `raise ValidationError("…")` outside a serializer: keep the answer an object, as documented.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response


class SearchFilter(filters.SearchFilter):
    """DRF's search, whose refusals (a NUL in the term) name the parameter."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc

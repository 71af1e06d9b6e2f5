"""Input no field can store: NUL characters.

PostgreSQL refuses U+0000 in text and jsonb, so a NUL that reaches a query or an INSERT is a
500 (SQLite takes it silently). Forms' and serializers' CharFields already refuse it with a
field error; everything else that turns input into a lookup (a slug in a URL, a
SlugRelatedField, a query parameter a selector reads, a dict key) would not. So it is refused
where it enters: in the URL, in form bodies, and in what the API's parsers return, with a 400
that says where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    JsonResponse,
    QueryDict,
)
from rest_framework import parsers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

NUL = "\x00"
MESSAGE = "NUL characters (\\u0000) are not allowed."


def first_nul(data: Any, where: str = "") -> str | None:
    """Where the first NUL sits in parsed input (`steps[0].name`; "" for the top level), else None."""
    if isinstance(data, str):
        return where if NUL in data else None
    if isinstance(data, QueryDict):
        data = dict(data.lists())
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and NUL in key:
                return where
            found = first_nul(value, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found = first_nul(value, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _refuse(data: Any) -> Any:
    where = first_nul(data)
    if where is not None:
        raise ValidationError({where or api_settings.NON_FIELD_ERRORS_KEY: [MESSAGE]})
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return _refuse(super().parse(*args, **kwargs))


class FormParser(parsers.FormParser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return _refuse(super().parse(*args, **kwargs))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, *args: Any, **kwargs: Any) -> parsers.DataAndFiles:
        result = super().parse(*args, **kwargs)
        _refuse(result.data)
        return result


class RefuseNulMiddleware:
    """400 for a NUL in the query string or (outside the API) a form body; 404 for one in the path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        if NUL in request.path:
            # No slug, number or id has one: nothing by that name exists.
            return JsonResponse({"detail": "Not found."}, status=404) if api else HttpResponseNotFound()
        where = _named(first_nul(request.GET), "the query string")
        # API bodies are checked by its parsers, after authentication; only forms are read here.
        if where is None and not api and request.content_type == "application/x-www-form-urlencoded":
            where = _named(first_nul(request.POST), "the form")
        if where is None:
            return self.get_response(request)
        message = f"{MESSAGE} Found in {where}."
        if api:
            return JsonResponse({"detail": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _named(where: str | None, root: str) -> str | None:
    if where is None:
        return None
    return f"`{where}`" if where else root

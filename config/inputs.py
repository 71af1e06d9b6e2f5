"""Input no column can store: NUL characters, unpaired surrogates, infinite numbers.

PostgreSQL refuses U+0000 in text and jsonb, and a lone surrogate (`"\\ud800"` in JSON) cannot
even be encoded to UTF-8, so either one reaching a query or an INSERT is a 500 (SQLite takes a
NUL silently). Forms' and serializers' CharFields refuse them with a field error; everything else
that turns input into a lookup (a slug in a URL, a SlugRelatedField, a query parameter a
selector reads, a dict key) would not. So they are refused where they enter: in the URL, in form
bodies, and in what the API's parsers return, with a 400 that says where.
"""

from __future__ import annotations

import math
import re
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
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MESSAGE = "Cannot be stored: text with a NUL character (\\u0000) or a lone surrogate, or a number that is not finite."


def first_unstorable(data: Any, where: str = "") -> str | None:
    """Where the first unstorable character sits in parsed input (`steps[0].name`; "" for the
    top level), else None."""
    if isinstance(data, str):
        return where if UNSTORABLE.search(data) else None
    if isinstance(data, float):
        return None if math.isfinite(data) else where  # 1e999 parses as inf
    if isinstance(data, QueryDict):
        data = dict(data.lists())
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and UNSTORABLE.search(key):
                return where
            found = first_unstorable(value, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found = first_unstorable(value, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def small_int(value: str | None, *, digits: int = 9) -> int | None:
    """`value` as an int when it is a plain ASCII number of at most `digits` digits, else None.

    Not `str.isdigit()`: that takes "²" (which int() refuses) and 5,000-digit strings (which
    int() refuses past 4,300 digits), both a 500 where a 400 or a default was meant.
    """
    if value is None or not re.fullmatch(rf"[0-9]{{1,{digits}}}", value):
        return None
    return int(value)


def _refuse(data: Any) -> Any:
    where = first_unstorable(data)
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
        where = _named(first_unstorable(request.GET), "the query string")
        # API bodies are checked by its parsers, after authentication (and the alert intake reads
        # its raw body itself); the portal's forms are read here, as every view reads them anyway.
        if where is None and not api and request.content_type in FORM_TYPES:
            where = _named(first_unstorable(request.POST), "the form")
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

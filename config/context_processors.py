from __future__ import annotations

from django.http import HttpRequest

from config.hosts import status_url


def fireline(request: HttpRequest) -> dict[str, object]:
    return {"status_page_url": status_url("/", scheme=request.scheme)}

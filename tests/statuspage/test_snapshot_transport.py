"""HTTPS on the status host: the snapshot answers follow SECURE_SSL_REDIRECT and HSTS like the portal."""

from __future__ import annotations

import io

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statuspage import publishing
from statuspage.snapshots import SnapshotWSGI
from tests.statuspage.conftest import HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = False
    return settings


@pytest.fixture
def app(production, page, components):
    publishing.page_publish(page_id=page.pk)
    # A new handler: Django's SecurityMiddleware reads its settings when the stack is built.
    return SnapshotWSGI(WSGIHandler())


def call(app, path: str = "/", *, scheme: str = "http", **extra: str) -> tuple[str, dict[str, str]]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "HTTP_HOST": HOST,
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": scheme,
        "wsgi.errors": io.StringIO(),
        **extra,
    }
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    result = app(environ, start_response)
    b"".join(result)
    getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"]  # type: ignore[return-value]


def test_plain_http_is_redirected_to_https(app):
    status, headers = call(app, "/history")
    assert status.startswith("301")
    assert headers["Location"] == f"https://{HOST}/history"


def test_https_answers_come_from_the_snapshot_with_hsts_and_no_query(app):
    with CaptureQueriesContext(connection) as queries:
        status, headers = call(app, "/", scheme="https")
    assert status == "200 OK"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert len(queries) == 0


def test_behind_a_proxy_its_forwarded_scheme_decides(app, production):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    status, headers = call(app, "/", HTTP_X_FORWARDED_PROTO="https")
    assert status == "200 OK" and "Strict-Transport-Security" in headers
    assert call(app, "/", HTTP_X_FORWARDED_PROTO="http")[0].startswith("301")


def test_without_the_redirect_plain_http_is_served_without_hsts(app, production):
    production.SECURE_SSL_REDIRECT = False
    status, headers = call(app, "/")
    assert status == "200 OK"
    assert "Strict-Transport-Security" not in headers

"""The status host answers from the published snapshot: no SQL, conditional GET, nothing of the portal."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.wsgi import application
from statuspage import publishing, services, snapshots
from statuspage.models import PublishedSnapshot
from tests.statuspage.conftest import HOST, get


@pytest.fixture
def published(page, components):
    publishing.page_publish(page_id=page.pk)
    return page


def test_status_host_answers_without_a_query(client, published, django_assert_num_queries):
    for path in ["/", "/history", "/api/v2/summary.json", "/history.rss", "/history.atom", "/nothing-here"]:
        with django_assert_num_queries(0):
            response = get(client, path)
        assert response.status_code == (404 if path == "/nothing-here" else 200), path


def test_the_home_page_shows_components_and_the_overall_status(client, published):
    response = get(client, "/")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    text = response.content.decode()
    assert "All Systems Operational" in text
    assert "Checkout" in text and "Public API" in text and "Payments" in text


def test_a_change_is_served_on_the_next_request(client, published, components, bob, django_capture_on_commit_callbacks):
    before = get(client, "/api/v2/status.json").json()
    assert before["status"]["indicator"] == "none"
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["checkout"], status="major_outage", by=bob)
    after = get(client, "/api/v2/status.json").json()
    assert after["status"] == {"indicator": "critical", "description": "Major Service Outage"}


def test_etag_answers_304_and_changes_with_the_content(
    client, published, components, bob, django_capture_on_commit_callbacks
):
    first = get(client, "/")
    etag = first["ETag"]
    again = get(client, "/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert get(client, "/", HTTP_IF_NONE_MATCH='W/"other", ' + etag).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["api"], status="degraded_performance", by=bob)
    changed = get(client, "/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_responses_may_be_cached_and_set_no_cookie(client, published):
    response = get(client, "/")
    cache_control = response["Cache-Control"]
    for directive in ["public", "max-age=", "stale-while-revalidate=", "stale-if-error="]:
        assert directive in cache_control
    assert not response.cookies
    assert "Set-Cookie" not in response


def test_head_answers_headers_only(client, published):
    response = client.head("/", HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 1000


def test_gzip_is_served_to_clients_that_ask(client, published):
    import gzip

    plain = get(client, "/")
    zipped = get(client, "/", HTTP_ACCEPT_ENCODING="gzip, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content


@pytest.mark.parametrize(
    "path", ["/admin/", "/api/v1/", "/api/v1/incidents/", "/accounts/login/", "/statuspage/", "/incidents/", "/teams/"]
)
def test_portal_paths_are_not_found_on_the_status_host(client, published, path):
    response = get(client, path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize("path", ["/history", "/history.rss", "/api/v2/summary.json", "/subscribe"])
def test_status_documents_are_not_served_on_the_portal_host(client, published, admin_user, path):
    client.force_login(admin_user)
    response = client.get(path, HTTP_HOST="localhost:8000")
    assert response.status_code == 404


def test_a_host_without_a_page_answers_404_and_asks_the_database_once(client, published, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/", HTTP_HOST=f"other.{HOST}").status_code == 404
    with django_assert_num_queries(0):
        assert client.get("/history", HTTP_HOST=f"other.{HOST}").status_code == 404


def test_a_cold_cache_is_refilled_from_the_stored_snapshot_once(client, published, django_assert_num_queries):
    version = PublishedSnapshot.objects.get(page=published).version
    snapshots.forget(HOST)
    with django_assert_num_queries(1):
        assert get(client, "/").status_code == 200
    with django_assert_num_queries(0):
        assert get(client, "/").status_code == 200
    assert PublishedSnapshot.objects.get(page=published).version == version


def _wsgi(path: str, **extra: str) -> tuple[str, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "8000",
        "HTTP_HOST": f"{HOST}:8000",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **extra,
    }
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        # As a WSGI server does; Django resets its per-request URLconf when the response closes.
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body  # type: ignore[return-value]


def test_the_wsgi_entry_point_answers_before_django_without_a_query(published):
    with CaptureQueriesContext(connection) as queries:
        status, headers, body = _wsgi("/api/v2/summary.json")
        not_modified, _, empty = _wsgi("/api/v2/summary.json", HTTP_IF_NONE_MATCH=headers["ETag"])
    assert status == "200 OK"
    assert headers["Content-Type"] == "application/json"
    assert b'"indicator":"none"' in body
    assert not_modified == "304 Not Modified" and empty == b""
    assert len(queries) == 0


def test_the_wsgi_entry_point_follows_a_change_of_status_host(published, settings):
    assert _wsgi("/api/v2/summary.json")[0] == "200 OK"  # the host's decision is now remembered
    settings.STATUS_HOST = "status.example.com"
    settings.ALLOWED_HOSTS = [".example.com", ".localhost", "testserver"]

    status, headers, _ = _wsgi("/api/v2/summary.json")

    assert status.startswith("404")  # status.localhost is a portal host now: Django answers
    assert "ETag" not in headers


def test_the_wsgi_entry_point_passes_writes_and_unknown_paths_to_django(published):
    status, _, _ = _wsgi("/admin/")
    assert status.startswith("404")
    status, _, _ = _wsgi("/subscribe", REQUEST_METHOD="GET")
    assert status.startswith("405")


def test_another_process_sees_a_new_version_within_the_freshness_interval(published, monkeypatch):
    """A second web process keeps its own copy; it must pick up a publish made elsewhere."""
    before = snapshots.lookup(HOST, "/api/v2/status.json")
    assert before is not None
    # Simulate the other process: it publishes, and this process's copy is older than FRESH_SECONDS.
    publishing.page_publish(page_id=published.pk)
    current = snapshots._local[HOST].version
    snapshots._local[HOST] = snapshots._Local(version="old", checked_at=0.0, documents={})
    assert snapshots.lookup(HOST, "/api/v2/status.json") is not None
    assert snapshots._local[HOST].version == current


def test_a_failed_render_does_not_fail_the_change_and_goes_to_the_worker(
    page, components, bob, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publishing, "page_publish", lambda **kw: (_ for _ in ()).throw(RuntimeError("template broke")))
    monkeypatch.setattr(publishing.celery_app, "send_task", lambda name, args: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["api"], status="major_outage", by=bob)
    components["api"].refresh_from_db()
    assert components["api"].status == "major_outage"
    assert sent == [(publishing.PUBLISH_TASK, (page.pk,))]


def test_a_cache_outage_serves_this_process_copy_and_publishing_still_stores(
    client, published, components, bob, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import caches

    cache = caches[snapshots.CACHE_ALIAS]

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "set", "delete", "touch"):
        monkeypatch.setattr(cache, name, down)
    snapshots._local[HOST].checked_at = 0.0  # due for a check against the (dead) cache
    assert get(client, "/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["api"], status="major_outage", by=bob)
    assert get(client, "/api/v2/status.json").json()["status"]["indicator"] == "critical"
    assert PublishedSnapshot.objects.get(page=published).published_at is not None


def test_a_replaced_bundle_expires_soon(published, monkeypatch):
    from django.core.cache import caches

    touched = []
    cache = caches[snapshots.CACHE_ALIAS]
    monkeypatch.setattr(cache, "touch", lambda key, timeout=None: touched.append((key, timeout)))
    old = snapshots._local[HOST].version
    publishing.page_publish(page_id=published.pk)
    assert touched == [(f"statuspage:bundle:{HOST}:{old}", snapshots.REPLACED_SECONDS)]

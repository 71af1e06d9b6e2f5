import pytest
from django.urls import reverse

from config.hosts import is_status_host, status_url


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("status.localhost", True),
        ("status.localhost:8000", True),
        ("STATUS.LOCALHOST:8000", True),
        ("acme.status.localhost:8000", True),
        ("localhost:8000", False),
        ("notstatus.localhost", False),
        ("status.localhost.evil.example", False),
        ("127.0.0.1:8000", False),
    ],
)
def test_status_host_is_recognised_by_name_only(host, expected):
    assert is_status_host(host) is expected


def test_status_url_keeps_the_portal_port(settings):
    settings.SITE_URL = "http://localhost:8000"
    assert status_url("/history") == "http://status.localhost:8000/history"


@pytest.mark.parametrize(
    "path", ["/admin/", "/api/v1/", "/api/v1/schema/", "/api/docs/", "/accounts/login/", "/teams/"]
)
def test_portal_urls_do_not_exist_on_the_status_host(client, db, path):
    response = client.get(path, HTTP_HOST="status.localhost")
    assert response.status_code == 404


def test_portal_host_does_not_serve_the_status_page(client):
    response = client.get("/", HTTP_HOST="localhost:8000")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_healthz_answers_on_both_hosts(client, db):
    assert client.get("/healthz", HTTP_HOST="status.localhost").status_code == 200
    assert client.get("/healthz", HTTP_HOST="localhost").status_code == 200

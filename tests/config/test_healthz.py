import pytest
from django.db import connection

from config.celery import app as celery_app


@pytest.mark.django_db
def test_healthz_reports_every_backing_service_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {body[name]["ok"] for name in ("database", "cache", "broker")} == {True}


@pytest.fixture
def unreachable_database(django_db_blocker):
    """Points the default connection at a port where no database listens."""
    original = dict(connection.settings_dict)
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(original)


@pytest.mark.postgres(reason="the SQLite test database lives in memory and cannot be made unreachable")
def test_healthz_answers_503_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert "OperationalError" in body["database"]["error"]
    assert body["cache"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_unreachable(client):
    celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_write_url = None
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True

"""Beat tasks run by a real worker: maintenance starts, and customers see it with no SQL."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from statuspage import services
from statuspage.models import Notice
from statuspage.tasks import move_maintenance_windows
from tests.statuspage.conftest import get


def test_each_task_runs_its_service_twice_with_one_effect(page, components, bob):
    now = dt.datetime.now(dt.UTC)
    services.maintenance_schedule(
        page=page,
        title="Upgrade",
        body="Short window.",
        scheduled_for=now - dt.timedelta(minutes=1),
        scheduled_until=now + dt.timedelta(hours=1),
        components=[components["api"]],
        by=bob,
        now=now - dt.timedelta(days=1),
    )
    assert move_maintenance_windows() == "moved 1"
    assert move_maintenance_windows() == "moved 0"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_starts_maintenance_and_the_status_host_shows_it(client, page, components, bob):
    now = dt.datetime.now(dt.UTC)
    notice = services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="The API may be slow.",
        scheduled_for=now - dt.timedelta(seconds=5),
        scheduled_until=now + dt.timedelta(hours=1),
        components=[components["api"]],
        by=bob,
        now=now - dt.timedelta(days=1),
    )
    assert get(client, "/api/v2/scheduled-maintenances/active.json").json()["scheduled_maintenances"] == []
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        move_maintenance_windows.delay()
        deadline = time.monotonic() + 20
        while Notice.objects.get(pk=notice.pk).status != "in_progress" and time.monotonic() < deadline:
            time.sleep(0.1)
    active = get(client, "/api/v2/scheduled-maintenances/active.json").json()["scheduled_maintenances"]
    assert [m["id"] for m in active] == [notice.public_id]
    components_doc = get(client, "/api/v2/components.json").json()["components"]
    assert {c["name"]: c["status"] for c in components_doc}["Public API"] == "under_maintenance"

"""Status page fixtures: team A's page on the status host, with two grouped components and one alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import caches

from statuspage import services, snapshots
from statuspage.models import ComponentGroup, StatusPage

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOST = "status.localhost"


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    """Snapshots live in a cache shared across tests (Redis in CI); each test starts without any."""
    caches[snapshots.CACHE_ALIAS].clear()
    snapshots._local.clear()
    yield
    snapshots._local.clear()


@pytest.fixture
def page(team_a):
    page = StatusPage.objects.create(name="Acme", host=HOST, time_zone="Europe/London")
    page.teams.set([team_a])
    return page


@pytest.fixture
def components(page, service_a):
    group = ComponentGroup.objects.create(page=page, name="Payments", position=1)
    made = {
        "checkout": services.component_create(page=page, name="Checkout", group=group, position=1, now=T0),
        "payouts": services.component_create(page=page, name="Payouts", group=group, position=2, now=T0),
        "api": services.component_create(page=page, name="Public API", position=0, now=T0),
    }
    made["checkout"].services.set([service_a])
    return made


def get(client, path: str, **headers):
    """A request on the status host, as a customer's browser sends it."""
    return client.get(path, HTTP_HOST=f"{HOST}:8000", **headers)

"""Shared fixtures: the three people of every test, and the PostgreSQL rule.

alice manages team A, bob is a member of A, charlie is on team B and must get 404
for everything of A.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config import ratelimit
from config.celery import app as celery_app
from oncall.models import Membership
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    # Each run gets its own queue, so a worker started by a test never picks up
    # messages left on a shared broker by another run.
    celery_app.conf.task_default_queue = f"fireline-test-{uuid.uuid4().hex[:8]}"
    # The suite calls the API as the same few people (and the schema test one token) far more
    # often than a person would; tests of the API limits set their own (tests/config/test_throttles.py).
    settings.FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE = 1_000_000
    settings.FIRELINE_API_USER_REQUESTS_PER_MINUTE = 1_000_000
    # PBKDF2 takes about a second per hash on this machine, and factories hash every user's password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("postgres")
    if marker is None or connection.vendor == "postgresql":
        return
    why = marker.kwargs.get("reason", "row locks, concurrency")
    reason = f"needs PostgreSQL ({why}); DATABASE_URL points at {connection.vendor}"
    if IN_CI:
        pytest.fail(f"{reason}, and CI must run every test")
    pytest.skip(reason)


@pytest.fixture
def fresh_rate_limits() -> None:
    """Rate-limit counters (config/ratelimit.py) outlive a test in Redis: start without any."""
    if settings.FIRELINE_RATELIMIT_REDIS_URL:
        client = ratelimit._client(settings.FIRELINE_RATELIMIT_REDIS_URL)
        for key in client.scan_iter(match=f"{ratelimit.KEY_PREFIX}:*", count=1000):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Payments", slug="payments", time_zone="America/New_York")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Web", slug="web", time_zone="Europe/London")


@pytest.fixture
def alice(team_a):
    user = UserFactory(username="alice")
    MembershipFactory(user=user, team=team_a, role=Membership.Role.MANAGER)
    return user


@pytest.fixture
def bob(team_a):
    user = UserFactory(username="bob")
    MembershipFactory(user=user, team=team_a, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def charlie(team_b):
    user = UserFactory(username="charlie")
    MembershipFactory(user=user, team=team_b, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def service_a(team_a):
    return ServiceFactory(team=team_a, name="Payments API", slug="payments-api")


@pytest.fixture
def service_b(team_b):
    return ServiceFactory(team=team_b, name="Web app", slug="web-app")

"""The shared rate-limit counters when Redis hangs: one timeout, then the process leaves Redis alone."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from config import ratelimit
from tests.hardening.processes import SilentServer

T0 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def hung_redis(settings):
    with SilentServer() as hung:
        settings.FIRELINE_RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{hung.port}/0"
        yield


def _timed_hit() -> tuple[int, float]:
    started = time.monotonic()
    count, _ = ratelimit.hit(scope="breaker-test", window_seconds=60, now=T0)
    return count, time.monotonic() - started


def test_a_hung_redis_costs_one_timeout_then_requests_pass_at_once(hung_redis, caplog):
    first, first_seconds = _timed_hit()
    later = [_timed_hit() for _ in range(20)]
    waited, _ = ratelimit.peek(scope="breaker-test", window_seconds=60, now=T0)

    assert first == 0 and first_seconds >= 0.9  # let through after the socket timeout
    assert all(count == 0 and seconds < 0.05 for count, seconds in later)
    assert waited == 0
    assert sum("unreachable" in record.getMessage() for record in caplog.records) == 1


def test_a_failed_redis_leaves_a_working_one_alone(hung_redis, settings):
    _timed_hit()
    settings.FIRELINE_RATELIMIT_REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:6379/0"

    scope = f"other-{uuid.uuid4()}"
    counts = [ratelimit.hit(scope=scope, window_seconds=60, now=T0)[0] for _ in range(2)]

    assert counts == [1, 2]


def test_redis_is_tried_again_once_the_breaker_closes(hung_redis, monkeypatch):
    _timed_hit()
    monkeypatch.setattr(ratelimit, "BREAKER_SECONDS", 0.0)
    ratelimit._breaker.clear()

    _, seconds = _timed_hit()

    assert seconds >= 0.9

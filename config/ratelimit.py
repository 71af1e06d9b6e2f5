"""Fixed-window counters shared by every web process: alert intake, sign-in failures, API throttles.

A window is `window_seconds` long and aligned to the epoch, so the key of the window that
holds an instant, and the seconds left in it, follow from `now` alone: tests pass instants
instead of sleeping, and a 429 can say exactly how long to wait.

With `FIRELINE_RATELIMIT_REDIS_URL` set (it defaults to `REDIS_URL`), each hit runs INCR
and EXPIRE in one MULTI/EXEC pipeline (one round trip), so fifty concurrent requests get
fifty distinct counts. DRF's own throttles read, then write, the cache: concurrent
requests slip through between the two.

Without it (embedded mode, one process) the counter lives in Django's cache: `add`
creates the window's key and `incr` bumps it, which the local-memory cache does under
its lock. Several processes with a local-memory cache each count on their own, which is
why production sets `REDIS_URL`.

If Redis cannot be reached, a hit counts as 0 and a warning is logged: every caller
prefers letting a request through to refusing everyone during a cache outage. The process
then leaves Redis alone for BREAKER_SECONDS, so a hung Redis costs one timeout per process
every ten seconds, not one per request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# A key outlives its window a little, so a clock skew between hosts cannot reset it early.
KEY_GRACE_SECONDS = 5
KEY_PREFIX = "fireline:ratelimit"
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    key: str
    seconds_left: int
    timeout: int


def window(*, scope: str, window_seconds: int, now: datetime) -> Window:
    """The window of `scope` that holds `now`."""
    epoch = now.timestamp()
    index = int(epoch // window_seconds)
    seconds_left = max(1, math.ceil((index + 1) * window_seconds - epoch))
    return Window(
        key=f"{KEY_PREFIX}:{scope}:{window_seconds}:{index}",
        seconds_left=seconds_left,
        timeout=seconds_left + KEY_GRACE_SECONDS,
    )


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


# After Redis fails, this process leaves it alone for a while: a hung Redis would otherwise
# cost every request its socket timeout (a second each) for as long as it hangs.
BREAKER_SECONDS = 10.0
_breaker: dict[str, float] = {}  # Redis URL -> monotonic instant until which it is left alone


def _in_redis(url: str, command: Callable[[redis.Redis], T], failed: str) -> T | None:
    """Runs `command` on Redis; None when Redis fails or failed within BREAKER_SECONDS."""
    if time.monotonic() < _breaker.get(url, 0.0):
        return None
    try:
        return command(_client(url))
    except redis.RedisError:
        _breaker[url] = time.monotonic() + BREAKER_SECONDS
        logger.warning("Rate-limit counter unreachable; %s for the next %.0f s.", failed, BREAKER_SECONDS)
        return None


def _incr(current: Window, by: int) -> Callable[[redis.Redis], int]:
    def command(client: redis.Redis) -> int:
        pipe = client.pipeline(transaction=True)
        pipe.incrby(current.key, by)
        pipe.expire(current.key, current.timeout)
        count, _ = pipe.execute()
        return int(count)

    return command


def _count_in_cache(current: Window, by: int) -> int:
    cache.add(current.key, 0, timeout=current.timeout)
    try:
        return int(cache.incr(current.key, by))
    except ValueError:  # evicted between add and incr: this request opens the window again
        cache.add(current.key, max(by, 0), timeout=current.timeout)
        return max(by, 0)


def hit(*, scope: str, window_seconds: int, now: datetime, by: int = 1) -> tuple[int, int]:
    """Counts `by` events for `scope` in the window holding `now`; returns (count, seconds left).

    A negative `by` takes back what an earlier hit counted (a sign-in that turned out right).
    """
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        return _count_in_cache(current, by), current.seconds_left
    count = _in_redis(url, _incr(current, by), failed="not counting")
    return (count or 0), current.seconds_left


def peek(*, scope: str, window_seconds: int, now: datetime) -> tuple[int, int]:
    """The count so far in the window holding `now`, without counting; (count, seconds left)."""
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        return int(cache.get(current.key, 0)), current.seconds_left
    value = _in_redis(url, lambda client: client.get(current.key), failed="not checking")
    return int(value or 0), current.seconds_left


def forget(*, scope: str, window_seconds: int, now: datetime) -> None:
    """Drops the count of the window holding `now` (e.g. a successful sign-in)."""
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        cache.delete(current.key)
        return
    _in_redis(url, lambda client: client.delete(current.key), failed="not resetting")

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
prefers letting a request through to refusing everyone during a cache outage.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# A key outlives its window a little, so a clock skew between hosts cannot reset it early.
KEY_GRACE_SECONDS = 5
KEY_PREFIX = "fireline:ratelimit"


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


def _count_in_redis(url: str, current: Window) -> int:
    pipe = _client(url).pipeline(transaction=True)
    pipe.incr(current.key)
    pipe.expire(current.key, current.timeout)
    count, _ = pipe.execute()
    return int(count)


def _count_in_cache(current: Window) -> int:
    cache.add(current.key, 0, timeout=current.timeout)
    try:
        return int(cache.incr(current.key))
    except ValueError:  # evicted between add and incr: this request opens the window again
        cache.add(current.key, 1, timeout=current.timeout)
        return 1


def hit(*, scope: str, window_seconds: int, now: datetime) -> tuple[int, int]:
    """Counts one event for `scope` in the window holding `now`; returns (count, seconds left)."""
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        return _count_in_cache(current), current.seconds_left
    try:
        return _count_in_redis(url, current), current.seconds_left
    except redis.RedisError:
        logger.warning("Rate-limit counter unreachable; not counting %s.", scope)
        return 0, current.seconds_left


def peek(*, scope: str, window_seconds: int, now: datetime) -> tuple[int, int]:
    """The count so far in the window holding `now`, without counting; (count, seconds left)."""
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        return int(cache.get(current.key, 0)), current.seconds_left
    try:
        value = _client(url).get(current.key)
    except redis.RedisError:
        logger.warning("Rate-limit counter unreachable; not checking %s.", scope)
        return 0, current.seconds_left
    return int(value or 0), current.seconds_left


def forget(*, scope: str, window_seconds: int, now: datetime) -> None:
    """Drops the count of the window holding `now` (e.g. a successful sign-in)."""
    current = window(scope=scope, window_seconds=window_seconds, now=now)
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        cache.delete(current.key)
        return
    try:
        _client(url).delete(current.key)
    except redis.RedisError:
        logger.warning("Rate-limit counter unreachable; could not reset %s.", scope)

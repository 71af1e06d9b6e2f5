"""Per-integration intake limits: a fixed one-minute window counted atomically.

With `FIRELINE_RATELIMIT_REDIS_URL` set (it defaults to `REDIS_URL`), each request runs
INCR and EXPIRE in one MULTI/EXEC pipeline (one round trip), so fifty concurrent
requests get fifty distinct counts and exactly `limit` of them pass. DRF's throttles
read, then write, the cache: concurrent requests slip through between the two.

Without it (embedded mode, one process) the counter lives in Django's cache:
`add` creates the window's key and `incr` bumps it, which the local-memory cache does
under its lock. Several processes with a local-memory cache each count on their own,
which is why production sets `REDIS_URL`.

If Redis cannot be reached, intake is allowed and a warning logged: losing a page to
a cache outage is worse than letting a noisy tool through for a while.
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

WINDOW_SECONDS = 60
# The key outlives its window a little, so a clock skew between hosts cannot reset it early.
KEY_GRACE_SECONDS = 5
KEY_PREFIX = "fireline:intake"


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _count_in_redis(url: str, key: str) -> int:
    pipe = _client(url).pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS + KEY_GRACE_SECONDS)
    count, _ = pipe.execute()
    return int(count)


def _count_in_cache(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW_SECONDS + KEY_GRACE_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # evicted between add and incr: this request opens the window again
        cache.add(key, 1, timeout=WINDOW_SECONDS + KEY_GRACE_SECONDS)
        return 1


def count_hit(*, scope: str, now: datetime) -> tuple[int, int]:
    """Counts one request for `scope` in the window holding `now`; returns (count, seconds left)."""
    epoch = now.timestamp()
    window = int(epoch // WINDOW_SECONDS)
    key = f"{KEY_PREFIX}:{scope}:{window}"
    seconds_left = max(1, math.ceil((window + 1) * WINDOW_SECONDS - epoch))
    url = settings.FIRELINE_RATELIMIT_REDIS_URL
    if not url:
        return _count_in_cache(key), seconds_left
    try:
        return _count_in_redis(url, key), seconds_left
    except redis.RedisError:
        logger.warning("Rate-limit counter unreachable; letting intake for %s through.", scope)
        return 0, seconds_left


def intake_hit(*, scope: str, limit: int, now: datetime) -> LimitDecision:
    """Counts the request and says whether it is within `limit` requests per minute."""
    count, seconds_left = count_hit(scope=scope, now=now)
    return LimitDecision(allowed=count <= limit, count=count, limit=limit, retry_after_seconds=seconds_left)

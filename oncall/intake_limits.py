"""Per-integration intake limits: a fixed one-minute window counted atomically.

The counting lives in `config.ratelimit` (Redis INCR+EXPIRE in one MULTI pipeline when
`FIRELINE_RATELIMIT_REDIS_URL` is set, else Django's cache), shared with the sign-in and
API throttles: fifty concurrent requests get fifty distinct counts and exactly `limit` of
them pass.

If Redis cannot be reached, intake is allowed and a warning logged: losing a page to
a cache outage is worse than letting a noisy tool through for a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from config import ratelimit

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int


def count_hit(*, scope: str, now: datetime) -> tuple[int, int]:
    """Counts one request for `scope` in the window holding `now`; returns (count, seconds left)."""
    return ratelimit.hit(scope=f"intake:{scope}", window_seconds=WINDOW_SECONDS, now=now)


def intake_hit(*, scope: str, limit: int, now: datetime) -> LimitDecision:
    """Counts the request and says whether it is within `limit` requests per minute."""
    count, seconds_left = count_hit(scope=scope, now=now)
    return LimitDecision(allowed=count <= limit, count=count, limit=limit, retry_after_seconds=seconds_left)

"""API rate limits: requests per minute per token, and per person for browser sessions.

DRF throttle classes over `config.ratelimit`'s shared, atomic one-minute windows (DRF's
own throttles read, then write, the cache, so concurrent requests slip through). Rates
are read from settings on each request (`FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE`,
`FIRELINE_API_USER_REQUESTS_PER_MINUTE`). Anonymous requests are not counted here: the
API answers them 401, and the alert intake limits each integration itself
(`oncall.intake_limits`). Over the limit the answer is 429 with `Retry-After` and
`{"detail": "More than N requests this minute with this token; try again in S seconds."}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config import ratelimit

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.views import APIView

WINDOW_SECONDS = 60


class TooManyRequests(Throttled):
    extra_detail_singular = "try again in {wait} second."
    extra_detail_plural = "try again in {wait} seconds."


class _PerMinuteThrottle(BaseThrottle):
    rate_setting = ""
    who = ""

    def scope_of(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = self.scope_of(request)
        if scope is None:
            return True
        limit = getattr(settings, self.rate_setting)
        count, seconds_left = ratelimit.hit(scope=scope, window_seconds=WINDOW_SECONDS, now=timezone.now())
        if count > limit:
            # Raised here rather than returning False, so the answer names the limit it hit.
            raise TooManyRequests(wait=seconds_left, detail=f"More than {limit} requests this minute {self.who};")
        return True


class TokenRateThrottle(_PerMinuteThrottle):
    """Each API token has its own budget, whoever else uses the same account."""

    rate_setting = "FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE"
    who = "with this token"

    def scope_of(self, request: Request) -> str | None:
        # `oncall.auth.ApiTokenAuthentication` sets the ApiToken as `request.auth`; sessions leave it None.
        token = request.auth
        return f"api:token:{token.pk}" if token is not None else None


class UserRateThrottle(_PerMinuteThrottle):
    """A person signed in with a session (the browsable API, Swagger UI, the portal's own calls)."""

    rate_setting = "FIRELINE_API_USER_REQUESTS_PER_MINUTE"
    who = "from your account"

    def scope_of(self, request: Request) -> str | None:
        if request.auth is not None or not request.user.is_authenticated:
            return None
        return f"api:user:{request.user.pk}"

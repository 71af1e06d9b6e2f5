"""How people and tools prove who they are: API tokens, and sign-in with its failure throttle.

API: `Authorization: Bearer fl_…` (`ApiTokenAuthentication`).

Sign-in (the portal's and the admin's forms): after `FIRELINE_SIGNIN_FAILURES_PER_USERNAME`
failed attempts for one username, or `FIRELINE_SIGNIN_FAILURES_PER_IP` from one address,
within a window of `FIRELINE_SIGNIN_WINDOW_SECONDS`, the form answers 429 with the time
left, without checking the password, until the window ends. A username's try is counted
before its password is checked, so a burst cannot slip extra guesses past the limit; the
address counts wrong passwords only. Attempts are counted in
`config.ratelimit`'s shared windows (Redis, atomic across processes), for any username,
known or not, so the answer reveals nothing about which accounts exist. A successful
sign-in clears its username's count; the address count stays, so one valid account
cannot be used to keep guessing others from the same place. The per-address limit is
higher: colleagues behind one NAT share it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from config import ratelimit
from oncall.models import ApiToken, User
from oncall.services.teams import token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = (b"bearer", b"token")

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as “Authorization: Bearer <token>”.")
        try:
            raw = parts[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token has characters a token never has.") from exc
        token = token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


# --- sign-in throttle ----------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES set, what the nearest proxies saw."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.NUM_PROXIES
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR", "")


def _username_scope(username: str) -> str:
    # Hashed: any text fits a cache key, and usernames don't sit in Redis in clear.
    return "signin:user:" + hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def _ip_scope(ip: str) -> str:
    return f"signin:ip:{ip}"


def signin_wait_seconds(*, username: str, ip: str, now: datetime) -> int:
    """Seconds until a sign-in as `username` from `ip` may be tried again; 0 if it may now."""
    window = settings.FIRELINE_SIGNIN_WINDOW_SECONDS
    for scope, limit in (
        (_username_scope(username), settings.FIRELINE_SIGNIN_FAILURES_PER_USERNAME),
        (_ip_scope(ip), settings.FIRELINE_SIGNIN_FAILURES_PER_IP),
    ):
        failures, seconds_left = ratelimit.peek(scope=scope, window_seconds=window, now=now)
        if failures >= limit:
            return seconds_left
    return 0


def _hit(scope: str, now: datetime, by: int = 1) -> tuple[int, int]:
    return ratelimit.hit(scope=scope, window_seconds=settings.FIRELINE_SIGNIN_WINDOW_SECONDS, now=now, by=by)


def signin_attempt(*, username: str, ip: str, now: datetime) -> int:
    """Reserves one try of the password; the seconds to wait if it is refused, else 0.

    The username's count goes up before the password is checked, so fifty attempts sent at
    once get fifty distinct counts and only the first `limit` are checked. The address counts
    failures only (colleagues behind one NAT share it) and is read as it stands.
    """
    failures, seconds_left = ratelimit.peek(
        scope=_ip_scope(ip), window_seconds=settings.FIRELINE_SIGNIN_WINDOW_SECONDS, now=now
    )
    if failures >= settings.FIRELINE_SIGNIN_FAILURES_PER_IP:
        return seconds_left
    tries, seconds_left = _hit(_username_scope(username), now)
    return seconds_left if tries > settings.FIRELINE_SIGNIN_FAILURES_PER_USERNAME else 0


def signin_password_wrong(*, ip: str, now: datetime) -> None:
    """After a checked attempt failed: the address's count (the username's was reserved)."""
    _hit(_ip_scope(ip), now)


def signin_not_a_guess(*, username: str, now: datetime) -> None:
    """Takes back the try of a right password whose account may not sign in here."""
    _hit(_username_scope(username), now, by=-1)


def signin_succeeded(*, username: str, now: datetime) -> None:
    """Clears the username's count; the address keeps its failures."""
    ratelimit.forget(scope=_username_scope(username), window_seconds=settings.FIRELINE_SIGNIN_WINDOW_SECONDS, now=now)


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledSignInMixin:
    """Refuses a sign-in while its username or address is over the failure limit; counts failures."""

    request: HttpRequest | None
    user_cache: User | None
    cleaned_data: dict[str, Any]
    wait_seconds = 0

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # type: ignore[misc]
        now = timezone.now()
        ip = client_ip(self.request) if self.request is not None else ""
        self.wait_seconds = signin_attempt(username=username, ip=ip, now=now)
        if self.wait_seconds:
            raise forms.ValidationError(
                "Too many failed sign-ins for this username or from your address. "
                f"Try again in {_in_words(self.wait_seconds)}, or reset your password.",
                code="throttled",
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if self.user_cache is None:  # a wrong username or password
                signin_password_wrong(ip=ip, now=now)
            else:  # the right password of an account that may not sign in here
                signin_not_a_guess(username=username, now=now)
            raise
        signin_succeeded(username=username, now=now)
        return cleaned


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    pass


def answers_429_when_throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps a login view: a form refused by the throttle is shown with 429 and Retry-After."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "wait_seconds", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    return wrapped

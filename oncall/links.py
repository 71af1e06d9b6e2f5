"""Signed one-click links for a page notification: acknowledge or resolve without signing in.

A link names one page, one person and one action, and carries its own expiry, all
signed with the SECRET_KEY (django.core.signing), so a changed digit breaks it. The
expiry is inside the signed value and checked against an explicit `now`, which keeps
the rule testable without touching the clock.

Opening a link (GET) only shows a confirmation page: mail scanners and link
previews fetch every URL in a message, and a GET that acted would acknowledge pages
nobody read. The POST from that page acts, as the person the link was sent to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "fireline.oncall.page-link"
LINK_LIFETIME = timedelta(hours=24)
ACTIONS = ("acknowledge", "resolve")


class LinkInvalid(Exception):
    """The token was not made by us, was altered, or names something else."""


class LinkExpired(Exception):
    """The token is genuine but too old."""


@dataclass(frozen=True)
class PageLink:
    page_id: int
    user_id: int
    action: str
    expires_at: datetime


def page_link_token(*, page_id: int, user_id: int, action: str, now: datetime) -> str:
    if action not in ACTIONS:
        raise ValueError(f"Unknown page link action {action!r}")
    expires = int((now + LINK_LIFETIME).timestamp())
    return signing.dumps({"p": page_id, "u": user_id, "a": action, "e": expires}, salt=SALT, compress=True)


def page_link_url(*, page_id: int, user_id: int, action: str, now: datetime) -> str:
    token = page_link_token(page_id=page_id, user_id=user_id, action=action, now=now)
    return settings.SITE_URL + reverse("oncall:page-link", kwargs={"token": token})


def page_link_read(token: str, *, now: datetime) -> PageLink:
    """The link's claims. Raises LinkInvalid for a forged or altered token, LinkExpired for an old one."""
    try:
        data = signing.loads(token, salt=SALT)
        link = PageLink(
            page_id=int(data["p"]),
            user_id=int(data["u"]),
            action=str(data["a"]),
            expires_at=datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("This link is not valid.") from exc
    if link.action not in ACTIONS:
        raise LinkInvalid("This link is not valid.")
    if now >= link.expires_at:
        raise LinkExpired("This link has expired.")
    return link

"""Notification transports: small plugins in a registry, one per kind of destination.

A channel sends one Notification and either returns or raises TransportError.
`permanent=True` means retrying cannot help (the address bounced, the webhook is
gone): the outbox then disables the destination and tells its owner. Anything
else is retried with backoff.

Webhooks are signed so receivers can reject forgeries, replays and skew::

    X-Fireline-Event-Id:  the notification's dedup key (stable across retries)
    X-Fireline-Timestamp: unix seconds when this attempt was sent
    X-Fireline-Signature: sha256=<hex HMAC-SHA256(secret, f"{event_id}.{timestamp}.".encode() + raw_body)>

A team webhook signs with its own secret (shown once when it is created). A
person's own slack/webhook contact method has no stored secret: it signs with a
key derived from SECRET_KEY and the method's id (`contact_method_secret`), shown on
that person's notification page. Rotating SECRET_KEY changes those keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from oncall.models import ContactMethod, Notification, TeamWebhook

HTTP_TIMEOUT_SECONDS = 5.0
# Django's SMTP backend waits forever by default; a hung server must not hold a
# claimed row past the outbox's stale limit.
SMTP_TIMEOUT_SECONDS = 10.0
SIGNATURE_TOLERANCE_SECONDS = 300
# Rate limits and "try again later" are worth retrying; every other 4xx is not.
RETRYABLE_CLIENT_ERRORS = {408, 425, 429}


class TransportError(Exception):
    """A send failed. `permanent` says whether the destination itself is unusable."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Destination:
    """Where a notification goes, resolved from its contact method, team webhook or recipient."""

    kind: str
    address: str
    secret: str = ""


def contact_method_secret(contact_method: ContactMethod) -> str:
    """The signing key of a person's own webhook: derived, so there is nothing to store or leak."""
    return salted_hmac(
        "fireline.channels.contact-method", f"{contact_method.pk}:{contact_method.user_id}", algorithm="sha256"
    ).hexdigest()


def destination_of(notification: Notification) -> Destination:
    method, hook = notification.contact_method, notification.webhook
    if method is not None:
        secret = "" if method.kind == ContactMethod.Kind.EMAIL else contact_method_secret(method)
        return Destination(kind=method.kind, address=method.address, secret=secret)
    if hook is not None:
        kind = ContactMethod.Kind.SLACK if hook.format == TeamWebhook.Format.SLACK else ContactMethod.Kind.WEBHOOK
        return Destination(kind=kind, address=hook.url, secret=hook.secret)
    if notification.email_address:
        return Destination(kind=ContactMethod.Kind.EMAIL, address=notification.email_address)
    # The fallback for a person with no rule for this event: their account address.
    email = notification.recipient.email if notification.recipient else ""
    return Destination(kind=ContactMethod.Kind.EMAIL, address=email)


class Channel:
    kind: ClassVar[str]

    def send(self, notification: Notification) -> None:
        raise NotImplementedError


_REGISTRY: dict[str, Channel] = {}


def register(channel: type[Channel]) -> type[Channel]:
    _REGISTRY[channel.kind] = channel()
    return channel


def channel_for(notification: Notification) -> Channel:
    kind = destination_of(notification).kind
    try:
        return _REGISTRY[kind]
    except KeyError as exc:
        raise TransportError(f"No channel delivers “{kind}”.", permanent=True) from exc


@register
class EmailChannel(Channel):
    kind = ContactMethod.Kind.EMAIL

    def send(self, notification: Notification) -> None:
        address = destination_of(notification).address
        if not address:
            raise TransportError("The recipient has no email address.", permanent=True)
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT_SECONDS
        message = EmailMessage(
            # A newline in a subject is a header injection; Django would refuse the whole message.
            subject=" ".join(notification.subject.split()),
            body=_email_body(notification),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={
                "Message-ID": message_id(notification),
                "X-Fireline-Event-Id": notification.dedup_key,
                **_list_headers(notification),
            },
            connection=get_connection(timeout=timeout),
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"The mail server refused {address}: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"Mail not sent: {type(exc).__name__}: {exc}") from exc


def message_id(notification: Notification) -> str:
    """The same for every attempt at one notification. A worker that dies after the mail server
    took a message but before the row was marked sent makes the sweep send it again; with the
    same Message-ID, mail systems that drop repeats (Gmail does) and people's clients see one message.
    """
    digest = hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:32]
    return f"<{digest}@{urlsplit(settings.SITE_URL).hostname or 'fireline.invalid'}>"


def _list_headers(notification: Notification) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe, for mail to people who have no account to manage it in."""
    url = notification.payload.get("unsubscribe_url")
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _email_body(notification: Notification) -> str:
    if notification.email_address:
        # Subscribers have no settings page; their message carries its own footer.
        return notification.body
    settings_url = settings.SITE_URL + reverse("oncall:notification-settings")
    return f"{notification.body}\n\n--\nChoose what reaches you and where: {settings_url}\n"


def sign(*, secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *,
    secret: str,
    event_id: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is within the tolerance of `now`."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - sent_at) > tolerance_seconds:
        return False
    expected = sign(secret=secret, event_id=event_id, timestamp=sent_at, body=body)
    return hmac.compare_digest(expected, signature)


class _SignedWebhookChannel(Channel):
    def body(self, notification: Notification) -> dict[str, object]:
        raise NotImplementedError

    def send(self, notification: Notification) -> None:
        destination = destination_of(notification)
        raw = json.dumps(self.body(notification), cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Fireline-Webhook/1"}
        if destination.secret:
            headers.update(_signature_headers(notification.dedup_key, raw, destination.secret))
        _post(destination.address, raw, headers)


def _signature_headers(event_id: str, raw: bytes, secret: str) -> dict[str, str]:
    timestamp = int(timezone.now().timestamp())
    return {
        "X-Fireline-Event-Id": event_id,
        "X-Fireline-Timestamp": str(timestamp),
        "X-Fireline-Signature": sign(secret=secret, event_id=event_id, timestamp=timestamp, body=raw),
    }


def _post(url: str, raw: bytes, headers: dict[str, str]) -> None:
    try:
        # No redirects: a webhook that moved must be updated, not followed to wherever it points.
        response = requests.post(url, data=raw, headers=headers, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransportError(f"Webhook unreachable: {type(exc).__name__}") from exc
    except requests.RequestException as exc:
        raise TransportError(f"Webhook URL unusable: {exc}", permanent=True) from exc
    _raise_for_status(response)


def _raise_for_status(response: requests.Response) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    detail = f"Webhook answered HTTP {code}: {response.text[:200]}".strip()
    if code >= 500 or code in RETRYABLE_CLIENT_ERRORS:
        raise TransportError(detail)
    raise TransportError(detail, permanent=True)


@register
class SlackChannel(_SignedWebhookChannel):
    """Slack incoming webhooks and the chat tools that copied them (Mattermost, Rocket.Chat, …)."""

    kind = ContactMethod.Kind.SLACK

    def body(self, notification: Notification) -> dict[str, object]:
        return {"text": f"*{slack_escape(notification.subject)}*\n{slack_escape(notification.body)}"}


def slack_escape(text: str) -> str:
    """Slack reads `<…>` as a link or a mention (`<!channel>` pings everyone) and `&` as an entity:
    the three are escaped, so a title an alert or a person typed arrives as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@register
class JsonWebhookChannel(_SignedWebhookChannel):
    kind = ContactMethod.Kind.WEBHOOK

    def body(self, notification: Notification) -> dict[str, object]:
        return {
            "event": notification.event,
            "id": notification.dedup_key,
            "subject": notification.subject,
            "body": notification.body,
            "payload": notification.payload,
            "created_at": notification.created_at,
        }

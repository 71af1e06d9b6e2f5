import json
import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings

from oncall import channels
from oncall.channels import TransportError, sign, verify_signature
from oncall.models import ContactMethod, Notification, TeamWebhook
from oncall.models.notifications import Event
from tests.factories import ContactMethodFactory, TeamWebhookFactory, UserFactory
from tests.oncall.webhook_receiver import Receiver

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def make_notification(**fields) -> Notification:
    defaults = {
        "dedup_key": "test:1:cm1",
        "event": Event.SHIFT_REMINDER,
        "subject": "Tomorrow you are on call",
        "body": "Primary, from Mon 09:00.",
        "payload": {"schedule": "payments"},
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    return Notification.objects.create(**(defaults | fields))


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


# --- signatures ------------------------------------------------------------------------


def signed(secret="s3cret", event_id="shift:1:email", body=b'{"a":1}', at=NOW):
    timestamp = int(at.timestamp())
    return {
        "secret": secret,
        "event_id": event_id,
        "timestamp": str(timestamp),
        "body": body,
        "signature": sign(secret=secret, event_id=event_id, timestamp=timestamp, body=body),
    }


def test_verify_accepts_the_right_signature():
    assert verify_signature(**signed(), now=NOW + timedelta(seconds=30))


def test_verify_rejects_a_wrong_secret():
    args = signed() | {"secret": "not-it"}
    assert not verify_signature(**args, now=NOW)


def test_verify_rejects_a_tampered_body():
    args = signed() | {"body": b'{"a":2}'}
    assert not verify_signature(**args, now=NOW)


def test_verify_rejects_another_event_id():
    args = signed() | {"event_id": "shift:2:email"}
    assert not verify_signature(**args, now=NOW)


def test_verify_rejects_a_stale_timestamp_even_with_a_valid_signature():
    assert not verify_signature(**signed(), now=NOW + timedelta(seconds=301))
    assert verify_signature(**signed(), now=NOW + timedelta(seconds=300))


def test_verify_rejects_a_timestamp_from_the_future_beyond_the_tolerance():
    assert not verify_signature(**signed(), now=NOW - timedelta(minutes=6))


def test_verify_rejects_a_timestamp_that_is_not_a_number():
    args = signed() | {"timestamp": "yesterday"}
    assert not verify_signature(**args, now=NOW)


def test_signature_covers_event_id_timestamp_and_raw_body_in_that_order():
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"e.1700000000.body", hashlib.sha256).hexdigest()
    assert sign(secret="k", event_id="e", timestamp=1700000000, body=b"body") == f"sha256={expected}"


# --- webhooks --------------------------------------------------------------------------


def test_json_team_webhook_posts_a_signed_body_the_receiver_can_verify(db, receiver, team_a):
    hook = TeamWebhookFactory(team=team_a, url=receiver.url, format=TeamWebhook.Format.JSON)
    notification = make_notification(webhook=hook, dedup_key="swap:7:requested:wh1")

    channels.channel_for(notification).send(notification)

    [delivery] = receiver.deliveries
    body = json.loads(delivery.body)
    assert body == {
        "event": "shift_reminder",
        "id": "swap:7:requested:wh1",
        "subject": "Tomorrow you are on call",
        "body": "Primary, from Mon 09:00.",
        "payload": {"schedule": "payments"},
        "created_at": "2027-03-01T09:00:00Z",
    }
    headers = delivery.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Fireline-Event-Id"] == "swap:7:requested:wh1"
    assert verify_signature(
        secret=hook.secret,
        event_id=headers["X-Fireline-Event-Id"],
        timestamp=headers["X-Fireline-Timestamp"],
        body=delivery.body,
        signature=headers["X-Fireline-Signature"],
        now=datetime.fromtimestamp(int(headers["X-Fireline-Timestamp"]), tz=UTC),
    )


def test_slack_webhook_sends_text_only(db, receiver, team_a):
    hook = TeamWebhookFactory(team=team_a, url=receiver.url, format=TeamWebhook.Format.SLACK)
    notification = make_notification(webhook=hook)

    channels.channel_for(notification).send(notification)

    assert json.loads(receiver.deliveries[0].body) == {"text": "*Tomorrow you are on call*\nPrimary, from Mon 09:00."}


def test_a_persons_own_webhook_is_signed_with_a_key_derived_for_that_method(db, receiver, bob):
    method = ContactMethodFactory(user=bob, kind=ContactMethod.Kind.WEBHOOK, address=receiver.url)
    notification = make_notification(recipient=bob, contact_method=method)

    channels.channel_for(notification).send(notification)

    delivery = receiver.deliveries[0]
    key = channels.contact_method_secret(method)
    assert key != channels.contact_method_secret(ContactMethodFactory(user=bob, kind="webhook"))
    assert verify_signature(
        secret=key,
        event_id=delivery.headers["X-Fireline-Event-Id"],
        timestamp=delivery.headers["X-Fireline-Timestamp"],
        body=delivery.body,
        signature=delivery.headers["X-Fireline-Signature"],
        now=datetime.fromtimestamp(int(delivery.headers["X-Fireline-Timestamp"]), tz=UTC),
    )


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(410, True), (404, True), (400, True), (401, True), (500, False), (503, False), (429, False), (408, False)],
)
def test_http_answers_map_to_permanent_or_transient_errors(db, team_a, status, permanent):
    with Receiver(status=status) as failing:
        hook = TeamWebhookFactory(team=team_a, url=failing.url)
        notification = make_notification(webhook=hook)
        with pytest.raises(TransportError) as caught:
            channels.channel_for(notification).send(notification)
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in caught.value.message


def test_a_timeout_is_transient(db, team_a, monkeypatch):
    def slow(*args, **kwargs):
        assert kwargs["timeout"] == channels.HTTP_TIMEOUT_SECONDS
        raise requests.Timeout("read timed out")

    monkeypatch.setattr(channels.requests, "post", slow)
    notification = make_notification(webhook=TeamWebhookFactory(team=team_a))
    with pytest.raises(TransportError) as caught:
        channels.channel_for(notification).send(notification)
    assert not caught.value.permanent


def test_a_refused_connection_is_transient(db, team_a):
    with Receiver() as gone:
        url = gone.url
    notification = make_notification(webhook=TeamWebhookFactory(team=team_a, url=url))
    with pytest.raises(TransportError) as caught:
        channels.channel_for(notification).send(notification)
    assert not caught.value.permanent


# --- email -----------------------------------------------------------------------------


def test_email_goes_to_the_contact_method_from_the_configured_sender(db, bob, settings):
    settings.DEFAULT_FROM_EMAIL = "Fireline <pager@fireline.test>"
    method = ContactMethodFactory(user=bob, address="bob.pager@example.com")
    notification = make_notification(recipient=bob, contact_method=method, subject="Line one\nBcc: evil@x")

    channels.channel_for(notification).send(notification)

    [message] = mail.outbox
    assert message.to == ["bob.pager@example.com"]
    assert message.from_email == "Fireline <pager@fireline.test>"
    assert message.subject == "Line one Bcc: evil@x"
    assert message.extra_headers["X-Fireline-Event-Id"] == "test:1:cm1"
    assert "Primary, from Mon 09:00." in message.body
    assert "/profile/notifications/" in message.body


def test_fallback_email_goes_to_the_account_address(db, bob):
    notification = make_notification(recipient=bob, dedup_key="x:email")
    channels.channel_for(notification).send(notification)
    assert mail.outbox[0].to == [bob.email]


def test_fallback_without_an_account_address_fails_for_good(db):
    notification = make_notification(recipient=UserFactory(username="noaddress", email=""), dedup_key="x:email")
    with pytest.raises(TransportError) as caught:
        channels.channel_for(notification).send(notification)
    assert caught.value.permanent


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"No such user")})


class DisconnectingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@override_settings(EMAIL_BACKEND="tests.oncall.test_channels.RefusingBackend")
def test_a_refused_recipient_is_permanent(db, bob):
    notification = make_notification(recipient=bob, dedup_key="x:email")
    with pytest.raises(TransportError) as caught:
        channels.channel_for(notification).send(notification)
    assert caught.value.permanent


@override_settings(EMAIL_BACKEND="tests.oncall.test_channels.DisconnectingBackend")
def test_a_dropped_smtp_connection_is_transient(db, bob):
    notification = make_notification(recipient=bob, dedup_key="x:email")
    with pytest.raises(TransportError) as caught:
        channels.channel_for(notification).send(notification)
    assert not caught.value.permanent


def test_every_contact_method_kind_has_a_channel():
    assert set(ContactMethod.Kind.values) <= set(channels._REGISTRY)

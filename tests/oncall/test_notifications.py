"""The outbox: rows written once, delivered once, retried with backoff, swept after outages."""

import smtplib
import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.checks import Error
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from config.errors import DomainError
from oncall.channels import verify_signature
from oncall.checks import check_delays_below_visibility_timeout
from oncall.models import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.notifications import Event
from oncall.services import notifications as services
from oncall.services.notifications import notify_team, notify_user
from oncall.tasks import deliver_notification, send_shift_reminders, sweep_notifications
from tests.factories import ContactMethodFactory, NotificationRuleFactory, TeamWebhookFactory, UserFactory
from tests.oncall.webhook_receiver import Receiver

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def remind(user, key="shift:1:1:1800000000:start", now=NOW, event=Event.SHIFT_REMINDER):
    return notify_user(user=user, event=event, dedup_key=key, subject="On call", body="You are on call.", now=now)


@pytest.fixture
def enqueued(monkeypatch):
    """Records what would go to the broker instead of sending it."""
    sent: list[int] = []

    def record(name, args=(), **kwargs):
        assert name == "oncall.tasks.deliver_notification"
        sent.append(args[0])

    monkeypatch.setattr(celery_app, "send_task", record)
    return sent


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", refuse)


@pytest.fixture
def eager():
    """Delivers inline on commit, as CELERY_TASK_ALWAYS_EAGER does while debugging."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def webhook_method(user, url, **kwargs):
    return ContactMethodFactory(user=user, kind=ContactMethod.Kind.WEBHOOK, address=url, **kwargs)


# --- writing ---------------------------------------------------------------------------


def test_notify_user_twice_writes_one_row(bob, django_capture_on_commit_callbacks, enqueued):
    with django_capture_on_commit_callbacks(execute=True):
        first = remind(bob)
    with django_capture_on_commit_callbacks(execute=True):
        second = remind(bob)
    assert len(first) == 1
    assert second == []
    assert Notification.objects.count() == 1
    assert enqueued == [first[0].pk]


def test_without_a_rule_the_account_email_is_used(bob):
    [row] = remind(bob)
    assert row.contact_method is None
    assert row.recipient == bob
    assert row.dedup_key.endswith(":email")
    assert (row.status, row.attempts, row.next_attempt_at, row.created_at) == ("pending", 0, NOW, NOW)


def test_without_a_rule_or_an_account_email_nothing_is_written(db):
    assert remind(UserFactory(username="ghost", email="")) == []
    assert not Notification.objects.exists()


def test_rules_route_each_event_to_the_chosen_methods(bob):
    work = ContactMethodFactory(user=bob, address="bob.work@example.com")
    chat = webhook_method(bob, "https://chat.example.com/bob")
    NotificationRuleFactory(contact_method=work, event=Event.SHIFT_REMINDER)
    NotificationRuleFactory(contact_method=chat, event=Event.SHIFT_REMINDER)
    NotificationRuleFactory(contact_method=chat, event=Event.SWAP_TAKEN)

    reminders = remind(bob)
    taken = remind(bob, key="swap:1:taken", event=Event.SWAP_TAKEN)
    requested = remind(bob, key="swap:1:requested", event=Event.SWAP_REQUESTED)

    assert {r.contact_method for r in reminders} == {work, chat}
    assert [r.contact_method for r in taken] == [chat]
    assert [r.contact_method for r in requested] == [None]
    assert f"shift:1:1:1800000000:start:cm{work.pk}" in {r.dedup_key for r in reminders}


def test_disabled_methods_are_skipped(bob):
    dead = ContactMethodFactory(user=bob, disabled_at=NOW, disabled_reason="HTTP 410")
    alive = ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=dead)
    NotificationRuleFactory(contact_method=alive)
    assert [r.contact_method for r in remind(bob)] == [alive]


def test_when_every_routed_method_is_disabled_the_account_email_still_hears(bob):
    NotificationRuleFactory(contact_method=ContactMethodFactory(user=bob, disabled_at=NOW))
    [row] = remind(bob)
    assert row.contact_method is None


def test_an_unknown_event_is_a_programming_error(bob):
    with pytest.raises(ValueError, match="Unknown notification event"):
        remind(bob, event="coffee_break")


def test_notify_team_writes_one_row_per_active_webhook_that_wants_the_event(team_a):
    everything = TeamWebhookFactory(team=team_a, events=[])
    swaps_only = TeamWebhookFactory(team=team_a, events=[Event.SWAP_TAKEN])
    TeamWebhookFactory(team=team_a, disabled_at=NOW)
    TeamWebhookFactory()  # another team's

    rows = notify_team(team=team_a, event=Event.SWAP_TAKEN, dedup_key="swap:1", subject="s", body="b", now=NOW)
    again = notify_team(team=team_a, event=Event.SWAP_TAKEN, dedup_key="swap:1", subject="s", body="b", now=NOW)
    reminder = notify_team(team=team_a, event=Event.SHIFT_REMINDER, dedup_key="r:1", subject="s", body="b", now=NOW)

    assert {r.webhook for r in rows} == {everything, swaps_only}
    assert again == []
    assert [r.webhook for r in reminder] == [everything]
    assert all(r.recipient is None for r in rows)


# --- delivering ------------------------------------------------------------------------


def test_delivery_task_run_twice_sends_once(bob, django_capture_on_commit_callbacks, eager):
    with django_capture_on_commit_callbacks(execute=True):
        [row] = remind(bob, now=timezone.now())

    assert deliver_notification(row.pk) == "skipped"
    assert deliver_notification(row.pk) == "skipped"

    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.sent_at is not None


def test_deliver_sends_and_records_the_instant(bob):
    [row] = remind(bob)
    assert services.notification_deliver(notification_id=row.pk, now=NOW + MINUTE) == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.claimed_at, row.last_error) == (
        "sent",
        1,
        NOW + MINUTE,
        NOW + MINUTE,
        "",
    )
    assert mail.outbox[0].to == [bob.email]


def test_a_row_not_yet_due_is_not_sent(bob):
    [row] = remind(bob)
    assert services.notification_deliver(notification_id=row.pk, now=NOW - MINUTE) == "skipped"
    assert mail.outbox == []


def test_a_missing_row_is_skipped(db):
    assert services.notification_deliver(notification_id=987654, now=NOW) == "skipped"


def test_a_transient_failure_goes_back_to_pending_with_backoff(bob):
    with Receiver(status=503) as failing:
        NotificationRuleFactory(contact_method=webhook_method(bob, failing.url))
        [row] = remind(bob)

        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "retry"
        row.refresh_from_db()
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + MINUTE)
        assert "HTTP 503" in row.last_error

        # Not due yet: a duplicate message changes nothing.
        assert services.notification_deliver(notification_id=row.pk, now=NOW + 30 * timedelta(seconds=1)) == "skipped"

        assert services.notification_deliver(notification_id=row.pk, now=NOW + MINUTE) == "retry"
        row.refresh_from_db()
        assert (row.attempts, row.next_attempt_at) == (2, NOW + MINUTE + 2 * MINUTE)
    assert len(failing.deliveries) == 2


def test_retry_delays_double_up_to_the_cap():
    delays = [services.retry_delay(n) for n in range(1, services.MAX_ATTEMPTS + 1)]
    assert delays[:5] == [MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE, 16 * MINUTE]
    assert max(delays) == services.BACKOFF_CAP == 30 * MINUTE


def test_after_the_last_attempt_the_row_fails(bob):
    method = webhook_method(bob, "https://chat.example.com/bob")
    NotificationRuleFactory(contact_method=method)
    [row] = remind(bob)
    Notification.objects.filter(pk=row.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    with Receiver(status=500) as failing:
        ContactMethod.objects.filter(pk=method.pk).update(address=failing.url)
        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert row.last_error.startswith("Gave up")
    method.refresh_from_db()
    assert method.is_active, "a flaky endpoint is not disabled, only a dead one"


def test_a_410_disables_the_method_and_tells_the_owner_elsewhere(bob):
    with Receiver(status=410) as gone:
        method = webhook_method(bob, gone.url)
        NotificationRuleFactory(contact_method=method, event=Event.SHIFT_REMINDER)
        NotificationRuleFactory(contact_method=method, event=Event.CONTACT_DISABLED)
        [row, later] = [remind(bob)[0], remind(bob, key="another")[0]]

        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "failed"

    method.refresh_from_db()
    assert method.disabled_at == NOW
    assert "HTTP 410" in method.disabled_reason
    row.refresh_from_db()
    assert row.status == "failed"
    [told] = Notification.objects.filter(event=Event.CONTACT_DISABLED)
    assert told.recipient == bob
    assert told.contact_method is None, "the disabled method must not carry its own obituary"
    assert "HTTP 410" in told.body
    # The news reaches bob by his account email; the other queued row is not sent to the dead URL.
    assert services.notification_deliver(notification_id=told.pk, now=NOW) == "sent"
    assert mail.outbox[0].to == [bob.email]
    assert services.notification_deliver(notification_id=later.pk, now=NOW) == "cancelled"
    assert len(gone.deliveries) == 1


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"5.1.1 No such user")})


def test_a_bounced_address_disables_the_email_method(bob):
    method = ContactMethodFactory(user=bob, address="bob.old@example.com")
    NotificationRuleFactory(contact_method=method)
    [row] = remind(bob)
    with override_settings(EMAIL_BACKEND="tests.oncall.test_notifications.RefusingBackend"):
        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "failed"
    method.refresh_from_db()
    assert not method.is_active
    assert "refused" in method.disabled_reason
    assert Notification.objects.filter(event=Event.CONTACT_DISABLED, recipient=bob, contact_method=None).exists()


def test_a_dead_team_webhook_is_disabled_and_its_managers_are_told(alice, bob, team_a):
    with Receiver(status=404) as gone:
        hook = TeamWebhookFactory(team=team_a, url=gone.url)
        [row] = notify_team(team=team_a, event=Event.SWAP_TAKEN, dedup_key="swap:1", subject="s", body="b", now=NOW)
        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "failed"
        assert services.notification_deliver(notification_id=row.pk, now=NOW) == "skipped"
    hook.refresh_from_db()
    assert not hook.is_active
    told = Notification.objects.filter(event=Event.CONTACT_DISABLED)
    assert [n.recipient for n in told] == [alice]
    assert hook.name in told[0].subject


def test_a_crashing_channel_is_retried_not_stranded(bob, monkeypatch):
    from oncall import channels

    def crash(self, notification):
        raise KeyError("bug")

    monkeypatch.setattr(channels.EmailChannel, "send", crash)
    [row] = remind(bob)
    assert services.notification_deliver(notification_id=row.pk, now=NOW) == "retry"
    row.refresh_from_db()
    assert row.status == "pending"
    assert "KeyError" in row.last_error


# --- the sweep -------------------------------------------------------------------------


def test_the_sweep_re_enqueues_due_pending_rows_only(bob, enqueued):
    [due] = remind(bob, key="a")
    [later] = remind(bob, key="b", now=NOW + 5 * MINUTE)
    [sent] = remind(bob, key="c")
    services.notification_deliver(notification_id=sent.pk, now=NOW)

    assert services.run_notification_sweep(now=NOW + MINUTE) == 1
    assert enqueued == [due.pk]
    assert services.run_notification_sweep(now=NOW + 5 * MINUTE) == 2
    assert enqueued[1:] == [due.pk, later.pk]


def test_the_sweep_resets_rows_whose_worker_died_while_sending(bob, enqueued):
    [stale, fresh, exhausted] = [remind(bob, key=k)[0] for k in ("stale", "fresh", "exhausted")]
    Notification.objects.filter(pk=stale.pk).update(status="sending", claimed_at=NOW, attempts=1)
    Notification.objects.filter(pk=fresh.pk).update(status="sending", claimed_at=NOW + 5 * MINUTE, attempts=1)
    Notification.objects.filter(pk=exhausted.pk).update(
        status="sending", claimed_at=NOW, attempts=services.MAX_ATTEMPTS
    )

    later = NOW + services.STALE_SENDING + MINUTE
    assert services.run_notification_sweep(now=later) == 1

    assert enqueued == [stale.pk]
    stale.refresh_from_db()
    assert (stale.status, stale.next_attempt_at) == ("pending", later)
    assert "worker stopped" in stale.last_error
    assert Notification.objects.get(pk=fresh.pk).status == "sending"
    assert Notification.objects.get(pk=exhausted.pk).status == "failed"
    assert services.notification_deliver(notification_id=stale.pk, now=later) == "sent"
    assert Notification.objects.get(pk=stale.pk).attempts == 2


def test_the_sweep_works_in_bounded_batches_oldest_first(bob, enqueued):
    rows = [remind(bob, key=f"k{i}", now=NOW + i * MINUTE)[0] for i in range(5)]
    assert services.run_notification_sweep(now=NOW + 10 * MINUTE, batch=2) == 2
    assert enqueued == [rows[0].pk, rows[1].pk]


def test_the_sweep_query_count_does_not_grow_with_due_rows(bob, enqueued, django_assert_max_num_queries):
    for i in range(30):
        remind(bob, key=f"k{i}")
    with django_assert_max_num_queries(4):
        assert services.run_notification_sweep(now=NOW + MINUTE) == 30


def test_a_broker_outage_never_breaks_the_caller(bob, django_capture_on_commit_callbacks, broker_down):
    with django_capture_on_commit_callbacks(execute=True):
        [row] = remind(bob)
    assert Notification.objects.get(pk=row.pk).status == "pending"
    assert services.run_notification_sweep(now=NOW + MINUTE) == 0


def test_sweep_task_twice_delivers_once(bob, eager):
    [row] = remind(bob, now=timezone.now() - MINUTE)
    assert sweep_notifications() == "enqueued 1"
    assert sweep_notifications() == "enqueued 0"
    assert len(mail.outbox) == 1
    assert Notification.objects.get(pk=row.pk).status == "sent"


def test_shift_reminder_task_calls_the_reminder_sweep(db, monkeypatch):
    calls, written = [], iter([3, 0])
    monkeypatch.setattr(
        "oncall.services.reminders.run_shift_reminders", lambda *, now: calls.append(now) or next(written)
    )
    assert send_shift_reminders() == "wrote 3"
    assert send_shift_reminders() == "wrote 0"
    assert all(c.tzinfo is not None for c in calls)


def test_retry_now_makes_failed_rows_due_and_enqueues_them(bob, django_capture_on_commit_callbacks, enqueued):
    [failed, sent] = [remind(bob, key=k)[0] for k in ("f", "s")]
    Notification.objects.filter(pk=failed.pk).update(status="failed", next_attempt_at=NOW - MINUTE)
    Notification.objects.filter(pk=sent.pk).update(status="sent")
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.notification_retry(notifications=Notification.objects.all(), now=NOW + MINUTE)
    assert changed == 1
    assert enqueued == [failed.pk]
    failed.refresh_from_db()
    assert (failed.status, failed.next_attempt_at) == ("pending", NOW + MINUTE)


# --- contact methods, rules and webhooks: bad input changes nothing -------------------


@pytest.mark.parametrize(
    ("kind", "address", "field", "message"),
    [
        ("email", "not-an-address", "address", "valid email"),
        ("email", "", "address", "Give an address"),
        ("slack", "http://hooks.slack.com/services/T/B/X", "address", "https://"),
        ("webhook", "ftp://example.com/hook", "address", "full URL"),
        ("webhook", "hooks.example.com", "address", "full URL"),
        ("sms", "+4912345", "kind", "Unknown kind"),
    ],
)
def test_contact_method_create_refuses_bad_input(bob, kind, address, field, message):
    with pytest.raises(DomainError) as caught:
        services.contact_method_create(user=bob, kind=kind, address=address)
    assert caught.value.field == field
    assert message in caught.value.message
    assert not ContactMethod.objects.exists()


def test_plain_http_to_this_machine_is_allowed_only_while_developing(bob, settings):
    settings.DEBUG = False
    with pytest.raises(DomainError):
        services.contact_method_create(user=bob, kind="webhook", address="http://127.0.0.1:9000/hook")
    settings.DEBUG = True
    method = services.contact_method_create(user=bob, kind="webhook", address="http://127.0.0.1:9000/hook")
    assert method.is_active


def test_the_same_method_twice_is_refused(bob):
    services.contact_method_create(user=bob, kind="email", address="bob.pager@example.com")
    with pytest.raises(DomainError, match="already have"):
        services.contact_method_create(user=bob, kind="email", address=" bob.pager@example.com ")
    assert ContactMethod.objects.count() == 1


def test_a_new_address_re_enables_a_disabled_method(bob):
    method = ContactMethodFactory(user=bob, disabled_at=NOW, disabled_reason="bounced")
    services.contact_method_update(contact_method=method, by=bob, address="bob.new@example.com")
    method.refresh_from_db()
    assert (method.address, method.is_active, method.disabled_reason) == ("bob.new@example.com", True, "")


def test_only_the_owner_changes_or_removes_a_method(alice, bob):
    method = ContactMethodFactory(user=bob)
    with pytest.raises(DomainError):
        services.contact_method_update(contact_method=method, by=alice, label="mine")
    with pytest.raises(DomainError):
        services.contact_method_delete(contact_method=method, by=alice)
    assert ContactMethod.objects.filter(pk=method.pk, label="").exists()


def test_removing_a_method_cancels_its_queued_notifications_and_keeps_history(bob):
    method = ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=method)
    [row] = remind(bob)
    services.contact_method_delete(contact_method=method, by=bob)
    row.refresh_from_db()
    assert (row.status, row.contact_method) == ("cancelled", None)
    assert services.notification_deliver(notification_id=row.pk, now=NOW) == "skipped"


def test_rule_set_replaces_the_methods_of_one_event(bob):
    a, b = ContactMethodFactory(user=bob), ContactMethodFactory(user=bob)
    services.notification_rule_set(user=bob, event=Event.SHIFT_REMINDER, contact_methods=[a, b])
    rules = services.notification_rule_set(user=bob, event=Event.SHIFT_REMINDER, contact_methods=[b])
    assert [r.contact_method for r in rules] == [b]
    assert services.notification_rule_set(user=bob, event=Event.SHIFT_REMINDER, contact_methods=[]) == []


def test_rule_set_refuses_someone_elses_or_a_disabled_method_and_writes_nothing(alice, bob):
    mine = ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=mine)
    for bad in (ContactMethodFactory(user=alice), ContactMethodFactory(user=bob, disabled_at=NOW)):
        with pytest.raises(DomainError) as caught:
            services.notification_rule_set(user=bob, event=Event.SHIFT_REMINDER, contact_methods=[bad])
        assert caught.value.field == "contact_methods"
    assert list(NotificationRule.objects.values_list("contact_method", flat=True)) == [mine.pk]
    with pytest.raises(DomainError):
        services.notification_rule_set(user=bob, event="nope", contact_methods=[mine])


def test_only_managers_create_team_webhooks(alice, bob, team_a):
    with pytest.raises(DomainError, match="Only managers"):
        services.team_webhook_create(team=team_a, by=bob, name="Chat", url="https://chat.example.com/x")
    hook = services.team_webhook_create(
        team=team_a, by=alice, name=" Chat ", url="https://chat.example.com/x", events=["swap_taken"]
    )
    assert (hook.name, hook.events, len(hook.secret) >= 40) == ("Chat", ["swap_taken"], True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"url": "http://chat.example.com/x"}, "url"),
        ({"format": "xml"}, "format"),
        ({"events": ["shift_reminder", "lunch"]}, "events"),
    ],
)
def test_team_webhook_create_refuses_bad_input(alice, team_a, fields, field):
    values = {"name": "Chat", "url": "https://chat.example.com/x", "format": "json", "events": []} | fields
    with pytest.raises(DomainError) as caught:
        services.team_webhook_create(team=team_a, by=alice, **values)
    assert caught.value.field == field
    assert not TeamWebhook.objects.exists()


def test_switching_a_webhook_back_on_clears_why_it_was_off(alice, team_a):
    hook = TeamWebhookFactory(team=team_a, disabled_at=NOW, disabled_reason="HTTP 410")
    services.team_webhook_update(webhook=hook, by=alice, is_enabled=True)
    hook.refresh_from_db()
    assert (hook.is_active, hook.disabled_reason) == (True, "")
    services.team_webhook_update(webhook=hook, by=alice, is_enabled=False, now=NOW)
    hook.refresh_from_db()
    assert (hook.disabled_at, hook.disabled_reason) == (NOW, "Switched off by Alice.")


# --- the start-up check ----------------------------------------------------------------


def test_the_check_is_quiet_when_every_delay_is_below_the_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    assert check_delays_below_visibility_timeout() == []


def test_the_check_is_quiet_for_brokers_without_a_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/tmp"}
    assert check_delays_below_visibility_timeout() == []


def test_the_check_fails_start_up_when_a_delay_reaches_the_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 900}
    [error] = check_delays_below_visibility_timeout()
    assert isinstance(error, Error)
    assert error.id == "oncall.E001"
    assert "BACKOFF_CAP" in error.msg
    with pytest.raises(CommandError, match=r"oncall\.E001"):
        call_command("check")


# --- real workers ----------------------------------------------------------------------


def wait_for_status(pk: int, status: str, timeout: float = 20.0) -> Notification:
    deadline = time.monotonic() + timeout
    row = Notification.objects.get(pk=pk)
    while row.status != status and time.monotonic() < deadline:
        time.sleep(0.1)
        row.refresh_from_db()
    return row


def worker():
    return start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_email(bob):
    with worker():
        [row] = remind(bob, now=timezone.now())
        row = wait_for_status(row.pk, "sent")
    assert row.status == "sent"
    assert [m.to for m in mail.outbox] == [[bob.email]]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_signed_webhook_to_a_local_receiver(team_a):
    with Receiver() as receiver, worker():
        hook = TeamWebhookFactory(team=team_a, url=receiver.url)
        [row] = notify_team(
            team=team_a, event=Event.SWAP_TAKEN, dedup_key="swap:9:taken", subject="s", body="b", now=timezone.now()
        )
        [delivery] = receiver.wait_for(1)
        row = wait_for_status(row.pk, "sent")
    assert row.status == "sent"
    assert delivery.headers["X-Fireline-Event-Id"] == f"swap:9:taken:wh{hook.pk}"
    assert verify_signature(
        secret=hook.secret,
        event_id=delivery.headers["X-Fireline-Event-Id"],
        timestamp=delivery.headers["X-Fireline-Timestamp"],
        body=delivery.body,
        signature=delivery.headers["X-Fireline-Signature"],
        now=timezone.now(),
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_notification_written_while_the_broker_is_down_is_delivered_by_the_sweep(bob, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(celery_app, "send_task", refuse)
    [row] = remind(bob, now=timezone.now())  # commits; the on-commit enqueue fails quietly
    assert Notification.objects.get(pk=row.pk).status == "pending"

    monkeypatch.undo()  # the broker is back
    with worker():
        sweep_notifications.delay()
        row = wait_for_status(row.pk, "sent")
    assert row.status == "sent"
    assert len(mail.outbox) == 1

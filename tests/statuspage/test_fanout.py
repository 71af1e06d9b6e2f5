"""Subscribers' mail for a notice update is written by a worker after commit, in batches, once."""

from __future__ import annotations

import datetime as dt

import pytest

from config.celery import app as celery_app
from oncall.models import Notification
from statuspage import services
from statuspage.models import NoticeUpdate, Subscriber
from statuspage.tasks import notify_subscribers
from tests.statuspage.conftest import T0

pytestmark = pytest.mark.django_db
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def subscribers(page):
    return [
        Subscriber.objects.create(page=page, email=f"reader{n}@example.com", created_at=T0, confirmed_at=T0)
        for n in range(5)
    ]


@pytest.fixture
def sent(monkeypatch):
    tasks: list[tuple[str, tuple]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=(), **kw: tasks.append((name, tuple(args))))
    return tasks


def _open(page, components, bob):
    return services.notice_create(
        page=page, title="Card payments failing", impact="major", status="investigating",
        body="We are looking into failed payments.", by=bob,
        statuses={components["checkout"]: "partial_outage"}, now=T0 + 5 * MIN,
    )  # fmt: skip


def _mail():
    return Notification.objects.filter(dedup_key__startswith="status:update:")


def test_the_request_writes_no_subscriber_mail_and_hands_the_update_to_the_worker(
    page, components, bob, subscribers, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = _open(page, components, bob)

    update = notice.updates.get()
    assert not _mail().exists()
    assert (services.NOTIFY_TASK, (update.pk,)) in sent
    assert update.subscribers_notified_at is None


def test_the_worker_writes_one_mail_per_subscriber_once_however_often_it_runs(page, components, bob, subscribers):
    update = _open(page, components, bob).updates.get()

    assert services.subscribers_notify(update_id=update.pk, now=T0 + 6 * MIN) == 5
    assert services.subscribers_notify(update_id=update.pk, now=T0 + 7 * MIN) == 0

    assert sorted(_mail().values_list("email_address", flat=True)) == [s.email for s in subscribers]
    assert NoticeUpdate.objects.get(pk=update.pk).subscribers_notified_at == T0 + 6 * MIN


def test_a_fan_out_cut_off_halfway_is_finished_by_the_next_run_without_repeats(
    page, components, bob, subscribers, monkeypatch
):
    update = _open(page, components, bob).updates.get()
    monkeypatch.setattr(services, "FANOUT_BATCH", 2)
    real = services.notify_addresses
    calls = []

    def dies_on_the_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(services, "notify_addresses", dies_on_the_second_batch)
    with pytest.raises(ConnectionError):
        services.subscribers_notify(update_id=update.pk, now=T0 + 6 * MIN)
    assert _mail().count() == 2
    assert NoticeUpdate.objects.get(pk=update.pk).subscribers_notified_at is None

    monkeypatch.setattr(services, "notify_addresses", real)
    assert services.run_subscriber_updates(now=T0 + 10 * MIN) == 1

    assert sorted(_mail().values_list("email_address", flat=True)) == [s.email for s in subscribers]


def test_with_the_broker_down_the_sweep_tells_subscribers_a_minute_later(
    page, components, bob, subscribers, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _open(page, components, bob)
    assert "the sweep tells the subscribers" in caplog.text

    assert services.run_subscriber_updates(now=T0 + 5 * MIN + 30 * dt.timedelta(seconds=1)) == 0
    assert services.run_subscriber_updates(now=T0 + 6 * MIN) == 1
    assert _mail().count() == 5


def test_the_task_tells_subscribers_and_says_how_many(page, components, bob, subscribers):
    update = _open(page, components, bob).updates.get()

    assert notify_subscribers(update.pk) == "wrote 5"
    assert notify_subscribers(update.pk) == "wrote 0"

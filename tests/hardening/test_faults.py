"""Faults, for real: the broker down or hung, a worker killed mid-send, three beats at once, the
database connection cut mid-request, and the app and its database stopped behind nginx.

Each test breaks something the way production breaks it and checks the promises of the design:
nothing lost, nothing done twice (or, where no system can promise that, a repeat the receiver can
recognise), no half-written incident, and a clean answer to the person asking.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.db import close_old_connections, connection
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.status_page import procfile_web_argv
from config.celery import app as celery_app
from config.views import BEAT_HEARTBEAT_KEY
from incidents import services as incidents
from incidents.models import Incident, IncidentCounter, RoleAssignment, TimelineEntry
from oncall.models import EscalationPolicy, Notification, PageEvent
from oncall.models.notifications import Event
from oncall.services import notifications, paging
from oncall.tasks import beat_heartbeat
from postmortems import services as postmortems
from postmortems.models import ActionItem, Postmortem
from statuspage import publishing, snapshots, watch
from statuspage import services as statuspage
from statuspage.models import Component, Notice, NoticeGuardFlag, NoticeUpdate, StatusPage, Subscriber
from tests.conftest import IN_CI
from tests.factories import TeamWebhookFactory
from tests.hardening.blocking_mail import mail_log
from tests.hardening.processes import (
    ROOT,
    Process,
    SilentServer,
    TcpForwarder,
    celery_worker,
    database_url,
    free_port,
    process_env,
    wait_until,
)
from tests.oncall.paging_fixtures import add_step, make_alert
from tests.oncall.webhook_receiver import Receiver

# Nothing listens on port 1: connecting is refused at once.
DEAD_BROKER = "redis://127.0.0.1:1/0"
MINUTE = dt.timedelta(minutes=1)


def _reset_broker_connections() -> None:
    # What Celery does after a fork: the next publish opens a connection to the broker URL of now.
    celery_app._pool = None
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(monkeypatch):
    """Moves this process's publishing between a dead broker and the real one, by CELERY_BROKER_URL."""
    real = os.environ.get("CELERY_BROKER_URL")

    class Switch:
        def down(self, url: str = DEAD_BROKER) -> None:
            monkeypatch.setenv("CELERY_BROKER_URL", url)
            _reset_broker_connections()

        def up(self) -> None:
            if real is None:
                monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
            else:
                monkeypatch.setenv("CELERY_BROKER_URL", real)
            _reset_broker_connections()

    yield Switch()
    _reset_broker_connections()


@pytest.fixture
def _fresh_snapshots():
    """Published status pages live in a cache the whole run shares; start and end without any."""
    caches[snapshots.CACHE_ALIAS].clear()
    snapshots._local.clear()
    yield
    caches[snapshots.CACHE_ALIAS].clear()
    snapshots._local.clear()


def in_process_worker():
    return start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING")


def drain_queue() -> None:
    """Returns once the in-process worker (solo pool, one at a time) ran everything queued before now."""
    marker = caches["default"].get(BEAT_HEARTBEAT_KEY)
    beat_heartbeat.delay()
    assert wait_until(lambda: caches["default"].get(BEAT_HEARTBEAT_KEY) != marker, timeout=20)


# --- 1. the broker is down while an incident is declared -----------------------------------------


def declare_form(team) -> dict[str, object]:
    return {"team": team.pk, "title": "Checkout returns 500s", "severity": "1", "detection_source": "monitoring"}


def declare(client: Client, team, via: str):
    if via == "form":
        return client.post(reverse("incidents:declare"), declare_form(team))
    body = {"team": team.slug, "title": "Checkout returns 500s", "severity": 1}
    return client.post("/api/v1/incidents/", body, content_type="application/json")


@pytest.mark.postgres(reason="the outbox read by a real worker in another thread")
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("via", "answer"), [("form", 302), ("api", 201)])
def test_an_incident_declared_while_the_broker_is_down_is_announced_once_it_is_back(via, answer, broker, team_a, alice):
    with Receiver() as receiver:
        hooks = [
            TeamWebhookFactory(team=team_a, name="Incidents channel", url=receiver.url),
            TeamWebhookFactory(team=team_a, name="Status bot", url=f"{receiver.url}?bot", format="slack"),
        ]
        client = Client()
        client.force_login(alice)

        broker.down()
        response = declare(client, team_a, via)
        assert response.status_code == answer, response.content[:500]
        incident = Incident.objects.get()
        rows = Notification.objects.filter(dedup_key__startswith=f"incident:{incident.number}:declared")
        assert sorted(rows.values_list("webhook_id", "status", "attempts")) == sorted(
            (hook.pk, "pending", 0) for hook in hooks
        )
        assert receiver.deliveries == []

        broker.up()
        # Two beats' worth of sweeps before a worker is up: each row is on the queue twice.
        assert notifications.run_notification_sweep() == 2
        assert notifications.run_notification_sweep() == 2
        with in_process_worker():
            assert wait_until(lambda: rows.filter(status="sent").count() == 2, timeout=20)
            drain_queue()  # the second copies ran too, and sent nothing
        assert notifications.run_notification_sweep() == 0

    assert sorted(rows.values_list("status", "attempts")) == [("sent", 1), ("sent", 1)]
    event_ids = sorted(d.headers["X-Fireline-Event-Id"] for d in receiver.deliveries)
    assert event_ids == sorted(f"incident:{incident.number}:declared:wh{hook.pk}" for hook in hooks)


@pytest.mark.postgres(reason="the declare request commits before the broker is asked")
@pytest.mark.django_db(transaction=True)
def test_a_hung_broker_costs_one_wait_per_request_and_loses_nothing(broker, team_a, alice, caplog):
    """A broker that accepts connections and never answers (a failover, a dropped route).

    Without a socket timeout the publish after commit waited forever, and the declare request
    with it; with one, every notification of the request still waited in turn.
    """
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options.get("socket_timeout") and options.get("socket_connect_timeout"), options
    for n in range(3):
        TeamWebhookFactory(team=team_a, name=f"Hook {n}", url=f"https://hooks.example.com/{n}")
    client = Client()
    client.force_login(alice)
    # The production timeouts, shortened so the test waits a second rather than several.
    short = {**options, "socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    finished = threading.Event()
    answers: list[int] = []

    def post() -> None:
        try:
            answers.append(declare(client, team_a, "form").status_code)
        finally:
            finished.set()
            connection.close()

    with SilentServer() as hung, _transport_options(short):
        broker.down(f"redis://127.0.0.1:{hung.port}/0")
        with caplog.at_level(logging.WARNING, logger="oncall.services.notifications"):
            request = threading.Thread(target=post, daemon=True)
            request.start()
            # Not a timing assertion: a request that never returns is the failure looked for.
            assert finished.wait(timeout=60), "the declare request hangs on the broker"
    assert answers == [302]
    assert Notification.objects.filter(status="pending").count() == 3
    skipped = [r.getMessage() for r in caplog.records if "not enqueued" in r.getMessage()]
    ids = ", ".join(str(pk) for pk in Notification.objects.order_by("pk").values_list("pk", flat=True))
    assert skipped == [f"Notifications {ids} not enqueued (Timeout reading from socket); the sweep will pick them up."]


@pytest.mark.postgres(reason="Redis as the broker, as in production")
@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_when_the_broker_hangs(broker):
    """Before the broker had a socket timeout, each health check held a web thread forever."""
    answers: list[dict] = []

    def check() -> None:
        try:
            response = Client().get("/healthz")
            answers.append({**response.json(), "http": response.status_code})
        finally:
            connection.close()

    with SilentServer() as hung:
        broker.down(f"redis://127.0.0.1:{hung.port}/0")
        request = threading.Thread(target=check, daemon=True)
        request.start()
        request.join(timeout=60)  # not a timing assertion: a check that never returns is the failure
        assert not request.is_alive(), "/healthz hangs on the broker"
    [answer] = answers
    assert (answer["http"], answer["broker"]["ok"], answer["database"]["ok"]) == (503, False, True)
    assert "Timeout" in answer["broker"]["error"]


@contextmanager
def _transport_options(options: dict) -> Iterator[None]:
    saved = celery_app.conf.broker_transport_options
    celery_app.conf.broker_transport_options = options
    try:
        yield
    finally:
        celery_app.conf.broker_transport_options = saved


# --- 2. a worker killed with SIGKILL mid-delivery -------------------------------------------------


@pytest.fixture
def mail_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fireline-faults-mail-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def worker_env(mail_dir: Path, hold: str = "") -> dict[str, str]:
    return process_env(
        DJANGO_SETTINGS_MODULE="tests.hardening.worker_settings",
        DATABASE_URL=database_url(connection.settings_dict),
        FAULTS_MAIL_DIR=str(mail_dir),
        FAULTS_MAIL_HOLD=hold,
    )


def start_subprocess_worker(stack: ExitStack, mail_dir: Path, name: str, hold: str = "") -> Process:
    queue = celery_app.conf.task_default_queue
    log = mail_dir / f"{name}.log"
    worker = stack.enter_context(celery_worker(queue=queue, env=worker_env(mail_dir, hold), log=log, name=name))
    worker.wait_for_output(r"\bready\.")
    return worker


def lines(mail_dir: Path, what: str) -> list[dict]:
    return [line for line in mail_log(mail_dir) if line["what"] == what]


def rewind_claim(row: Notification) -> None:
    """The claim is STALE_SENDING (and a minute) old, as if ten minutes had passed since the kill."""
    Notification.objects.filter(pk=row.pk).update(claimed_at=F("claimed_at") - notifications.STALE_SENDING - MINUTE)


def remind(user, key: str) -> Notification:
    [row] = notifications.notify_user(
        user=user, event=Event.SHIFT_REMINDER, dedup_key=key, subject="You are on call tonight", body="From 22:00."
    )
    return row


@pytest.mark.postgres(reason="a worker process shares the test database")
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_before_the_mail_left_sends_it_exactly_once(bob, mail_dir):
    """SIGKILL of the prefork child while it talks to the mail server: nothing left yet.

    Celery gives the message back (acks_late, reject_on_worker_lost) and a new child takes it at
    once: the claim refuses it, because the row is still SENDING. After STALE_SENDING the sweep
    frees the row and it goes out, once.
    """
    with ExitStack() as stack:
        worker = start_subprocess_worker(stack, mail_dir, f"faults-{uuid.uuid4().hex[:6]}", hold="before")
        row = remind(bob, key="faults:kill-before")
        assert wait_until(lambda: lines(mail_dir, "start"), timeout=30), worker.output()[-2000:]
        assert Notification.objects.get(pk=row.pk).status == "sending"
        [started] = lines(mail_dir, "start")
        os.kill(started["pid"], signal.SIGKILL)

        # The redelivered message reaches a new child, whose claim finds the row taken.
        worker.wait_for_output(r"deliver_notification\[[^\]]+\] succeeded in [\d.]+s: 'skipped'", timeout=30)
        assert Notification.objects.get(pk=row.pk).status == "sending"
        assert notifications.run_notification_sweep() == 0  # not stale yet: the worker may still send

        rewind_claim(row)
        assert notifications.run_notification_sweep() == 1
        assert wait_until(lambda: Notification.objects.get(pk=row.pk).status == "sent", timeout=30)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert [line["to"] for line in lines(mail_dir, "delivered")] == [[bob.email]]


@pytest.mark.postgres(reason="worker processes share the test database")
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_mail_left_sends_it_again_under_the_same_ids(bob, mail_dir):
    """The window no outbox can close: the mail server took the message, the worker died before
    marking the row sent. Fireline delivers at least once; the repeat carries the same Message-ID
    and X-Fireline-Event-Id, so the receiving side can drop it.
    """
    with ExitStack() as stack:
        first = start_subprocess_worker(stack, mail_dir, f"faults-{uuid.uuid4().hex[:6]}", hold="after")
        row = remind(bob, key="faults:kill-after")
        assert wait_until(lambda: lines(mail_dir, "delivered"), timeout=30), first.output()[-2000:]
        first.kill_group(signal.SIGKILL)  # the whole worker, parent and pool, as a lost machine
        assert Notification.objects.get(pk=row.pk).status == "sending"

        start_subprocess_worker(stack, mail_dir, f"faults-{uuid.uuid4().hex[:6]}")
        rewind_claim(row)
        assert notifications.run_notification_sweep() == 1
        assert wait_until(lambda: Notification.objects.get(pk=row.pk).status == "sent", timeout=30)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    delivered = lines(mail_dir, "delivered")
    assert len(delivered) == 2
    assert {line["event_id"] for line in delivered} == {f"faults:kill-after{notifications.FALLBACK_SUFFIX}"}
    [message_id] = {line["message_id"] for line in delivered}
    assert message_id and message_id.startswith("<") and message_id.endswith(">")


# --- 3. two beats at once: every sweeper three times concurrently ---------------------------------


def run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test reports what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def due_work(team_a, alice, bob, service_a, _fresh_snapshots):
    """Something due for every sweeper at `now`: pages, a missed update, a missing notice, an overdue
    postmortem and action item, two maintenance windows, and a subscriber to tell about them."""
    now = timezone.now() - MINUTE  # in the past, so the outbox's real-clock delivery finds rows due
    start = now - dt.timedelta(days=5)

    policy = EscalationPolicy.objects.create(team=team_a, name="People")
    add_step(policy, ("user", bob), wait=5)
    add_step(policy, ("user", alice), wait=5)
    service_a.escalation_policy = policy
    service_a.save(update_fields=["escalation_policy"])
    pages = [
        paging.page_open(alert=make_alert(service_a, at=now - 6 * MINUTE, dedup_key=f"k{i}"), now=now - 6 * MINUTE)
        for i in range(3)
    ]

    burning = incidents.incident_declare(
        team=team_a, title="Checkout down", severity=1, by=alice, now=now - 30 * MINUTE
    )
    incidents.role_assign(incident=burning, role="comms_lead", user=bob, by=alice, now=now - 29 * MINUTE)

    past = incidents.incident_declare(team=team_a, title="Payouts late", severity=1, by=alice, now=start)
    incidents.incident_resolve(incident=past, by=alice, reason="Queue drained", now=start + 2 * MINUTE)
    postmortem = postmortems.postmortem_create(incident=past, now=start + 2 * MINUTE)
    # Resolved just now, and its postmortem lost between the commit and the signal's receiver.
    missed = incidents.incident_declare(team=team_a, title="Sign-in slow", severity=1, by=alice, now=now - 20 * MINUTE)
    incidents.incident_resolve(incident=missed, by=alice, reason="Cache warmed", now=now - 10 * MINUTE)
    Postmortem.objects.filter(incident=missed).delete()
    item = postmortems.action_item_create(
        postmortem=postmortem,
        by=alice,
        title="Alert when the payout queue is older than 10 minutes",
        owner=bob,
        due_date=(start + dt.timedelta(days=1)).date(),
    )

    page = StatusPage.objects.create(name="Acme", host="status.localhost", time_zone="Europe/London")
    page.teams.set([team_a])
    component = statuspage.component_create(page=page, name="Checkout", position=0, now=start)
    Subscriber.objects.create(page=page, email="customer@example.com", confirmed_at=start, created_at=start)
    starting = statuspage.maintenance_schedule(
        page=page, title="Database upgrade", body="Brief pauses.", scheduled_for=now - 5 * MINUTE,
        scheduled_until=now + dt.timedelta(hours=1), components=[component], by=alice, now=start,
    )  # fmt: skip
    ending = statuspage.maintenance_schedule(
        page=page, title="Network work", body="No impact expected.", scheduled_for=start + dt.timedelta(hours=1),
        scheduled_until=now - 10 * MINUTE, components=[component], by=alice, now=start,
    )  # fmt: skip
    assert statuspage.run_maintenance_windows(now=start + dt.timedelta(hours=2)) == 1  # `ending` is in progress
    return {
        "now": now, "pages": pages, "burning": burning, "postmortem": postmortem, "item": item, "missed": missed,
        "starting": starting, "ending": ending, "component": component,
    }  # fmt: skip


SWEEPERS: dict[str, Callable[[dt.datetime], int]] = {
    "escalations": lambda now: paging.run_escalations(now=now),
    "update reminders": lambda now: incidents.run_update_reminders(now=now),
    "customer notice guard": lambda now: watch.run_customer_notice_guard(now=now),
    "missing postmortems": lambda now: postmortems.run_missing_postmortems(now=now),
    "postmortem deadlines": lambda now: postmortems.run_postmortem_deadlines(now=now),
    "action item deadlines": lambda now: postmortems.run_action_item_deadlines(now=now),
    "maintenance windows": lambda now: statuspage.run_maintenance_windows(now=now),
    # A minute on, as the sweep takes only what the task sent on commit left behind.
    "subscriber updates": lambda now: statuspage.run_subscriber_updates(now=now + MINUTE),
}
BEATS = 3


@pytest.mark.postgres(reason="row locks and unique keys under concurrent sweeps")
@pytest.mark.django_db(transaction=True)
def test_three_beats_running_every_sweeper_at_once_do_each_thing_once(due_work, alice, bob, monkeypatch):
    now = due_work["now"]
    queued: list[int] = []
    # The broker is not the subject here: rows wait in the outbox for the last round.
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=(), **kw: queued.append(args[0]))
    postmortem_rows = Notification.objects.filter(event__in=[Event.POSTMORTEM_DUE, Event.POSTMORTEM_OVERDUE])
    item_rows = Notification.objects.filter(event__in=[Event.ACTION_ITEM_DUE, Event.ACTION_ITEM_OVERDUE])

    # Round 1: the three beats reach each job together (a barrier per job).
    barrier = threading.Barrier(BEATS)

    def beat(_: int) -> dict[str, int]:
        done = {}
        for name, sweep in SWEEPERS.items():
            barrier.wait(timeout=60)
            try:
                done[name] = sweep(now)
            except Exception:
                barrier.abort()  # the other beats stop at the next job instead of waiting
                raise
        return done

    results = run_threads(BEATS, beat)
    assert all(isinstance(r, dict) for r in results), results
    total = {name: sum(r[name] for r in results) for name in SWEEPERS}
    assert total["escalations"] == 3
    assert total["update reminders"] == 1
    assert total["customer notice guard"] == 1
    assert total["maintenance windows"] == 2
    assert total["missing postmortems"] == 1
    assert Postmortem.objects.filter(incident=due_work["missed"]).count() == 1
    # What each sweep says it sent is what exists, once per key.
    # Overdue and escalation, both to alice: she owns the postmortem and manages the team (no
    # "due soon" for a postmortem already past its due time).
    assert total["postmortem deadlines"] == postmortem_rows.count() == 2
    assert total["action item deadlines"] == item_rows.count() == 2  # overdue to bob, escalated to alice

    for page in due_work["pages"]:
        page.refresh_from_db()
        assert (page.step_index, page.round_index) == (0, 1)  # both steps ran; the repeat comes next
        assert page.events.filter(kind=PageEvent.Kind.NOTIFIED, user=alice).count() == 1
    assert Notification.objects.filter(event=Event.PAGE, recipient=alice).count() == 3
    burning = due_work["burning"]
    entries = TimelineEntry.objects.filter(incident=burning, kind=TimelineEntry.Kind.REMINDER)
    assert sorted(e.text.split()[0] for e in entries) == ["No", "Update"]
    assert NoticeGuardFlag.objects.filter(incident=burning).count() == 1
    told = Notification.objects.filter(event__in=[Event.INCIDENT_UPDATE_DUE, Event.CUSTOMER_NOTICE_MISSING])
    assert sorted(told.values_list("event", "recipient__username")) == [
        (event, person) for event in sorted([Event.INCIDENT_UPDATE_DUE, Event.CUSTOMER_NOTICE_MISSING])
        for person in ("alice", "bob")
    ]  # fmt: skip
    starting, ending = due_work["starting"], due_work["ending"]
    assert NoticeUpdate.objects.filter(notice=starting, status="in_progress").count() == 1
    assert NoticeUpdate.objects.filter(notice=ending, status="completed").count() == 1
    assert Notice.objects.get(pk=starting.pk).status == "in_progress"
    # Each update of the two windows (scheduled, started, completed) told the subscriber once.
    customer_mail = Notification.objects.filter(email_address="customer@example.com")
    assert customer_mail.count() == NoticeUpdate.objects.filter(notice__in=[starting, ending]).count() == 5
    assert not NoticeUpdate.objects.filter(subscribers_notified_at__isnull=True).exists()
    assert Component.objects.get(pk=due_work["component"].pk).status == "under_maintenance"
    assert Postmortem.objects.get(pk=due_work["postmortem"].pk).overdue_since is not None
    assert ActionItem.objects.get(pk=due_work["item"].pk).overdue_since is not None

    # Round 2: the beats again at the same minute, each running the jobs in its own order.
    names = list(SWEEPERS)
    before = Notification.objects.count(), TimelineEntry.objects.count(), NoticeUpdate.objects.count()

    def shuffled_beat(i: int) -> int:
        order = names[i:] + names[:i]
        return sum(SWEEPERS[name](now) for name in order)

    assert run_threads(BEATS, shuffled_beat) == [0] * BEATS
    assert (Notification.objects.count(), TimelineEntry.objects.count(), NoticeUpdate.objects.count()) == before

    # Round 3: three notification sweeps at once deliver every waiting row once (inline, as eager mode does).
    pending = list(Notification.objects.filter(status="pending").values_list("pk", "dedup_key"))
    assert len(pending) >= 15
    celery_app.conf.task_always_eager = True
    try:
        results = run_threads(BEATS, lambda i: notifications.run_notification_sweep())
    finally:
        celery_app.conf.task_always_eager = False
    assert all(isinstance(r, int) for r in results), results
    rows = Notification.objects.filter(pk__in=[pk for pk, _ in pending])
    assert set(rows.values_list("status", "attempts")) == {("sent", 1)}
    sent_keys = sorted(m.extra_headers["X-Fireline-Event-Id"] for m in mail.outbox)
    assert sent_keys == sorted(key for _, key in pending)


# --- 4. the database connection dies in the middle of a request -----------------------------------


def terminate_backend(pid: int) -> None:
    """Kills one PostgreSQL backend from another connection, and waits until it is gone."""
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=int(params["PORT"] or 5432),
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert wait_until(
            lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0,
            timeout=10,
        )


@contextmanager
def connection_cut_before(statement: str) -> Iterator[list[str]]:
    """Cuts this thread's database connection right before the first SQL that starts with `statement`."""
    cut: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if not cut and sql.startswith(statement):
            cut.append(sql)
            terminate_backend(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield cut


def incident_state() -> tuple[int, ...]:
    counter = IncidentCounter.objects.filter(pk=1).values_list("last_number", flat=True).first() or 0
    return (
        counter,
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        RoleAssignment.objects.count(),
        Notification.objects.count(),
    )


CUT_POINTS = {
    "incident": 'INSERT INTO "incidents_incident"',
    "commander": 'INSERT INTO "incidents_roleassignment"',
    "announcement": 'INSERT INTO "oncall_notification"',
}


@pytest.mark.postgres(reason="pg_terminate_backend cuts a real connection")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("via", "cut_at"), [("form", "incident"), ("form", "commander"), ("form", "announcement"), ("api", "announcement")]
)
def test_a_connection_cut_mid_declare_answers_503_and_leaves_nothing_behind(via, cut_at, team_a, alice, broker):
    TeamWebhookFactory(team=team_a, url="https://hooks.example.com/incidents")
    broker.down()  # what reaches the broker is not the subject; nothing must wait on it either
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    incidents.incident_declare(team=team_a, title="Earlier", severity=3, by=alice)  # the counter and policies exist
    before = incident_state()

    with connection_cut_before(CUT_POINTS[cut_at]) as cut:
        response = declare(client, team_a, via)

    assert cut, "the request never reached the statement to cut before"
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Traceback" not in body and "OperationalError" not in body and "terminating connection" not in body
    if via == "form":
        assert response["Content-Type"].startswith("text/html")
        assert "503.html" in [t.name for t in response.templates]
        assert "Fireline could not reach its database" in body
    else:
        assert response.json() == {"detail": "The database did not answer. Try again in a moment."}
    assert incident_state() == before  # not even an incident number was used up

    # The next request gets a new connection and works.
    again = declare(client, team_a, via)
    assert again.status_code in (201, 302), again.content[:500]
    assert Incident.objects.count() == before[1] + 1
    assert Incident.objects.latest("number").number == before[0] + 1


@pytest.mark.postgres(reason="pg_terminate_backend cuts a real connection")
@pytest.mark.django_db(transaction=True)
def test_the_status_host_answers_503_when_a_cold_cache_sends_it_to_the_lost_database(_fresh_snapshots):
    client = Client(raise_request_exception=False)
    with connection_cut_before("SELECT") as cut:
        response = client.get("/", HTTP_HOST=settings.STATUS_HOST)
    assert cut, "the status host never asked the database"
    # 503 is what nginx's proxy_cache_use_stale answers with the last good copy (deploy/nginx.conf).
    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert "no-store" in response["Cache-Control"]
    assert "Fireline could not reach its database" in response.content.decode()
    close_old_connections()  # what Django does between requests (the test client leaves it out)
    assert client.get("/", HTTP_HOST=settings.STATUS_HOST).status_code == 404  # reconnected: no page here


@pytest.mark.django_db
def test_any_other_crash_gets_the_project_error_page_without_a_traceback(team_a, alice, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(incidents, "incident_declare", crash)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.post(reverse("incidents:declare"), declare_form(team_a))
    assert response.status_code == 500
    assert "500.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "secret internals" not in body and "Traceback" not in body
    assert not response.has_header("Retry-After")


# --- 5. the status page with the app server and the database stopped, behind nginx ----------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_PLACEHOLDERS = ("FIRELINE_LISTEN", "FIRELINE_UPSTREAM", "FIRELINE_CACHE_DIR", "PORTAL_HOST", "STATUS_HOST")
NGINX_MAIN = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    include {work}/fireline.conf;
}}
"""


def nginx_config(work: Path, values: dict[str, str]) -> Path:
    """deploy/nginx.conf with its placeholders filled in, as the README's envsubst line does."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for name in NGINX_PLACEHOLDERS:
        text = text.replace("${" + name + "}", values[name])
    assert "${" not in text.replace("${FIRELINE_", "").replace("${PORTAL_", "").replace("${STATUS_", "")
    (work / "tmp").mkdir()
    (work / "fireline.conf").write_text(text)
    main = work / "nginx.conf"
    main.write_text(NGINX_MAIN.format(work=work))
    if os.geteuid() == 0:
        # As root, nginx's workers drop to `nobody`, who must reach the cache and temp dirs.
        for path in (work, work / "tmp"):
            path.chmod(0o777)
    return main


def fetch(port: int, path: str, host: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("GET", path, headers={"Host": host, **headers})
        response = client.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        client.close()


def answers(port: int, host: str) -> bool:
    try:
        fetch(port, "/healthz", host)
    except OSError:
        return False
    return True


@pytest.fixture
def nginx_binary() -> str:
    if not Path(NGINX).exists():
        message = "needs nginx (apt install nginx-light) to run deploy/nginx.conf in front of granian"
        if IN_CI:
            pytest.fail(f"{message}, and CI must run every test")
        pytest.skip(message)
    return NGINX


@pytest.fixture
def published_page(team_a, alice, _fresh_snapshots):
    page = StatusPage.objects.create(name="Acme", host=settings.STATUS_HOST, time_zone="Europe/London")
    page.teams.set([team_a])
    checkout = statuspage.component_create(page=page, name="Checkout", position=0)
    statuspage.notice_create(
        page=page, title="Card payments fail", impact="major", status="investigating",
        body="Some card payments fail; we are on it.", by=alice, statuses={checkout: "major_outage"},
    )  # fmt: skip
    publishing.page_publish(page_id=page.pk)
    return page


def granian(work: Path, *, port: int, database: str) -> Process:
    env = process_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="false",
        STATUS_HOST=settings.STATUS_HOST,
        ALLOWED_HOSTS=f"localhost,127.0.0.1,.{settings.STATUS_HOST}",
        DATABASE_URL=database,
        STATIC_ROOT=str(work / "static"),
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        PORT=str(port),
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The Procfile's web: line with its variables filled in, as the bench runs it.
    return Process(procfile_web_argv(env), env=env, log=work / "granian.log", label="granian")


@pytest.mark.postgres(reason="granian reads the published page from the cache the test database fills")
@pytest.mark.django_db(transaction=True)
def test_nginx_serves_the_status_page_while_the_app_and_its_database_are_down(nginx_binary, published_page):
    host = published_page.host
    work = Path(tempfile.mkdtemp(prefix="fireline-faults-nginx-"))
    params = connection.settings_dict
    app_port, nginx_port = free_port(), free_port()
    values = {
        "FIRELINE_LISTEN": f"127.0.0.1:{nginx_port}",
        "FIRELINE_UPSTREAM": f"127.0.0.1:{app_port}",
        "FIRELINE_CACHE_DIR": str(work / "cache"),
        "PORTAL_HOST": "localhost",
        "STATUS_HOST": host,
    }
    try:
        with ExitStack() as stack:
            database = stack.enter_context(TcpForwarder(params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
            app = stack.enter_context(granian(work, port=app_port, database=database_url(params, port=database.port)))
            assert wait_until(lambda: answers(app_port, "localhost") or not app.running, timeout=60), app.output()
            assert app.running, app.output()[-3000:]
            conf = nginx_config(work, values)
            argv = [nginx_binary, "-p", str(work), "-e", str(work / "nginx-error.log"), "-c", str(conf)]
            proxy = stack.enter_context(Process(argv, env=process_env(), log=work / "nginx.log", label="nginx"))
            assert wait_until(lambda: answers(nginx_port, "localhost") or not proxy.running, timeout=30)
            assert proxy.running, proxy.output() + (work / "nginx-error.log").read_text()

            browser = {"Accept-Encoding": "gzip, deflate, br", "Cookie": "sessionid=abc; csrftoken=def"}
            direct_status, _, direct = fetch(app_port, "/", host)
            status, headers, body = fetch(nginx_port, "/", host, **{"Accept-Encoding": "identity"})
            assert (direct_status, status) == (200, 200)
            assert body == direct and b"Card payments fail" in body
            assert headers["x-cache-status"] == "MISS"
            status, headers, zipped = fetch(nginx_port, "/", host, **browser)
            assert (status, headers.get("content-encoding")) == (200, "gzip")
            cache_control = headers["cache-control"]
            for directive in ("public", "max-age=", "stale-while-revalidate=", "stale-if-error="):
                assert directive in cache_control, cache_control
            assert "set-cookie" not in headers
            # The portal goes through nginx too, uncached, with its health check green.
            assert fetch(nginx_port, "/healthz", "localhost")[0] == 200

            # The database goes away: the app still answers the status page from its snapshot.
            database.close()
            assert fetch(app_port, "/healthz", "localhost")[0] == 503
            assert fetch(app_port, "/", host)[2] == direct

            # Then the app server stops too: nginx answers from its copy, past max-age.
            app.stop()
            assert not answers(app_port, "localhost")
            seen: list[tuple[int, dict[str, str], bytes]] = []
            assert wait_until(
                lambda: (
                    seen.append(fetch(nginx_port, "/", host, **{"Accept-Encoding": "identity"}))
                    or seen[-1][1].get("x-cache-status") in ("STALE", "UPDATING")
                ),
                timeout=40,
                interval=0.5,
            ), seen[-1][1]
            status, headers, body = seen[-1]
            assert status == 200 and body == direct
            assert "set-cookie" not in headers
            status, headers, body = fetch(nginx_port, "/", host, **browser)
            assert status == 200 and headers.get("content-encoding") == "gzip" and body == zipped
            # A page nginx never cached shows that nobody is behind it.
            assert fetch(nginx_port, "/history/1999-01", host)[0] == 502
    finally:
        shutil.rmtree(work, ignore_errors=True)

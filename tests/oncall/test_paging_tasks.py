"""Paging under real conditions: beat tasks run twice, simultaneous acknowledgements, a real worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import close_old_connections
from django.utils import timezone

from config.celery import app as celery_app
from config.errors import ConflictError
from oncall.models import EscalationPolicy, Notification, Page, PageEvent
from oncall.models.notifications import Event
from oncall.services import paging
from oncall.tasks import audit_escalations, escalate_pages
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.paging_fixtures import T0, add_step, make_alert, minutes, payments_schedule, three_step_policy


@pytest.fixture
def policy(team_a, alice, bob, service_a):
    policy = three_step_policy(team_a, payments_schedule(team_a, bob, alice))
    service_a.escalation_policy = policy
    service_a.save()
    return policy


@pytest.mark.django_db
def test_the_escalation_task_run_twice_pages_once(policy, service_a, alice):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    with time_machine.travel(T0 + minutes(5), tick=False):
        assert escalate_pages() == "advanced 1"
        assert escalate_pages() == "advanced 0"
    assert Notification.objects.filter(event=Event.PAGE, recipient=alice).count() == 1
    assert page.events.filter(kind=PageEvent.Kind.NOTIFIED).count() == 2


@pytest.mark.django_db
def test_the_audit_task_run_twice_flags_once(policy, service_a):
    UserFactory(username="root", is_superuser=True)
    paging.page_open(alert=make_alert(service_a), now=T0)
    with time_machine.travel(T0 + minutes(10), tick=False):
        assert audit_escalations() == "flagged 1"
        assert audit_escalations() == "flagged 0"
    assert Notification.objects.filter(event=Event.PAGE_STALLED).count() == 1


def run_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """Runs work(i) in `count` threads released together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_acknowledgements_record_one(policy, team_a, service_a):
    people = [UserFactory(username=f"responder{i}") for i in range(20)]
    for person in people:
        MembershipFactory(user=person, team=team_a)
    page = paging.page_open(alert=make_alert(service_a), now=T0)

    results = run_at_once(20, lambda i: paging.page_acknowledge(page=page, by=people[i], now=T0 + minutes(1)))

    winners = [r for r in results if isinstance(r, Page)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert (len(winners), len(losers)) == (1, 19), results
    page.refresh_from_db()
    assert page.status == Page.Status.ACKNOWLEDGED and page.acknowledged_by == winners[0].acknowledged_by
    assert page.events.filter(kind=PageEvent.Kind.ACKNOWLEDGED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweepers_running_at_once_page_each_person_once(policy, service_a):
    pages = [
        paging.page_open(alert=make_alert(service_a, dedup_key=f"k{i}"), now=T0) for i in range(10)
    ]  # fmt: skip

    results = run_at_once(4, lambda i: paging.run_escalations(now=T0 + minutes(5)))

    assert sum(r for r in results if isinstance(r, int)) == 10, results
    for page in pages:
        assert page.events.filter(kind=PageEvent.Kind.NOTIFIED).count() == 2
    assert Notification.objects.filter(event=Event.PAGE).count() == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_acknowledging_while_the_sweeper_runs_never_pages_after_the_acknowledgement(policy, service_a, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)

    def work(i: int) -> object:
        if i == 0:
            return paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(5))
        return paging.run_escalations(now=T0 + minutes(5))

    run_at_once(2, work)
    page.refresh_from_db()
    events = list(page.events.order_by("at", "pk").values_list("kind", flat=True))
    assert (page.status, page.next_step_at) == (Page.Status.ACKNOWLEDGED, None)
    # Whichever came first, nobody is paged after the acknowledgement.
    assert events[-1] == PageEvent.Kind.ACKNOWLEDGED


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_escalates_and_emails_the_next_person(team_a, service_a, alice, bob):
    # Named people, not layers: the fixture schedule starts in 2027 and the worker uses the real clock.
    policy = EscalationPolicy.objects.create(team=team_a, name="People")
    add_step(policy, ("user", bob), wait=5)
    add_step(policy, ("user", alice), wait=5)
    service_a.escalation_policy = policy
    service_a.save()
    now = timezone.now()
    page = paging.page_open(alert=make_alert(service_a, at=now - minutes(6)), now=now - minutes(6))

    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        escalate_pages.delay()
        to_alice = Notification.objects.filter(event=Event.PAGE, recipient=alice)
        assert wait_for(lambda: to_alice.filter(status=Notification.Status.SENT).exists())
        assert wait_for(lambda: any(alice.email in m.to for m in mail.outbox))

    message = next(m for m in mail.outbox if alice.email in m.to)
    assert message.subject == "[Error] Payments API: Checkout error rate above 5%"
    assert "/page-links/" in message.body and "WHERE TO LOOK" in message.body
    page.refresh_from_db()
    assert (page.step_index, page.round_index) == (0, 1)  # both steps ran; next comes the repeat
    notified = page.events.filter(kind=PageEvent.Kind.NOTIFIED, user=alice).get()
    assert notified.notification.status == Notification.Status.SENT

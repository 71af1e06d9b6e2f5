"""Simultaneous posts: fifty identical alerts make one alert and one page; limits hold under load."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from oncall import intake_limits
from oncall.models import Alert, Integration, Page
from oncall.services.intake import integration_create
from tests.oncall.intake_payloads import alertmanager, encoded, generic
from tests.oncall.paging_fixtures import T0


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
            # Not close_old_connections(): with CONN_MAX_AGE it keeps the connection, and
            # fifty kept connections per test exhaust a shared server.
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def poster(integration: Integration, key: str, body: object) -> Callable[[int], int]:
    path = reverse("integration-alerts", kwargs={"public_id": integration.public_id})

    def post(_: int) -> int:
        response = Client().post(path, encoded(body), "application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        return response.status_code

    return post


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_identical_alerts_at_once_make_one_alert_and_one_page(service_a, alice):
    integration, key = integration_create(
        service=service_a, name="Alertmanager", kind="alertmanager", by=alice, rate_limit_per_minute=1000
    )

    codes = run_at_once(50, poster(integration, key, alertmanager()))

    assert codes == [202] * 50
    alert = Alert.objects.get()
    assert alert.count == 50
    assert Page.objects.filter(alert=alert).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_posts_at_once_against_a_limit_of_ten_let_ten_through(service_a, alice):
    integration, key = integration_create(
        service=service_a, name="Chatty", kind="generic", by=alice, rate_limit_per_minute=10
    )

    codes = run_at_once(50, poster(integration, key, generic()))

    assert sorted(codes) == [202] * 10 + [429] * 40
    assert Alert.objects.get().count == 10


def test_concurrent_counts_are_distinct(settings):
    scope = f"test-{threading.get_ident()}-{id(settings)}"
    counts = run_at_once(40, lambda i: intake_limits.count_hit(scope=scope, now=T0)[0])
    assert sorted(counts) == list(range(1, 41))


def test_a_new_minute_starts_a_new_window():
    scope = f"window-{id(object())}"
    first = intake_limits.intake_hit(scope=scope, limit=1, now=T0)
    second = intake_limits.intake_hit(scope=scope, limit=1, now=T0.replace(second=30))
    later = intake_limits.intake_hit(scope=scope, limit=1, now=T0.replace(minute=1))
    assert (first.allowed, second.allowed, later.allowed) == (True, False, True)
    assert second.retry_after_seconds == 30


def test_redis_outage_lets_intake_through(settings):
    settings.FIRELINE_RATELIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    decision = intake_limits.intake_hit(scope="outage", limit=1, now=T0)
    assert decision.allowed


def _waiting_on_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


def _wait_for_waiters(count: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while _waiting_on_advisory_locks() < count:
        assert time.monotonic() < deadline, "nobody queued on the intake gate"
        time.sleep(0.02)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_disable_is_not_held_off_by_posts_arriving_after_it(service_a, alice):
    """Posts share the intake gate; a disable queues for it, and posts after the disable queue behind it."""
    from django.db import transaction

    from oncall.intake_formats import AlertItem
    from oncall.services.intake import IntegrationDisabled, _lock_for_intake, alert_ingest, integration_disable

    integration, _key = integration_create(service=service_a, name="Storm", kind="generic", by=alice)
    in_flight, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_post() -> None:
        with transaction.atomic():
            _lock_for_intake(integration, ["k"])
            in_flight.set()
            release.wait(10)
        connection.close()

    def disable() -> None:
        integration_disable(integration=integration, by=alice)
        connection.close()

    def late_post() -> None:
        item = AlertItem(dedup_key="late", title="Late")
        try:
            alert_ingest(integration=integration, items=[item], now=T0)
            outcome["late"] = "stored"
        except IntegrationDisabled:
            outcome["late"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_post)]
    threads[0].start()
    assert in_flight.wait(10)
    threads.append(threading.Thread(target=disable))
    threads[1].start()
    _wait_for_waiters(1)
    threads.append(threading.Thread(target=late_post))
    threads[2].start()
    _wait_for_waiters(2)
    release.set()
    for thread in threads:
        thread.join(20)
    assert outcome == {"late": "refused"}
    assert not Alert.objects.filter(dedup_key="late").exists()

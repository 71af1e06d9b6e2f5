"""The grant job as Celery runs it: beat's task picked up by a real worker, the person told by email."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from config.celery import app as celery_app
from oncall.models import CompTimeGrant, Notification
from oncall.models.notifications import Event
from oncall.tasks import grant_comp_time
from tests.oncall.comptime_fixtures import NY, after, span


def wait_for_sent(recipient, timeout: float = 20.0) -> Notification | None:
    deadline = time.monotonic() + timeout
    rows = Notification.objects.filter(recipient=recipient, event=Event.COMP_TIME, status=Notification.Status.SENT)
    while not rows.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return rows.first()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_grants_comp_time_and_the_person_gets_the_email(team_a, alice, bob):
    # The worker reads the real clock: the night before last has ended, within the look-back.
    night = timezone.now().astimezone(ZoneInfo(NY)).date() - dt.timedelta(days=2)
    span(bob, team_a, after(night, 1, 30), after(night, 2, 50))
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        grant_comp_time.delay()
        sent = wait_for_sent(bob)
    assert sent is not None, "the person's notification was not delivered"
    grant = CompTimeGrant.objects.get()
    assert (grant.user, grant.night_of, grant.worked_minutes) == (bob, night, 80)
    mine = [m for m in mail.outbox if m.to == [bob.email]]
    assert [m.subject for m in mine] == [f"Comp time: 4.0 h for the night of {night:%d %b}"]
    assert "80 minutes" in mine[0].body

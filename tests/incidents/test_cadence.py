"""Update cadence: one reminder per missed update, to the commander and comms lead, even run twice."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from config.celery import app as celery_app
from incidents import services
from incidents.models import TimelineEntry
from incidents.tasks import remind_incident_updates
from oncall.models import Notification

NOW = dt.datetime(2027, 1, 12, 10, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


@pytest.fixture
def incident(team_a, alice, bob):
    incident = services.incident_declare(team=team_a, title="Checkout fails", severity=1, by=alice, now=NOW)
    services.role_assign(incident=incident, role="comms_lead", user=bob, by=alice, now=at(1))
    return incident


def reminders():
    return Notification.objects.filter(event="incident_update_due")


def test_nothing_before_the_update_is_due(incident):
    assert services.run_update_reminders(now=at(19)) == 0
    assert not reminders().exists()


def test_a_missed_update_reminds_commander_and_comms_lead_once(incident, alice, bob):
    assert services.run_update_reminders(now=at(21)) == 1
    assert services.run_update_reminders(now=at(22)) == 0
    assert set(reminders().values_list("recipient__username", flat=True)) == {"alice", "bob"}
    assert TimelineEntry.objects.filter(incident=incident, kind="reminder").count() == 1


def test_each_missed_update_gets_its_own_reminder(incident, alice):
    services.run_update_reminders(now=at(21))
    services.update_post(incident=incident, known="k", doing="d", trend="stable", by=alice, now=at(25))
    assert services.run_update_reminders(now=at(44)) == 0
    assert services.run_update_reminders(now=at(46)) == 1
    assert reminders().filter(recipient=alice).count() == 2


def test_a_resolved_incident_is_not_reminded(incident, alice):
    services.incident_resolve(incident=incident, by=alice, reason="False alarm", now=at(5))
    assert services.run_update_reminders(now=at(60)) == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_reminder_job_and_delivers_the_mail(team_a, alice):
    late = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    incident = services.incident_declare(team=team_a, title="Late update", severity=1, by=alice, now=late)
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        remind_incident_updates.delay()
        deadline = time.monotonic() + 20
        while not [m for m in mail.outbox if incident.reference in m.subject] and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [m.to for m in mail.outbox if incident.reference in m.subject] == [[alice.email]]

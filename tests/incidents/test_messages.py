"""The four internal messages carry the incident's real values."""

from __future__ import annotations

import datetime as dt

import pytest

from incidents import messages, services
from oncall.models import Notification
from tests.factories import TeamWebhookFactory

NOW = dt.datetime(2027, 1, 12, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York


@pytest.fixture
def incident(team_a, alice, bob, service_a):
    TeamWebhookFactory(team=team_a, url="https://chat.example.com/hook", format="slack")
    incident = services.incident_declare(
        team=team_a,
        title="Payments API 5xx above 3%",
        summary="Card payments fail for a third of customers",
        severity=1,
        by=alice,
        services=[service_a],
        impact_started_at=NOW - dt.timedelta(minutes=12),
        now=NOW,
    )
    services.role_assign(incident=incident, role="comms_lead", user=bob, by=alice, now=NOW)
    return incident


def test_declared_message(incident):
    text = messages.declared(incident)
    assert f"{incident.reference} declared: Payments API 5xx above 3% (SEV-1)" in text
    assert "Service: Payments API" in text
    assert "Impact: Card payments fail for a third of customers" in text
    assert "Since: Tue 12 Jan 09:48 America/New_York" in text
    assert "Next update: 10:20 America/New_York" in text
    assert "commander Alice" in text and "comms Bob" in text
    assert f"#inc-{incident.number}-payments-api" in text


def test_update_message_says_when_no_eta_is_known(incident, alice):
    update = services.update_post(
        incident=incident, known="DB pool exhausted", doing="Raising the pool", trend="improving", by=alice, now=NOW
    )
    text = messages.update(update)
    assert "update #1 at 10:00 America/New_York" in text
    assert "Known: DB pool exhausted" in text and "Customer impact: improving" in text
    assert "ETA: unknown; next update at 10:20 America/New_York" in text


def test_declared_message_goes_to_the_team_webhook_once(incident):
    posted = Notification.objects.filter(event="incident_declared")
    # Written at declaration, before bob took the comms role.
    assert posted.count() == 1
    assert f"{incident.reference} declared" in posted.get().body and "comms open" in posted.get().body


def test_help_and_resolution_messages(incident, alice):
    services.help_request(incident=incident, need="a database expert", why="Pool stays full", by=alice, now=NOW)
    services.incident_resolve(
        incident=incident,
        by=alice,
        checks=["core_actions", "errors_latency", "queues", "dependencies"],
        root_cause="Connection leak in 4.2",
        fix="Rolled back to 4.1",
        reason="Errors at zero for 20 minutes",
        now=NOW + dt.timedelta(minutes=50),
    )
    incident.refresh_from_db()
    bodies = dict(Notification.objects.filter(event__startswith="incident_").values_list("event", "body"))
    assert "needs help: a database expert" in bodies["incident_help"]
    resolved = bodies["incident_resolved"]
    assert "Root cause (first look): Connection leak in 4.2" in resolved
    assert "Fix: Rolled back to 4.1" in resolved
    assert "Impact: Tue 12 Jan 09:48 to Tue 12 Jan 10:50 America/New_York" in resolved
    assert "postmortem" in resolved

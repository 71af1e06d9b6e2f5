"""Incident lifecycle through the services: rules enforced, timeline written, nothing half-done."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from config.errors import ConflictError, DomainError
from incidents import services
from incidents.models import Incident, IncidentUpdate, RoleAssignment, TimelineEntry
from oncall.models import WorkLog

NOW = dt.datetime(2027, 1, 12, 10, 0, tzinfo=dt.UTC)


def minutes(n: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=n)


@pytest.fixture
def incident(team_a, alice, service_a):
    return services.incident_declare(
        team=team_a, title="Checkout fails", severity=1, by=alice, services=[service_a], now=NOW
    )


def test_declaring_numbers_the_incident_makes_the_declarer_commander_and_logs_it(incident, team_a, alice):
    second = services.incident_declare(team=team_a, title="Slow search", severity=3, by=alice, now=NOW)
    assert second.number == incident.number + 1
    assert incident.reference == f"INC-{incident.number}"
    assert RoleAssignment.objects.get(incident=incident).role == "commander"
    assert list(incident.timeline.values_list("kind", flat=True)) == ["declared", "role"]
    assert incident.next_update_due_at == minutes(20)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"severity": 5}, "severity"),
        ({"detection_source": "rumour"}, "detection_source"),
        ({"detected_at": NOW + dt.timedelta(hours=1)}, "detected_at"),
        ({"impact_started_at": NOW + dt.timedelta(minutes=1)}, "impact_started_at"),
    ],
)
def test_bad_declarations_write_nothing(team_a, alice, changes, field):
    values = {"team": team_a, "title": "Broken", "severity": 2, "by": alice, "now": NOW, **changes}
    with pytest.raises(DomainError) as caught:
        services.incident_declare(**values)
    assert caught.value.field == field
    assert not Incident.objects.exists() and not TimelineEntry.objects.exists()


def test_outsider_cannot_declare_or_add_another_teams_service(team_a, charlie, alice, service_b):
    with pytest.raises(DomainError, match="not a member"):
        services.incident_declare(team=team_a, title="x", severity=3, by=charlie, now=NOW)
    with pytest.raises(DomainError, match="Not services of"):
        services.incident_declare(team=team_a, title="x", severity=3, by=alice, services=[service_b], now=NOW)
    assert not Incident.objects.exists()


def test_the_lifecycle_records_its_instants(incident, alice):
    services.incident_transition(incident=incident, status="identified", by=alice, now=minutes(5))
    services.incident_transition(incident=incident, status="monitoring", by=alice, now=minutes(15))
    services.incident_transition(incident=incident, status="resolved", by=alice, now=minutes(75))
    services.incident_transition(incident=incident, status="closed", by=alice, now=minutes(200))
    incident.refresh_from_db()
    assert (incident.mitigated_at, incident.monitoring_since) == (minutes(15), minutes(15))
    assert (incident.resolved_at, incident.closed_at) == (minutes(75), minutes(200))
    assert incident.next_update_due_at is None
    assert not RoleAssignment.objects.filter(ended_at__isnull=True).exists()


def test_resolving_inside_the_watch_period_needs_a_reason_and_changes_nothing(incident, alice):
    services.incident_transition(incident=incident, status="monitoring", by=alice, now=minutes(5))
    with pytest.raises(DomainError, match="min left"):
        services.incident_transition(incident=incident, status="resolved", by=alice, now=minutes(20))
    incident.refresh_from_db()
    assert incident.status == "monitoring" and incident.timeline.filter(kind="status").count() == 1
    services.incident_transition(incident=incident, status="resolved", by=alice, reason="Rolled back", now=minutes(20))
    incident.refresh_from_db()
    assert incident.resolved_early_reason == "Rolled back"


def test_an_illegal_transition_is_refused_with_nothing_written(incident, alice):
    with pytest.raises(ConflictError, match="cannot go from investigating to closed"):
        services.incident_transition(incident=incident, status="closed", by=alice, now=minutes(1))
    assert incident.timeline.filter(kind="status").count() == 0


def test_sev1_keeps_a_commander_and_nobody_holds_all_three_roles(incident, alice, bob):
    with pytest.raises(DomainError, match="needs an incident commander"):
        services.role_release(incident=incident, role="commander", user=alice, by=alice, now=minutes(1))
    services.role_assign(incident=incident, role="tech_lead", user=alice, by=alice, now=minutes(1))
    with pytest.raises(DomainError, match="nobody holds all three roles"):
        services.role_assign(incident=incident, role="comms_lead", user=alice, by=alice, now=minutes(2))
    services.role_assign(incident=incident, role="comms_lead", user=bob, by=alice, now=minutes(2))
    holders = dict(RoleAssignment.objects.filter(ended_at__isnull=True).values_list("role", "user__username"))
    assert holders == {"commander": "alice", "tech_lead": "alice", "comms_lead": "bob"}


def test_handing_over_command_ends_the_previous_span(incident, alice, bob):
    services.role_assign(incident=incident, role="commander", user=bob, by=alice, now=minutes(30))
    spans = list(RoleAssignment.objects.filter(role="commander").values_list("user__username", "ended_at"))
    assert spans == [("alice", minutes(30)), ("bob", None)]


def test_downgrade_to_sev2_warns_without_commander(team_a, alice):
    incident = services.incident_declare(team=team_a, title="Slow", severity=3, by=alice, now=NOW)
    services.role_release(incident=incident, role="commander", user=alice, by=alice, now=minutes(1))
    services.incident_set_severity(incident=incident, severity=2, by=alice, now=minutes(2))
    warnings = services.role_assign(incident=incident, role="tech_lead", user=alice, by=alice, now=minutes(3))
    assert warnings == ["SEV-2 should have an incident commander."]
    incident.refresh_from_db()
    assert incident.next_update_due_at == minutes(2 + 45)


def test_updates_are_numbered_and_move_the_cadence(incident, alice):
    services.update_post(
        incident=incident, known="DB pool full", doing="Raising it", trend="stable", by=alice, now=minutes(10)
    )
    second = services.update_post(
        incident=incident, known="Pool raised", doing="Watching", trend="improving", by=alice, now=minutes(25)
    )
    assert second.number == 2 and second.next_update_at == minutes(45)
    incident.refresh_from_db()
    assert incident.next_update_due_at == minutes(45) and incident.impact_trend == "improving"


def test_bad_update_writes_nothing(incident, alice):
    with pytest.raises(DomainError):
        services.update_post(incident=incident, known="", doing="x", trend="stable", by=alice, now=minutes(1))
    with pytest.raises(DomainError):
        services.update_post(incident=incident, known="x", doing="x", trend="sideways", by=alice, now=minutes(1))
    assert not IncidentUpdate.objects.exists()


def test_a_correction_is_a_new_entry_pointing_back(incident, alice):
    wrong = services.note_add(incident=incident, text="Deploy at 09:40", by=alice, happened_at=minutes(-20), now=NOW)
    fixed = services.note_add(incident=incident, text="Deploy was at 09:35", by=alice, corrects=wrong, now=minutes(1))
    assert fixed.kind == "correction" and fixed.corrects == wrong
    assert TimelineEntry.objects.filter(pk=wrong.pk, text="Deploy at 09:40").exists()


@pytest.mark.postgres(reason="row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_resolutions_leave_one_result(team_a, alice):
    incident = services.incident_declare(team=team_a, title="Down", severity=3, by=alice, now=NOW)
    services.incident_transition(incident=incident, status="monitoring", by=alice, now=minutes(1))
    outcomes: list[str] = []

    def resolve() -> None:
        try:
            services.incident_transition(incident=incident, status="resolved", by=alice, now=minutes(90))
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    assert TimelineEntry.objects.filter(incident=incident, kind="status", data__new="resolved").count() == 1


def test_role_spans_become_work_logs_once(incident, alice, bob):
    services.role_assign(incident=incident, role="tech_lead", user=bob, by=alice, now=minutes(5))
    services.incident_resolve(incident=incident, by=alice, reason="Verified", now=minutes(65))
    logs = WorkLog.objects.filter(source="incident").order_by("user__username")
    spans = [(log.user.username, log.start_at, log.end_at) for log in logs]
    assert spans == [("alice", NOW, minutes(65)), ("bob", minutes(5), minutes(65))]

"""The public JSON documents keep the shape of Atlassian Statuspage's public API v2.

The shape below is written out from Statuspage's own documentation of the public API
(https://<page>/api: summary, status, components, incidents, incidents/unresolved,
scheduled-maintenances, …/upcoming, …/active) and from the TypeScript interfaces of the
statuspage.io client (Component, Page, Incident, IncidentUpdate, ScheduledMaintenance,
MaintenanceStatus, IncidentImpact). Widgets and monitors written for Statuspage read these
documents, so every field, its type and its enum is checked here, and a missing or extra
field fails.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from statuspage import publishing, services
from statuspage.models import Component, ComponentGroup, Notice, StatusPage
from tests.statuspage.conftest import HOST, T0, get

# --- the documented Statuspage v2 shape ------------------------------------------------------

COMPONENT_STATUSES = frozenset(
    {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
)
INCIDENT_STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved", "postmortem"})
MAINTENANCE_STATUSES = frozenset({"scheduled", "in_progress", "verifying", "completed"})
INCIDENT_IMPACTS = frozenset({"none", "minor", "major", "critical"})
MAINTENANCE_IMPACTS = INCIDENT_IMPACTS | {"maintenance"}
INDICATORS = frozenset({"none", "minor", "major", "critical"})

# ISO 8601 date-time with an explicit offset (Statuspage: "2014-05-14T14:22:39.441-06:00").
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Timestamp:
    pass


@dataclass(frozen=True)
class Date:
    pass


@dataclass(frozen=True)
class Nullable:
    spec: Any


@dataclass(frozen=True)
class ListOf:
    spec: Any


TIMESTAMP = Timestamp()

PAGE = {
    "id": str,
    "name": str,
    "url": str,
    "time_zone": str,
    "updated_at": TIMESTAMP,
}
COMPONENT = {
    "id": str,
    "name": str,
    "status": COMPONENT_STATUSES,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "position": int,
    "description": Nullable(str),
    "showcase": bool,
    "start_date": Nullable(Date()),
    "group_id": Nullable(str),
    "page_id": str,
    "group": bool,
    "only_show_if_degraded": bool,
}
# A group is a component with `group: true` and the ids of its members.
GROUP = {**COMPONENT, "components": ListOf(str)}
AFFECTED_COMPONENT = {
    "code": str,
    "name": str,
    "old_status": COMPONENT_STATUSES,
    "new_status": COMPONENT_STATUSES,
}


def _update(statuses: frozenset[str]) -> dict[str, Any]:
    return {
        "id": str,
        "status": statuses,
        "body": str,
        "incident_id": str,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "display_at": TIMESTAMP,
        "affected_components": Nullable(ListOf(AFFECTED_COMPONENT)),
        "deliver_notifications": bool,
        "custom_tweet": Nullable(str),
        "tweet_id": Nullable(str),
    }


INCIDENT_UPDATE = _update(INCIDENT_STATUSES)
MAINTENANCE_UPDATE = _update(MAINTENANCE_STATUSES)
INCIDENT = {
    "id": str,
    "name": str,
    "status": INCIDENT_STATUSES,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "monitoring_at": Nullable(TIMESTAMP),
    "resolved_at": Nullable(TIMESTAMP),
    "impact": INCIDENT_IMPACTS,
    "shortlink": str,
    "started_at": TIMESTAMP,
    "page_id": str,
    "incident_updates": ListOf(INCIDENT_UPDATE),
    "components": ListOf(COMPONENT),
}
SCHEDULED_MAINTENANCE = {
    **INCIDENT,
    "status": MAINTENANCE_STATUSES,
    "impact": MAINTENANCE_IMPACTS,
    "incident_updates": ListOf(MAINTENANCE_UPDATE),
    "scheduled_for": TIMESTAMP,
    "scheduled_until": TIMESTAMP,
}
STATUS = {"indicator": INDICATORS, "description": str}

# Each document's top-level keys, and the schema of what is under each key.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "/api/v2/summary.json": {
        "page": PAGE,
        "components": "components",
        "incidents": ListOf(INCIDENT),
        "scheduled_maintenances": ListOf(SCHEDULED_MAINTENANCE),
        "status": STATUS,
    },
    "/api/v2/status.json": {"page": PAGE, "status": STATUS},
    "/api/v2/components.json": {"page": PAGE, "components": "components"},
    "/api/v2/incidents.json": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "/api/v2/incidents/unresolved.json": {"page": PAGE, "incidents": ListOf(INCIDENT)},
    "/api/v2/scheduled-maintenances.json": {"page": PAGE, "scheduled_maintenances": ListOf(SCHEDULED_MAINTENANCE)},
    "/api/v2/scheduled-maintenances/upcoming.json": {
        "page": PAGE,
        "scheduled_maintenances": ListOf(SCHEDULED_MAINTENANCE),
    },
    "/api/v2/scheduled-maintenances/active.json": {
        "page": PAGE,
        "scheduled_maintenances": ListOf(SCHEDULED_MAINTENANCE),
    },
}


def parse_timestamp(value: str) -> dt.datetime:
    assert isinstance(value, str) and ISO_TIMESTAMP.match(value), f"not ISO 8601 with an offset: {value!r}"
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, value
    return parsed


def check(value: Any, spec: Any, where: str) -> None:
    """Fails unless `value` has the documented shape `spec`; `where` names it in the message."""
    if spec == "components":
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            assert isinstance(item, dict) and isinstance(item.get("group"), bool), f"{where}[{i}]: {item!r}"
            check(item, GROUP if item["group"] else COMPONENT, f"{where}[{i}]")
    elif isinstance(spec, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        missing, extra = set(spec) - set(value), set(value) - set(spec)
        assert not missing and not extra, f"{where}: missing fields {sorted(missing)}, unexpected {sorted(extra)}"
        for name, field_spec in spec.items():
            check(value[name], field_spec, f"{where}.{name}")
    elif isinstance(spec, Nullable):
        if value is not None:
            check(value, spec.spec, where)
    elif isinstance(spec, ListOf):
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            check(item, spec.spec, f"{where}[{i}]")
    elif isinstance(spec, Timestamp):
        parse_timestamp(value)
    elif isinstance(spec, Date):
        assert isinstance(value, str) and ISO_DATE.match(value), f"{where}: not a YYYY-MM-DD date: {value!r}"
        dt.date.fromisoformat(value)
    elif isinstance(spec, frozenset):
        assert value in spec, f"{where}: {value!r} is not one of {sorted(spec)}"
    elif spec is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer, got {value!r}"
    else:
        assert isinstance(value, spec), f"{where}: expected {spec.__name__}, got {value!r}"


# --- a page with something of everything ------------------------------------------------------

NOW = T0 + dt.timedelta(hours=3)


def at(n: int) -> dt.datetime:
    """T0 plus n minutes."""
    return T0 + dt.timedelta(minutes=n)


@dataclass
class Scenario:
    open: Notice
    resolved: Notice
    upcoming: Notice
    active: Notice
    completed: Notice


@pytest.fixture
def scenario(page, components, alice) -> Scenario:
    checkout, payouts, api = components["checkout"], components["payouts"], components["api"]
    completed = services.maintenance_schedule(
        page=page,
        title="Cache flush",
        body="We will flush the API cache.",
        scheduled_for=at(5),
        scheduled_until=at(15),
        components=[api],
        by=alice,
        now=T0,
    )
    services.run_maintenance_windows(now=at(5))
    services.run_maintenance_windows(now=at(15))

    resolved = services.notice_create(
        page=page,
        title="Slow API responses",
        impact="minor",
        status="investigating",
        body="API responses are slow.",
        by=alice,
        statuses={api: "degraded_performance"},
        now=at(20),
    )
    services.notice_update(notice=resolved, status="monitoring", body="A fix is deployed.", by=alice, now=at(30))
    services.notice_update(
        notice=resolved,
        status="resolved",
        body="Responses are fast again.",
        by=alice,
        statuses={api: "operational"},
        now=at(40),
    )

    upcoming = services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="The API will be read-only.",
        scheduled_for=T0 + dt.timedelta(days=2),
        scheduled_until=T0 + dt.timedelta(days=2, hours=2),
        components=[api],
        by=alice,
        now=at(50),
    )
    active = services.maintenance_schedule(
        page=page,
        title="Payouts migration",
        body="Payouts will be delayed.",
        scheduled_for=at(120),
        scheduled_until=at(240),
        components=[payouts],
        by=alice,
        now=at(50),
    )

    open_incident = services.notice_create(
        page=page,
        title="Checkout errors",
        impact="major",
        status="investigating",
        body="Some payments fail.",
        by=alice,
        statuses={checkout: "partial_outage"},
        now=at(60),
    )
    services.notice_update(notice=open_incident, status="identified", body="A bad deploy.", by=alice, now=at(90))
    services.run_maintenance_windows(now=at(120))

    publishing.page_publish(page_id=page.pk, now=NOW)
    return Scenario(open=open_incident, resolved=resolved, upcoming=upcoming, active=active, completed=completed)


def doc(client, path: str) -> dict[str, Any]:
    response = get(client, path)
    assert response.status_code == 200, path
    return response.json()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def by_id(items: list[dict[str, Any]], public_id: str) -> dict[str, Any]:
    found = [item for item in items if item["id"] == public_id]
    assert len(found) == 1, f"{public_id} appears {len(found)} times in {ids(items)}"
    return found[0]


# --- every document ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(DOCUMENTS))
def test_every_document_is_json_in_the_documented_statuspage_shape(client, scenario, path):
    response = get(client, path)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0].strip() == "application/json"
    body = response.json()
    assert set(body) == set(DOCUMENTS[path]), f"{path}: top-level keys {sorted(body)}"
    for key, spec in DOCUMENTS[path].items():
        check(body[key], spec, f"{path} {key}")


@pytest.mark.parametrize("path", list(DOCUMENTS))
def test_every_document_has_the_same_page_object(client, scenario, page, path):
    # The page row itself was last edited before anything happened on it.
    StatusPage.objects.filter(pk=page.pk).update(updated_at=T0 - dt.timedelta(days=1))
    publishing.page_publish(page_id=page.pk, now=NOW)
    head = doc(client, path)["page"]
    assert head["id"] == page.public_id
    assert head["name"] == "Acme"
    assert head["time_zone"] == "Europe/London"
    url = urlsplit(head["url"])
    assert url.scheme in {"http", "https"}
    assert url.hostname == HOST
    assert url.path == ""  # Statuspage's page url has no trailing slash
    # The page changed last when the active maintenance started.
    assert parse_timestamp(head["updated_at"]) == at(120)


def test_documents_are_served_only_once_the_page_is_published(client, page, components):
    # Nothing published yet: the status host has no document to answer with.
    assert get(client, "/api/v2/summary.json").status_code == 404
    publishing.page_publish(page_id=page.pk, now=NOW)
    assert get(client, "/api/v2/summary.json").status_code == 200


# --- which notices each document lists --------------------------------------------------------


def test_summary_lists_only_unresolved_incidents(client, scenario):
    summary = doc(client, "/api/v2/summary.json")
    assert ids(summary["incidents"]) == [scenario.open.public_id]


def test_summary_lists_active_and_upcoming_maintenance_but_not_completed(client, scenario):
    summary = doc(client, "/api/v2/summary.json")
    listed = ids(summary["scheduled_maintenances"])
    assert sorted(listed) == sorted([scenario.active.public_id, scenario.upcoming.public_id])
    assert scenario.completed.public_id not in listed


def test_unresolved_incidents_lists_only_the_open_incident(client, scenario):
    unresolved = doc(client, "/api/v2/incidents/unresolved.json")
    assert ids(unresolved["incidents"]) == [scenario.open.public_id]
    assert unresolved["incidents"][0]["status"] == "identified"


def test_incidents_lists_open_and_resolved_incidents_newest_first_and_no_maintenance(client, scenario):
    incidents = doc(client, "/api/v2/incidents.json")["incidents"]
    assert ids(incidents) == [scenario.open.public_id, scenario.resolved.public_id]
    assert [i["status"] for i in incidents] == ["identified", "resolved"]


def test_upcoming_maintenance_lists_only_the_scheduled_window(client, scenario):
    upcoming = doc(client, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert ids(upcoming) == [scenario.upcoming.public_id]
    assert upcoming[0]["status"] == "scheduled"


def test_active_maintenance_lists_only_the_window_in_progress(client, scenario):
    active = doc(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert ids(active) == [scenario.active.public_id]
    assert active[0]["status"] == "in_progress"


def test_active_maintenance_still_lists_a_window_being_verified(client, scenario, page, alice):
    services.maintenance_transition(
        notice=scenario.active, status="verifying", body="Checking payouts.", by=alice, now=at(150)
    )
    publishing.page_publish(page_id=page.pk, now=at(151))
    active = doc(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert ids(active) == [scenario.active.public_id]
    assert active[0]["status"] == "verifying"
    assert ids(doc(client, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]) == [
        scenario.upcoming.public_id
    ]


def test_scheduled_maintenances_lists_every_window_including_completed(client, scenario):
    listed = doc(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert sorted(ids(listed)) == sorted(
        [scenario.upcoming.public_id, scenario.active.public_id, scenario.completed.public_id]
    )
    statuses = {m["id"]: m["status"] for m in listed}
    assert statuses == {
        scenario.upcoming.public_id: "scheduled",
        scenario.active.public_id: "in_progress",
        scenario.completed.public_id: "completed",
    }


def test_resolving_the_open_incident_empties_unresolved(
    client, scenario, alice, components, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_update(
            notice=scenario.open,
            status="resolved",
            body="Payments work again.",
            by=alice,
            statuses={components["checkout"]: "operational"},
            now=at(170),
        )
    assert doc(client, "/api/v2/incidents/unresolved.json")["incidents"] == []
    assert doc(client, "/api/v2/summary.json")["incidents"] == []
    resolved = by_id(doc(client, "/api/v2/incidents.json")["incidents"], scenario.open.public_id)
    assert resolved["status"] == "resolved"
    assert parse_timestamp(resolved["resolved_at"]) == at(170)


def test_incidents_lists_the_fifty_most_recent_incidents(client, page, components, alice):
    made = [
        services.notice_create(
            page=page,
            title=f"Incident {i}",
            impact="minor",
            status="investigating",
            body="Looking.",
            by=alice,
            now=at(i),
        )
        for i in range(51)
    ]
    publishing.page_publish(page_id=page.pk, now=NOW)
    listed = doc(client, "/api/v2/incidents.json")["incidents"]
    assert ids(listed) == [n.public_id for n in reversed(made[1:])]


# --- incident and maintenance fields -----------------------------------------------------------


def test_incident_fields_carry_the_notice(client, scenario, page, components):
    incident = by_id(doc(client, "/api/v2/incidents.json")["incidents"], scenario.resolved.public_id)
    assert incident["name"] == "Slow API responses"
    assert incident["impact"] == "minor"
    assert incident["page_id"] == page.public_id
    assert parse_timestamp(incident["created_at"]) == at(20)
    assert parse_timestamp(incident["started_at"]) == at(20)
    assert parse_timestamp(incident["updated_at"]) == at(40)
    assert parse_timestamp(incident["monitoring_at"]) == at(30)
    assert parse_timestamp(incident["resolved_at"]) == at(40)
    assert ids(incident["components"]) == [components["api"].public_id]


def test_an_open_incident_has_no_resolved_at(client, scenario):
    incident = doc(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    assert incident["resolved_at"] is None
    assert incident["monitoring_at"] is None
    assert incident["impact"] == "major"


def test_incident_updates_are_newest_first_and_belong_to_their_incident(client, scenario):
    incident = by_id(doc(client, "/api/v2/incidents.json")["incidents"], scenario.resolved.public_id)
    updates = incident["incident_updates"]
    assert [u["status"] for u in updates] == ["resolved", "monitoring", "investigating"]
    assert [u["body"] for u in updates] == [
        "Responses are fast again.",
        "A fix is deployed.",
        "API responses are slow.",
    ]
    assert [parse_timestamp(u["created_at"]) for u in updates] == [at(40), at(30), at(20)]
    assert all(u["incident_id"] == incident["id"] for u in updates)
    assert all(parse_timestamp(u["display_at"]) == parse_timestamp(u["created_at"]) for u in updates)
    assert len(set(ids(updates))) == 3


def test_incident_updates_report_component_changes_as_affected_components(client, scenario, components):
    incident = by_id(doc(client, "/api/v2/incidents.json")["incidents"], scenario.resolved.public_id)
    resolved_update, monitoring_update, first_update = incident["incident_updates"]
    api = components["api"]
    assert first_update["affected_components"] == [
        {"code": api.public_id, "name": "Public API", "old_status": "operational", "new_status": "degraded_performance"}
    ]
    assert resolved_update["affected_components"] == [
        {"code": api.public_id, "name": "Public API", "old_status": "degraded_performance", "new_status": "operational"}
    ]
    # An update that changed no component says so with null, as Statuspage does.
    assert monitoring_update["affected_components"] is None


def test_shortlink_points_at_the_notice_page_on_the_status_host(client, scenario):
    incident = doc(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    link = urlsplit(incident["shortlink"])
    assert link.hostname == HOST
    assert link.path == f"/incidents/{scenario.open.public_id}"
    response = get(client, link.path)
    assert response.status_code == 200
    assert "Checkout errors" in response.content.decode()


def test_maintenance_carries_its_window_and_maintenance_impact(client, scenario, components):
    upcoming = doc(client, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"][0]
    assert upcoming["name"] == "Database upgrade"
    assert upcoming["impact"] == "maintenance"
    assert parse_timestamp(upcoming["scheduled_for"]) == T0 + dt.timedelta(days=2)
    assert parse_timestamp(upcoming["scheduled_until"]) == T0 + dt.timedelta(days=2, hours=2)
    assert ids(upcoming["components"]) == [components["api"].public_id]
    assert [u["status"] for u in upcoming["incident_updates"]] == ["scheduled"]
    assert upcoming["incident_updates"][0]["body"] == "The API will be read-only."


def test_maintenance_in_progress_puts_its_components_under_maintenance(client, scenario, components):
    active = doc(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"][0]
    assert [u["status"] for u in active["incident_updates"]] == ["in_progress", "scheduled"]
    payouts = components["payouts"].public_id
    assert active["incident_updates"][0]["affected_components"] == [
        {"code": payouts, "name": "Payouts", "old_status": "operational", "new_status": "under_maintenance"}
    ]
    listed = by_id(doc(client, "/api/v2/components.json")["components"], payouts)
    assert listed["status"] == "under_maintenance"


def test_timestamps_are_in_the_pages_time_zone(client, scenario, page):
    page.time_zone = "America/New_York"
    page.save()
    publishing.page_publish(page_id=page.pk, now=NOW)
    summary = doc(client, "/api/v2/summary.json")
    assert summary["page"]["time_zone"] == "America/New_York"
    incident = summary["incidents"][0]
    # 2 November 2026 is after the end of US daylight time: New York is five hours behind UTC.
    assert incident["created_at"].endswith("-05:00")
    assert parse_timestamp(incident["created_at"]) == at(60)
    assert incident["created_at"].startswith("2026-11-02T05:00:00")


# --- components and groups ---------------------------------------------------------------------


def test_components_lists_every_component_and_group(client, scenario, components):
    listed = doc(client, "/api/v2/components.json")["components"]
    group = ComponentGroup.objects.get(name="Payments")
    assert sorted(ids(listed)) == sorted([*(c.public_id for c in components.values()), group.public_id])
    statuses = {c["name"]: c["status"] for c in listed}
    assert statuses == {
        "Public API": "operational",
        "Checkout": "partial_outage",
        "Payouts": "under_maintenance",
        "Payments": "partial_outage",
    }


def test_group_lists_its_members_ids_and_members_point_at_the_group(client, scenario, components):
    listed = doc(client, "/api/v2/components.json")["components"]
    group = ComponentGroup.objects.get(name="Payments")
    entry = by_id(listed, group.public_id)
    assert entry["group"] is True
    assert entry["group_id"] is None
    assert entry["components"] == [components["checkout"].public_id, components["payouts"].public_id]
    for name in ["checkout", "payouts"]:
        member = by_id(listed, components[name].public_id)
        assert member["group"] is False
        assert member["group_id"] == group.public_id
        assert "components" not in member
    alone = by_id(listed, components["api"].public_id)
    assert alone["group_id"] is None


def test_component_fields_carry_the_component(client, page, components):
    api = components["api"]
    Component.objects.filter(pk=api.pk).update(description="The REST API", only_show_if_degraded=True)
    publishing.page_publish(page_id=page.pk, now=NOW)
    listed = doc(client, "/api/v2/components.json")["components"]
    entry = by_id(listed, api.public_id)
    assert entry["name"] == "Public API"
    assert entry["description"] == "The REST API"
    assert entry["only_show_if_degraded"] is True
    assert entry["position"] == 0
    assert entry["page_id"] == page.public_id
    assert parse_timestamp(entry["created_at"]) == T0
    assert entry["start_date"] == "2026-11-02"
    # No description is null, not an empty string.
    assert by_id(listed, components["checkout"].public_id)["description"] is None


def test_summary_and_components_json_list_the_same_components(client, scenario):
    assert doc(client, "/api/v2/summary.json")["components"] == doc(client, "/api/v2/components.json")["components"]


# --- the overall indicator ----------------------------------------------------------------------


def test_all_operational_with_nothing_open_is_all_systems_operational(client, page, components):
    publishing.page_publish(page_id=page.pk, now=NOW)
    for path in ["/api/v2/status.json", "/api/v2/summary.json"]:
        assert doc(client, path)["status"] == {"indicator": "none", "description": "All Systems Operational"}


@pytest.mark.parametrize(
    ("component_status", "indicator"),
    [
        ("degraded_performance", "minor"),
        ("partial_outage", "major"),
        ("major_outage", "critical"),
        ("operational", "none"),
    ],
)
def test_indicator_follows_the_worst_component(
    client, page, components, bob, django_capture_on_commit_callbacks, component_status, indicator
):
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["payouts"], status="degraded_performance", by=bob, now=NOW)
        services.component_set_status(component=components["api"], status=component_status, by=bob, now=NOW)
    worst = max(["minor", indicator], key=["none", "minor", "major", "critical"].index)
    status = doc(client, "/api/v2/status.json")["status"]
    assert status["indicator"] == worst
    assert doc(client, "/api/v2/summary.json")["status"] == status


def test_a_major_outage_is_a_critical_major_service_outage(
    client, page, components, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(component=components["checkout"], status="major_outage", by=bob, now=NOW)
    assert doc(client, "/api/v2/status.json")["status"] == {
        "indicator": "critical",
        "description": "Major Service Outage",
    }


@pytest.mark.parametrize("impact", ["minor", "major", "critical"])
def test_indicator_follows_the_impact_of_an_open_incident(
    client, page, components, alice, django_capture_on_commit_callbacks, impact
):
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_create(
            page=page, title="Errors", impact=impact, status="investigating", body="Looking.", by=alice, now=NOW
        )
    assert doc(client, "/api/v2/status.json")["status"]["indicator"] == impact


def test_a_resolved_incident_no_longer_raises_the_indicator(
    client, page, components, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_create(
            page=page, title="Errors", impact="critical", status="investigating", body="Looking.", by=alice, now=NOW
        )
    assert doc(client, "/api/v2/status.json")["status"]["indicator"] == "critical"
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_update(notice=notice, status="resolved", body="Fixed.", by=alice, now=NOW)
    assert doc(client, "/api/v2/status.json")["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


def test_scenario_indicator_is_the_worst_of_components_and_open_incident(client, scenario):
    # Checkout is in partial outage and the open incident is major: a partial system outage.
    status = doc(client, "/api/v2/status.json")["status"]
    assert status == {"indicator": "major", "description": "Partial System Outage"}
    assert doc(client, "/api/v2/summary.json")["status"] == status

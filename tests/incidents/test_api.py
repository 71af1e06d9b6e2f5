"""The incidents API: the same rules as the pages, errors with reasons."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident
from oncall.services.teams import token_create
from tests.factories import MembershipFactory


@pytest.fixture
def api():
    return APIClient()


def test_declare_read_and_move_through_the_api(api, bob, service_a):
    api.force_authenticate(bob)
    created = api.post(
        "/api/v1/incidents/",
        {"team": "payments", "title": "Checkout 500s", "severity": 1, "services": ["payments-api"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["current_roles"][0]["role"] == "commander"
    # A person declaring it is on it: the incident starts acknowledged.
    assert created.json()["acknowledged_at"] == created.json()["declared_at"]
    assert api.post(f"/api/v1/incidents/{number}/acknowledge/").status_code == 409
    moved = api.post(f"/api/v1/incidents/{number}/transition/", {"status": "monitoring"}, format="json")
    assert moved.json()["status"] == "monitoring"
    early = api.post(f"/api/v1/incidents/{number}/resolve/", {"checks": ["core_actions"]}, format="json")
    assert early.status_code == 400 and "reason" in early.json()
    done = api.post(
        f"/api/v1/incidents/{number}/resolve/",
        {
            "checks": ["core_actions", "errors_latency", "queues", "dependencies"],
            "reason": "Rolled back",
            "fix": "Rollback",
        },
        format="json",
    )
    assert done.json()["status"] == "resolved" and done.json()["fix"] == "Rollback"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team": "payments", "title": "x", "severity": 9}, "severity"),
        ({"team": "payments", "severity": 2}, "title"),
        ({"team": "web", "title": "x", "severity": 2}, "team"),
        ({"team": "payments", "title": "x", "severity": 2, "services": ["web-app"]}, "services"),
    ],
)
def test_bad_declarations_answer_400_and_write_nothing(api, bob, service_b, body, field):
    api.force_authenticate(bob)
    response = api.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Incident.objects.exists()


def test_an_illegal_transition_is_409_with_the_reason(api, bob, team_a, alice):
    incident = services.incident_declare(team=team_a, title="x", severity=3, by=alice)
    api.force_authenticate(bob)
    response = api.post(f"/api/v1/incidents/{incident.number}/transition/", {"status": "closed"}, format="json")
    assert response.status_code == 409
    assert "cannot go from investigating to closed" in response.json()["detail"]


def test_outsiders_read_open_incidents_but_not_restricted_ones_and_cannot_act(api, charlie, team_a, alice):
    public = services.incident_declare(team=team_a, title="Slow", severity=3, by=alice)
    secret = services.incident_declare(team=team_a, title="Breach", severity=1, by=alice, is_restricted=True)
    api.force_authenticate(charlie)
    numbers = {row["number"] for row in api.get("/api/v1/incidents/").json()["results"]}
    assert numbers == {public.number}
    assert api.get(f"/api/v1/incidents/{secret.number}/").status_code == 404
    assert api.get(f"/api/v1/incidents/{secret.number}/timeline/").status_code == 404
    assert api.post(f"/api/v1/incidents/{public.number}/timeline/", {"text": "hi"}, format="json").status_code == 404
    assert api.post(f"/api/v1/incidents/{secret.number}/acknowledge/").status_code == 404


def test_roles_timeline_and_updates(api, bob, alice, team_a):
    incident = services.incident_declare(team=team_a, title="Down", severity=1, by=alice)
    api.force_authenticate(alice)
    url = f"/api/v1/incidents/{incident.number}"
    assert api.post(f"{url}/roles/", {"role": "tech_lead", "user": "alice"}, format="json").status_code == 200
    refused = api.post(f"{url}/roles/", {"role": "comms_lead", "user": "alice"}, format="json")
    assert refused.status_code == 400 and "all three roles" in refused.json()["role"][0]
    note = api.post(f"{url}/timeline/", {"text": "Deploy at 09:40"}, format="json").json()
    fix = api.post(f"{url}/timeline/", {"text": "Deploy at 09:35", "corrects": note["id"]}, format="json")
    assert fix.json()["kind"] == "correction"
    posted = api.post(f"{url}/updates/", {"known": "k", "doing": "d", "trend": "stable"}, format="json")
    assert posted.status_code == 201 and posted.json()["number"] == 1
    assert api.post(f"{url}/updates/", {"known": "k", "doing": "d", "trend": "up"}, format="json").status_code == 400


def test_filters_and_bad_filters(api, bob, team_a, alice):
    services.incident_declare(team=team_a, title="Checkout", severity=1, by=alice)
    services.incident_declare(team=team_a, title="Reports", severity=4, by=alice)
    api.force_authenticate(bob)
    titles = [r["title"] for r in api.get("/api/v1/incidents/", {"severity": 4}).json()["results"]]
    assert titles == ["Reports"]
    assert api.get("/api/v1/incidents/", {"status": "sleeping"}).status_code == 400
    assert api.get("/api/v1/incidents/", {"q": "check"}).json()["count"] == 1


def _queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/incidents/").status_code == 200
    return len(queries)


def test_the_list_endpoint_costs_the_same_for_5_and_50(api, bob, team_a, alice, service_a):
    for n in range(5):
        services.incident_declare(team=team_a, title=f"A{n}", severity=3, by=alice, services=[service_a])
    api.force_authenticate(bob)
    few = _queries(api)
    for n in range(45):
        services.incident_declare(team=team_a, title=f"B{n}", severity=2, by=alice, services=[service_a])
    assert _queries(api) == few


def test_a_team_scoped_token_declares_only_in_its_team(bob, team_a, team_b):
    MembershipFactory(user=bob, team=team_b)
    _token, raw = token_create(user=bob, name="payments bot", team=team_a)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    other = api.post("/api/v1/incidents/", {"team": "web", "title": "x", "severity": 3}, format="json")
    assert other.status_code == 400 and "team" in other.json()
    own = api.post("/api/v1/incidents/", {"team": "payments", "title": "x", "severity": 3}, format="json")
    assert own.status_code == 201
    assert list(Incident.objects.values_list("team__slug", flat=True)) == ["payments"]

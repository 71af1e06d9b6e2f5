"""The writing API for tools: set component statuses, publish notices and updates, schedule maintenance."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from incidents.services import incident_declare
from oncall.services.teams import token_create
from statuspage.models import Notice, NoticeUpdate
from tests.factories import MembershipFactory
from tests.statuspage.conftest import get


@pytest.fixture
def api(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client


def test_a_tool_publishes_a_notice_and_customers_see_it(
    api, client, page, components, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/status-notices/",
            {
                "page": page.public_id,
                "title": "Card payments failing",
                "impact": "major",
                "status": "investigating",
                "body": "Some card payments fail. Next update in 20 minutes.",
                "components": {components["checkout"].public_id: "partial_outage"},
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    notice_id = created.json()["id"]
    assert created.json()["components"] == [components["checkout"].public_id]
    summary = get(client, "/api/v2/summary.json").json()
    assert [i["id"] for i in summary["incidents"]] == [notice_id]
    assert summary["status"]["indicator"] == "major"

    with django_capture_on_commit_callbacks(execute=True):
        resolved = api.post(
            f"/api/v1/status-notices/{notice_id}/updates/",
            {"status": "resolved", "body": "Fixed.", "components": {components["checkout"].public_id: "operational"}},
            format="json",
        )
    assert resolved.status_code == 200, resolved.content
    assert [u["status"] for u in resolved.json()["updates"]] == ["resolved", "investigating"]
    assert get(client, "/api/v2/incidents/unresolved.json").json()["incidents"] == []


def test_a_monitor_sets_a_component_status(api, components):
    response = api.post(
        f"/api/v1/status-components/{components['api'].public_id}/status/", {"status": "degraded_performance"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "degraded_performance"


def test_a_notice_links_to_an_incident_by_number(api, page, components, bob, team_a, service_a):
    incident = incident_declare(team=team_a, title="Checkout 500s", severity=1, by=bob, services=[service_a])
    body = {"page": page.public_id, "title": "Payments", "impact": "critical", "status": "identified", "body": "On it."}
    created = api.post("/api/v1/status-notices/", {**body, "incident": incident.number}, format="json")
    assert created.status_code == 201
    assert created.json()["incident"] == incident.number


def test_maintenance_is_scheduled_through_the_page(api, page, components):
    response = api.post(
        f"/api/v1/status-pages/{page.public_id}/maintenance/",
        {
            "title": "Database upgrade",
            "body": "Slow for a few minutes.",
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
            "components": [components["api"].public_id],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "scheduled" and response.json()["kind"] == "maintenance"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"body": ""}, "body"),
        ({"impact": "apocalyptic"}, "impact"),
        ({"status": "resolved"}, "status"),
        ({"components": {"nope12345678": "major_outage"}}, "components"),
        ({"components": {"x": "on_fire"}}, "components"),
        ({"page": "elsewhere"}, "page"),
        ({"incident": 99999}, "incident"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(api, page, components, body, field):
    valid = {"page": page.public_id, "title": "Payments", "impact": "major", "status": "investigating", "body": "Hi."}
    response = api.post("/api/v1/status-notices/", {**valid, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Notice.objects.exists()


def test_an_illegal_update_answers_409_and_writes_nothing(api, page, components, bob):
    from statuspage import services

    notice = services.notice_create(page=page, title="X", impact="minor", status="investigating", body="Y", by=bob)
    services.notice_update(notice=notice, status="resolved", body="Done.", by=bob)
    services.notice_update(notice=notice, status="postmortem", body="Review.", by=bob)
    response = api.post(f"/api/v1/status-notices/{notice.public_id}/updates/", {"status": "identified", "body": "?"})
    assert response.status_code == 409
    assert NoticeUpdate.objects.filter(notice=notice).count() == 3


def test_another_team_gets_404_for_everything_of_the_page(page, components, bob, charlie):
    from statuspage import services

    notice = services.notice_create(page=page, title="X", impact="minor", status="investigating", body="Y", by=bob)
    api = APIClient()
    api.force_authenticate(charlie)
    assert api.get("/api/v1/status-pages/").json()["results"] == []
    assert api.get(f"/api/v1/status-pages/{page.public_id}/").status_code == 404
    assert api.get("/api/v1/status-components/").json()["results"] == []
    assert api.get("/api/v1/status-notices/").json()["results"] == []
    assert api.get(f"/api/v1/status-notices/{notice.public_id}/").status_code == 404
    component = components["api"].public_id
    assert api.post(f"/api/v1/status-components/{component}/status/", {"status": "major_outage"}).status_code == 404
    assert (
        api.post(f"/api/v1/status-notices/{notice.public_id}/updates/", {"status": "resolved", "body": "x"}).status_code
        == 404
    )
    response = api.post(f"/api/v1/status-pages/{page.public_id}/maintenance/", {}, format="json")
    assert response.status_code == 404
    created = api.post(
        "/api/v1/status-notices/",
        {"page": page.public_id, "title": "X", "impact": "minor", "status": "investigating", "body": "Y"},
        format="json",
    )
    assert created.status_code == 400
    components["api"].refresh_from_db()
    assert components["api"].status == "operational"
    assert Notice.objects.count() == 1


def test_a_team_scoped_token_sees_only_pages_of_its_team(page, components, bob, team_b):
    MembershipFactory(user=bob, team=team_b)
    _token, raw = token_create(user=bob, name="web bot", team=team_b)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/status-pages/").json()["results"] == []
    assert (
        api.post(
            f"/api/v1/status-components/{components['api'].public_id}/status/", {"status": "major_outage"}
        ).status_code
        == 404
    )


def test_listing_notices_costs_the_same_for_many(api, page, components, bob, django_assert_max_num_queries):
    from statuspage import services

    for n in range(8):
        services.notice_create(page=page, title=f"N{n}", impact="minor", status="investigating", body="Y", by=bob)
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/status-notices/")
    assert len(response.json()["results"]) == 8


def test_maintenance_times_without_an_offset_are_read_in_the_pages_time_zone(api, page, components, settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # whatever zone the request runs in; the page is in London
    response = api.post(
        f"/api/v1/status-pages/{page.public_id}/maintenance/",
        {
            "title": "Summer database upgrade",
            "body": "Slow for a few minutes.",
            "scheduled_for": "2030-07-05T02:00:00",
            "scheduled_until": "2030-07-05T03:00:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    notice = Notice.objects.get(title="Summer database upgrade")
    # 02:00 in London in July is 01:00 UTC (summer time).
    assert notice.scheduled_for == dt.datetime(2030, 7, 5, 1, 0, tzinfo=dt.UTC)
    assert notice.scheduled_until == dt.datetime(2030, 7, 5, 2, 0, tzinfo=dt.UTC)

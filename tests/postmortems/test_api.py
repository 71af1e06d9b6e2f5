"""The postmortems and action items API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import services as incidents
from oncall.services.teams import token_create
from postmortems import services
from postmortems.models import ActionItem
from tests.factories import MembershipFactory


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def postmortem(team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Payments down", severity=1, by=alice)
    incidents.incident_resolve(incident=incident, by=alice, reason="Fixed")
    return services.postmortem_create(incident=incident)


def test_edit_returns_blameless_warnings(api, bob, postmortem):
    api.force_authenticate(bob)
    url = f"/api/v1/postmortems/{postmortem.incident.number}/"
    response = api.patch(url, {"root_cause": "It was human error."}, format="json")
    assert response.status_code == 200
    assert [w["text"] for w in response.json()["warnings"]] == ["human error"]


def test_workflow_through_the_api(api, alice, bob, postmortem):
    api.force_authenticate(alice)
    url = f"/api/v1/postmortems/{postmortem.incident.number}"
    assert api.post(f"{url}/transition/", {"status": "in_review"}, format="json").status_code == 400
    assert (
        api.post(f"{url}/transition/", {"status": "in_review", "reviewers": ["bob"]}, format="json").status_code == 200
    )
    assert api.post(f"{url}/transition/", {"status": "published"}, format="json").status_code == 400
    api.patch(f"{url}/", {"root_cause": "A config change lowered the pool size."}, format="json")
    assert api.post(f"{url}/transition/", {"status": "published"}, format="json").json()["status"] == "published"
    assert api.patch(f"{url}/", {"summary": "late edit"}, format="json").status_code == 409


def test_action_items_crud_filters_and_status(api, bob, postmortem):
    api.force_authenticate(bob)
    created = api.post(
        "/api/v1/action-items/",
        {"incident": postmortem.incident.number, "title": "Alert on DB pool above 80%", "owner": "bob",
         "due_date": str(timezone.localdate() - dt.timedelta(days=2)), "verification": "Drill"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["is_overdue"] and item["missing"] == []
    assert [
        i["id"] for i in api.get("/api/v1/action-items/", {"owner": "me", "overdue": "true"}).json()["results"]
    ] == [item["id"]]
    refused = api.post(f"/api/v1/action-items/{item['id']}/status/", {"status": "done"}, format="json")
    assert refused.status_code == 400 and "evidence" in refused.json()
    done = api.post(
        f"/api/v1/action-items/{item['id']}/status/", {"status": "done", "evidence": "Drill passed"}, format="json"
    )
    assert done.json()["status"] == "done"


def test_outsider_gets_404_and_writes_nothing(api, charlie, postmortem):
    item = services.action_item_create(postmortem=postmortem, by=postmortem.owner, title="Add canary on limits")
    api.force_authenticate(charlie)
    assert api.get(f"/api/v1/action-items/{item.pk}/").status_code == 404
    assert (
        api.patch(f"/api/v1/postmortems/{postmortem.incident.number}/", {"summary": "x"}, format="json").status_code
        == 404
    )
    created = api.post(
        "/api/v1/action-items/", {"incident": postmortem.incident.number, "title": "Mine now"}, format="json"
    )
    assert created.status_code == 404
    assert ActionItem.objects.count() == 1


def test_reassign_is_for_managers(api, alice, bob, postmortem):
    item = services.action_item_create(postmortem=postmortem, by=alice, title="Add canary on limits", owner=alice)
    api.force_authenticate(bob)
    assert (
        api.post("/api/v1/action-items/reassign/", {"items": [item.pk], "owner": "bob"}, format="json").status_code
        == 400
    )
    api.force_authenticate(alice)
    assert api.post("/api/v1/action-items/reassign/", {"items": [item.pk], "owner": "bob"}, format="json").json() == {
        "reassigned": 1
    }


def test_a_team_scoped_token_sees_only_its_teams_postmortems_and_items(alice, team_b, charlie, postmortem):
    services.action_item_create(postmortem=postmortem, by=alice, title="Alert on DB pool above 80%", owner=alice)
    MembershipFactory(user=alice, team=team_b)
    web = incidents.incident_declare(team=team_b, title="Web down", severity=2, by=charlie)
    incidents.incident_resolve(incident=web, by=charlie, reason="Fixed")
    web_postmortem = services.postmortem_create(incident=web)
    services.action_item_create(postmortem=web_postmortem, by=charlie, title="Add a web canary check", owner=charlie)
    _token, raw = token_create(user=alice, name="web bot", team=team_b)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [p["incident"] for p in api.get("/api/v1/postmortems/").json()["results"]] == [web.number]
    assert api.get(f"/api/v1/postmortems/{postmortem.incident.number}/").status_code == 404
    assert [i["title"] for i in api.get("/api/v1/action-items/").json()["results"]] == ["Add a web canary check"]

"""API for pages and escalation policies."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.test import APIClient

from oncall.models import EscalationPolicy, Page, PageEvent, WorkLog
from oncall.services import paging
from oncall.services.teams import token_create
from tests.factories import MembershipFactory
from tests.oncall.paging_fixtures import T0, layers, make_alert, minutes, payments_schedule, three_step_policy
from tests.oncall.schedule_fixtures import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(T0 + minutes(1), tick=False):
        yield


@pytest.fixture
def schedule(team_a, alice, bob):
    return payments_schedule(team_a, bob, alice)


@pytest.fixture
def policy(team_a, schedule, service_a):
    policy = three_step_policy(team_a, schedule)
    service_a.escalation_policy = policy
    service_a.save()
    return policy


@pytest.fixture
def page(policy, service_a):
    return paging.page_open(alert=make_alert(service_a), now=T0)


def test_pages_are_listed_with_filters_in_few_queries(api, bob, page, service_a, django_assert_max_num_queries):
    resolved = paging.page_open(alert=make_alert(service_a, dedup_key="old"), now=T0 - minutes(60))
    paging.page_resolve(page=resolved, by=bob, now=T0 - minutes(30))
    api.force_authenticate(bob)
    with django_assert_max_num_queries(4):
        rows = api.get("/api/v1/pages/").json()["results"]
    assert [r["id"] for r in rows] == [page.pk, resolved.pk]
    assert rows[0]["alert"]["title"] == "Checkout error rate above 5%" and rows[0]["service"] == "payments-api"
    assert [r["id"] for r in api.get("/api/v1/pages/", {"status": "open"}).json()["results"]] == [page.pk]
    assert [
        r["id"] for r in api.get("/api/v1/pages/", {"team": "payments", "status": "resolved"}).json()["results"]
    ] == [resolved.pk]
    assert api.get("/api/v1/pages/", {"status": "nonsense"}).json()["results"] == []


def test_a_page_shows_its_log_with_delivery_status(api, bob, page):
    api.force_authenticate(bob)
    data = api.get(f"/api/v1/pages/{page.pk}/").json()
    assert [e["kind"] for e in data["events"]] == ["triggered", "notified"]
    notified = data["events"][1]
    assert (notified["user"], notified["channel"], notified["delivery"]) == ("bob", "email", "pending")
    assert data["policy_snapshot"]["name"] == "Payments standard"


def test_acknowledge_resolve_and_escalate_through_the_api(api, alice, bob, page):
    api.force_authenticate(bob)
    escalated = api.post(f"/api/v1/pages/{page.pk}/escalate/")
    assert escalated.status_code == 200
    assert [e["user"] for e in escalated.json()["events"] if e["kind"] == "notified"] == ["bob", "alice"]

    response = api.post(f"/api/v1/pages/{page.pk}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged_by"] == "bob"
    assert api.post(f"/api/v1/pages/{page.pk}/acknowledge/").status_code == 200  # again by bob: no change

    api.force_authenticate(alice)
    conflict = api.post(f"/api/v1/pages/{page.pk}/acknowledge/")
    assert conflict.status_code == 409 and "already acknowledged" in conflict.json()["detail"]

    api.force_authenticate(bob)
    with time_machine.travel(T0 + minutes(40), tick=False):
        assert api.post(f"/api/v1/pages/{page.pk}/resolve/").json()["status"] == "resolved"
    again = api.post(f"/api/v1/pages/{page.pk}/resolve/")
    assert again.status_code == 409 and again.json()["detail"] == "This page is already resolved."
    assert api.post(f"/api/v1/pages/{page.pk}/escalate/").status_code == 409
    assert PageEvent.objects.filter(page=page, kind=PageEvent.Kind.ACKNOWLEDGED).count() == 1
    assert WorkLog.objects.get().user == bob


def test_a_token_acknowledges_a_page(api, bob, page):
    _token, raw = token_create(user=bob, name="pager app")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post(f"/api/v1/pages/{page.pk}/acknowledge/").status_code == 200
    page.refresh_from_db()
    assert page.acknowledged_by == bob


def test_a_token_for_another_team_does_not_reach_the_page(api, bob, page, team_b):
    MembershipFactory(user=bob, team=team_b)
    _token, raw = token_create(user=bob, name="web only", team=team_b)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/api/v1/pages/{page.pk}/").status_code == 404
    assert api.get("/api/v1/pages/").json()["results"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/pages/{page}/"),
        ("post", "/api/v1/pages/{page}/acknowledge/"),
        ("post", "/api/v1/pages/{page}/resolve/"),
        ("post", "/api/v1/pages/{page}/escalate/"),
        ("get", "/api/v1/escalation-policies/{policy}/"),
        ("put", "/api/v1/escalation-policies/{policy}/"),
        ("patch", "/api/v1/escalation-policies/{policy}/"),
        ("delete", "/api/v1/escalation-policies/{policy}/"),
    ],
)
def test_another_teams_member_gets_404(api, charlie, page, policy, method, path):
    api.force_authenticate(charlie)
    response = getattr(api, method)(path.format(page=page.pk, policy=policy.pk), {}, format="json")
    assert response.status_code == 404
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED and EscalationPolicy.objects.filter(pk=policy.pk).exists()


def test_another_teams_member_sees_no_pages_or_policies(api, charlie, page, policy):
    api.force_authenticate(charlie)
    assert api.get("/api/v1/pages/").json()["results"] == []
    assert api.get("/api/v1/escalation-policies/").json()["results"] == []
    assert api.get("/api/v1/pages/", {"team": "payments"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/pages/", "/api/v1/escalation-policies/"])
def test_signing_in_is_required(api, page, path):
    assert api.get(path).status_code in (401, 403)


# --- escalation policies ---------------------------------------------------------------


def body(schedule, **over):
    primary, _secondary = layers(schedule)
    data = {
        "team": "payments",
        "name": "Nights",
        "repeats": 2,
        "steps": [
            {"wait_minutes": 5, "targets": [{"kind": "layer", "layer": primary.pk}]},
            {
                "wait_minutes": 10,
                "only_critical": True,
                "window_start": "22:00",
                "window_end": "07:00",
                "weekdays": [5, 6],
                "targets": [{"kind": "managers"}, {"kind": "user", "user": "bob"}],
            },
        ],
    }
    return data | over


def test_a_manager_creates_and_replaces_a_policy_with_nested_steps(api, alice, schedule):
    api.force_authenticate(alice)
    response = api.post("/api/v1/escalation-policies/", body(schedule), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [s["position"] for s in data["steps"]] == [1, 2]
    assert data["steps"][1]["targets"] == [
        {"kind": "managers", "layer": None, "user": None},
        {"kind": "user", "layer": None, "user": "bob"},
    ]
    assert data["steps"][1]["window_start"] == "22:00:00" and data["steps"][1]["weekdays"] == [5, 6]

    changed = api.patch(
        f"/api/v1/escalation-policies/{data['id']}/",
        {"repeats": 0, "steps": [{"wait_minutes": 3, "targets": [{"kind": "managers"}]}]},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["repeats"] == 0 and [s["wait_minutes"] for s in changed.json()["steps"]] == [3]

    assert api.delete(f"/api/v1/escalation-policies/{data['id']}/").status_code == 204
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"steps": []}, "steps", "at least one step"),
        ({"steps": [{"wait_minutes": 5, "targets": []}]}, "steps", "at least one target"),
        ({"steps": [{"wait_minutes": 0, "targets": [{"kind": "managers"}]}]}, "steps", ""),
        ({"steps": [{"wait_minutes": 5, "targets": [{"kind": "layer"}]}]}, "steps", "which layer"),
        ({"steps": [{"wait_minutes": 5, "window_start": "22:00", "targets": [{"kind": "managers"}]}]}, "steps",
         "both the start and the end"),
        ({"steps": [{"wait_minutes": 5, "weekdays": [7], "targets": [{"kind": "managers"}]}]}, "steps", ""),
        ({"steps": [{"wait_minutes": 5, "targets": [{"kind": "user", "user": "charlie"}]}]}, "steps", ""),
        ({"repeats": 10}, "repeats", ""),
        ({"name": " "}, "name", ""),
        ({"team": "web"}, "team", ""),
    ],
)  # fmt: skip
def test_bad_policies_are_refused_with_a_reason_and_nothing_is_written(
    api, alice, charlie, schedule, change, field, message
):
    api.force_authenticate(alice)
    response = api.post("/api/v1/escalation-policies/", body(schedule, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert message in str(response.json()[field])
    assert not EscalationPolicy.objects.exists()


def test_a_layer_of_another_team_is_refused(api, alice, charlie, schedule, team_b):
    other = make_schedule(team_b, [charlie], slug="web-oncall")
    api.force_authenticate(alice)
    step = {"wait_minutes": 5, "targets": [{"kind": "layer", "layer": layers(other)[0].pk}]}
    response = api.post("/api/v1/escalation-policies/", body(schedule, steps=[step]), format="json")
    assert response.status_code == 400
    assert not EscalationPolicy.objects.exists()


def test_a_duplicate_name_is_refused(api, alice, policy, schedule):
    api.force_authenticate(alice)
    response = api.post("/api/v1/escalation-policies/", body(schedule, name=policy.name), format="json")
    assert response.status_code == 400 and "already has a policy named" in response.json()["name"][0]


def test_a_member_cannot_write_policies(api, bob, policy, schedule):
    api.force_authenticate(bob)
    assert api.post("/api/v1/escalation-policies/", body(schedule), format="json").status_code == 400
    assert api.patch(f"/api/v1/escalation-policies/{policy.pk}/", {"repeats": 0}, format="json").status_code == 400
    assert api.delete(f"/api/v1/escalation-policies/{policy.pk}/").status_code == 400
    policy.refresh_from_db()
    assert policy.repeats == 1 and EscalationPolicy.objects.count() == 1
    assert api.get(f"/api/v1/escalation-policies/{policy.pk}/").json()["services"] == ["payments-api"]


def test_a_policy_cannot_move_to_another_team(api, alice, policy, team_b, schedule):
    MembershipFactory(user=alice, team=team_b)
    api.force_authenticate(alice)
    response = api.put(f"/api/v1/escalation-policies/{policy.pk}/", body(schedule, team="web"), format="json")
    assert response.status_code == 400
    policy.refresh_from_db()
    assert policy.team.slug == "payments"

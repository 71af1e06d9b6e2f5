import pytest
import time_machine
from rest_framework.test import APIClient

from oncall.models import Layer, Override, SwapRequest
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule, utc

NOW = utc(2027, 1, 12, 10, 0)


@pytest.fixture
def carol(team_a):
    user = UserFactory(username="carol")
    MembershipFactory(user=user, team=team_a)
    return user


@pytest.fixture
def schedule(team_a, alice, bob, carol):
    return make_schedule(team_a, [alice, bob, carol])


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_who_is_on_call_now_and_at_an_instant(api, bob, schedule, at_now):
    api.force_authenticate(bob)
    now = {(r["layer"], r["user"]) for r in api.get("/api/v1/oncall/now/", {"team": "payments"}).json()}
    assert now == {("Primary", "bob"), ("Secondary", "carol")}
    later = api.get("/api/v1/oncall/now/", {"team": "payments", "at": "2027-01-18T08:30:00+00:00"}).json()
    assert {(r["layer"], r["user"]) for r in later} == {("Primary", "carol"), ("Secondary", "alice")}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [({}, 400, "team"), ({"team": "payments", "at": "yesterday"}, 400, "at"), ({"team": "web"}, 404, None)],
)
def test_on_call_now_bad_questions(api, bob, schedule, team_b, params, status, field):
    api.force_authenticate(bob)
    response = api.get("/api/v1/oncall/now/", params)
    assert response.status_code == status
    if field:
        assert field in response.json()


def test_outsider_gets_404_for_the_team_schedules_and_layers(api, charlie, schedule):
    api.force_authenticate(charlie)
    layer = schedule.layers.first()
    assert api.get("/api/v1/oncall/now/", {"team": "payments"}).status_code == 404
    assert api.get(f"/api/v1/schedules/{schedule.slug}/").status_code == 404
    assert api.get(f"/api/v1/schedules/{schedule.slug}/shifts/").status_code == 404
    assert api.get(f"/api/v1/layers/{layer.pk}/").status_code == 404
    assert api.patch(f"/api/v1/layers/{layer.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.get("/api/v1/schedules/").json()["results"] == []


def test_shifts_interval_is_bounded(api, bob, schedule):
    api.force_authenticate(bob)
    response = api.get(
        f"/api/v1/schedules/{schedule.slug}/shifts/", {"start": "2027-01-01T00:00:00Z", "end": "2027-06-01T00:00:00Z"}
    )
    assert response.status_code == 400
    assert "92 days" in response.json()["end"][0]


def test_member_covers_through_the_api_and_the_override_shows_in_shifts(api, bob, schedule, at_now):
    api.force_authenticate(bob)
    primary = schedule.layers.get(position=1)
    response = api.post(
        "/api/v1/overrides/",
        {"layer": primary.pk, "user": "bob", "start_at": "2027-01-19T10:00:00Z", "end_at": "2027-01-19T14:00:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    shifts = api.get(
        f"/api/v1/schedules/{schedule.slug}/shifts/", {"start": "2027-01-19T00:00:00Z", "end": "2027-01-20T00:00:00Z"}
    ).json()
    assert {"user": "bob", "is_override": True} in [
        {"user": s["user"], "is_override": s["is_override"]} for s in shifts if s["layer"] == primary.pk
    ]


def test_member_cannot_put_a_teammate_on_call_through_the_api(api, bob, schedule, at_now):
    api.force_authenticate(bob)
    response = api.post(
        "/api/v1/overrides/",
        {
            "layer": schedule.layers.first().pk,
            "user": "carol",
            "start_at": "2027-01-19T10:00:00Z",
            "end_at": "2027-01-19T14:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "Only managers" in response.json()["detail"]
    assert not Override.objects.exists()


def test_override_on_another_teams_layer_is_refused(api, charlie, schedule, at_now):
    api.force_authenticate(charlie)
    response = api.post(
        "/api/v1/overrides/",
        {
            "layer": schedule.layers.first().pk,
            "user": "charlie",
            "start_at": "2027-01-19T10:00:00Z",
            "end_at": "2027-01-19T14:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "layer" in response.json()
    assert not Override.objects.exists()


def test_swap_request_taken_through_the_api_answers_409_the_second_time(api, bob, carol, alice, schedule, at_now):
    api.force_authenticate(bob)
    created = api.post(
        "/api/v1/swap-requests/",
        {"layer": schedule.layers.first().pk, "start_at": "2027-01-20T09:00:00Z", "end_at": "2027-01-21T09:00:00Z"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["requester"] == "bob"
    api.force_authenticate(carol)
    taken = api.post(f"/api/v1/swap-requests/{created.json()['id']}/take/")
    assert taken.status_code == 200 and taken.json()["status"] == "taken"
    api.force_authenticate(alice)
    again = api.post(f"/api/v1/swap-requests/{created.json()['id']}/take/")
    assert again.status_code == 409
    assert SwapRequest.objects.get().taken_by == carol


def test_manager_creates_a_schedule_and_a_layer_through_the_api(api, alice, bob, carol, team_a):
    api.force_authenticate(alice)
    created = api.post(
        "/api/v1/schedules/", {"team": "payments", "name": "Database", "slug": "payments-db"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["time_zone"] == team_a.time_zone
    layer = api.post(
        "/api/v1/layers/",
        {
            "schedule": "payments-db",
            "name": "Primary",
            "shift_length": 12,
            "shift_unit": "hours",
            "rotation_start_date": "2027-01-04",
            "handoff_time": "09:00",
            "participants": ["bob", "carol"],
        },
        format="json",
    )
    assert layer.status_code == 201, layer.json()
    assert layer.json()["participants"] == ["bob", "carol"]
    assert Layer.objects.get(schedule__slug="payments-db").shift_unit == "hours"


def test_member_cannot_create_schedules_through_the_api(api, bob, team_a):
    api.force_authenticate(bob)
    response = api.post("/api/v1/schedules/", {"team": "payments", "name": "X", "slug": "x"}, format="json")
    assert response.status_code == 400
    assert "Only managers" in response.json()["detail"]

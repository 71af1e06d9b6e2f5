"""API for comp time: grants and their decision, work logs, policies, holidays, time taken, load report."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from oncall.models import CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, Override, WorkLog
from oncall.services import comptime as services
from oncall.services.teams import token_create
from tests.factories import CompTimeGrantFactory, MembershipFactory, TeamFactory
from tests.oncall.comptime_fixtures import MORNING_AFTER, TUESDAY, after, span
from tests.oncall.paging_fixtures import payments_schedule

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 8, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def grant(team_a, bob):
    return CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY)


@pytest.fixture
def bobs_log(team_a, bob):
    return span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))


@pytest.fixture
def holiday(team_a):
    return Holiday.objects.create(team=team_a, date=dt.date(2027, 11, 25), name="Thanksgiving")


def iso(instant: dt.datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


# --- access --------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", lambda f: f"/api/v1/comp-time-grants/{f['grant'].pk}/"),
    ("post", lambda f: f"/api/v1/comp-time-grants/{f['grant'].pk}/approve/"),
    ("post", lambda f: f"/api/v1/comp-time-grants/{f['grant'].pk}/decline/"),
    ("get", lambda f: f"/api/v1/work-logs/{f['log'].pk}/"),
    ("patch", lambda f: f"/api/v1/work-logs/{f['log'].pk}/"),
    ("delete", lambda f: f"/api/v1/work-logs/{f['log'].pk}/"),
    ("get", lambda f: "/api/v1/comp-time-policies/payments/"),
    ("patch", lambda f: "/api/v1/comp-time-policies/payments/"),
    ("get", lambda f: f"/api/v1/holidays/{f['holiday'].pk}/"),
    ("delete", lambda f: f"/api/v1/holidays/{f['holiday'].pk}/"),
    ("get", lambda f: "/api/v1/load-report/?team=payments"),
]


@pytest.fixture
def things(grant, bobs_log, holiday):
    return {"grant": grant, "log": bobs_log, "holiday": holiday}


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_another_teams_member_gets_404(api, charlie, alice, things, method, url):
    api.force_authenticate(charlie)
    data = {} if method == "get" else {"threshold_minutes": 5, "note": "x"}
    response = getattr(api, method)(url(things), data, format="json")
    assert response.status_code == 404
    things["grant"].refresh_from_db()
    assert things["grant"].status == "proposed"
    assert (WorkLog.objects.count(), Holiday.objects.count(), CompTimePolicy.objects.count()) == (1, 1, 0)


@pytest.mark.parametrize(
    "url", ["/api/v1/comp-time-grants/", "/api/v1/work-logs/", "/api/v1/holidays/", "/api/v1/comp-time-uses/"]
)
def test_lists_show_another_team_nothing(api, charlie, things, url):
    api.force_authenticate(charlie)
    assert api.get(url).json()["results"] == []
    assert [p["team"] for p in api.get("/api/v1/comp-time-policies/").json()] == ["web"]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_signing_in_is_required(api, things, method, url):
    assert getattr(api, method)(url(things)).status_code == 401


def test_a_team_scoped_token_reaches_only_its_team(api, team_a, bob, grant):
    other = TeamFactory(slug="other", time_zone="UTC")
    MembershipFactory(user=bob, team=other)
    CompTimeGrantFactory(user=bob, team=other, night_of=TUESDAY)
    _token, raw = token_create(user=bob, name="payroll", team=team_a)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [g["team"] for g in api.get("/api/v1/comp-time-grants/").json()["results"]] == ["payments"]


# --- grants --------------------------------------------------------------------------------


def test_members_list_their_own_grants_managers_their_teams(api, team_a, alice, bob, grant):
    CompTimeGrantFactory(user=alice, team=team_a, night_of=TUESDAY)
    api.force_authenticate(bob)
    assert [g["user"] for g in api.get("/api/v1/comp-time-grants/").json()["results"]] == ["bob"]
    api.force_authenticate(alice)
    rows = api.get("/api/v1/comp-time-grants/", {"status": "proposed"}).json()["results"]
    assert sorted(g["user"] for g in rows) == ["alice", "bob"]
    assert rows[0]["night_of"] == "2027-01-05" and rows[0]["hours"] == "4.0" and rows[0]["covers"] == []


def test_the_grant_list_costs_the_same_queries_for_more_grants(api, team_a, alice, bob, django_assert_num_queries):
    api.force_authenticate(alice)
    for i in range(6):
        CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY - dt.timedelta(days=i))
        # count, grants with people and team, covers
        with django_assert_num_queries(3):
            api.get("/api/v1/comp-time-grants/")


def test_a_manager_approves_with_hours_and_the_cover_becomes_an_override(api, team_a, alice, bob):
    payments_schedule(team_a, bob, alice)
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = CompTimeGrant.objects.get()
    api.force_authenticate(alice)
    with time_machine.travel(MORNING_AFTER, tick=False):
        response = api.post(f"/api/v1/comp-time-grants/{grant.pk}/approve/", {"hours": "5.0"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["hours"], body["decided_by"]) == ("approved", "5.0", "alice")
    assert body["covers"][0]["covered_by"] == "alice" and body["covers"][0]["proposed_user"] == "alice"
    assert Override.objects.get().user == alice


def test_deciding_twice_is_409(api, alice, grant):
    api.force_authenticate(alice)
    assert api.post(f"/api/v1/comp-time-grants/{grant.pk}/decline/", {"note": "A drill"}).status_code == 200
    response = api.post(f"/api/v1/comp-time-grants/{grant.pk}/approve/", {})
    assert response.status_code == 409
    assert response.json() == {"detail": "This grant is already declined."}


@pytest.mark.parametrize(
    ("who", "data", "status", "message"),
    [
        ("bob", {}, 400, "Only managers of Payments can decide comp time."),
        ("alice", {"hours": "30"}, 400, "Hours must be between 0.5 and 24."),
        ("alice", {"hours": "1.2"}, 400, "half-hour steps"),
        ("alice", {"cover_user": "charlie"}, 400, "does not exist"),
        ("alice", {"cover_user": "bob"}, 400, "taking the morning off"),
    ],
)
def test_bad_approvals_say_why_and_change_nothing(api, alice, bob, charlie, grant, who, data, status, message):
    api.force_authenticate({"alice": alice, "bob": bob}[who])
    response = api.post(f"/api/v1/comp-time-grants/{grant.pk}/approve/", data, format="json")
    assert response.status_code == status
    assert message in str(response.json())
    grant.refresh_from_db()
    assert (grant.status, str(grant.hours)) == ("proposed", "4.0")


# --- work logs -----------------------------------------------------------------------------


def test_a_person_logs_work_and_a_manager_logs_it_for_a_member(api, alice, bob):
    api.force_authenticate(bob)
    data = {"team": "payments", "start_at": iso(after(TUESDAY, 1)), "end_at": iso(after(TUESDAY, 2)), "note": "DB"}
    response = api.post("/api/v1/work-logs/", data, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["user"], response.json()["source"]) == ("bob", "manual")
    api.force_authenticate(alice)
    response = api.post("/api/v1/work-logs/", {**data, "user": "bob", "note": "Pairing"}, format="json")
    assert response.status_code == 201 and response.json()["created_by"] == "alice"
    assert WorkLog.objects.filter(user=bob).count() == 2


@pytest.mark.parametrize(
    ("who", "changes", "field", "message"),
    [
        ("bob", {"end_at": iso(after(TUESDAY, 0, 30))}, "end_at", "The end must be after the start."),
        ("bob", {"end_at": iso(NOW + dt.timedelta(hours=1)), "start_at": iso(NOW)}, "end_at", "has not ended yet"),
        ("bob", {"start_at": iso(after(TUESDAY, 1) - dt.timedelta(days=2))}, "end_at", "at most 24 hours"),
        ("bob", {"user": "alice"}, "detail", "Only managers of Payments can log work for someone else."),
        ("bob", {"team": "web"}, "team", "does not exist"),
        ("alice", {"user": "charlie"}, "user", "does not exist"),
        ("bob", {"start_at": "half past one"}, "start_at", "Datetime has wrong format"),
        ("bob", {"note": ""}, "note", "Say briefly"),
    ],
)
def test_bad_work_logs_say_why_and_nothing_is_written(api, alice, bob, charlie, who, changes, field, message):
    api.force_authenticate({"alice": alice, "bob": bob}[who])
    data = {"team": "payments", "start_at": iso(after(TUESDAY, 1)), "end_at": iso(after(TUESDAY, 2)), "note": "DB"}
    response = api.post("/api/v1/work-logs/", {**data, **changes}, format="json")
    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not WorkLog.objects.exists()


def test_work_logs_are_changed_and_removed_but_page_spans_are_not(api, team_a, bob, bobs_log):
    page_span = span(bob, team_a, after(TUESDAY, 3), after(TUESDAY, 4), source="page", reference="page:1")
    api.force_authenticate(bob)
    response = api.patch(f"/api/v1/work-logs/{bobs_log.pk}/", {"note": "Restarted it"}, format="json")
    assert response.status_code == 200 and response.json()["note"] == "Restarted it"
    response = api.patch(f"/api/v1/work-logs/{page_span.pk}/", {"note": "x"}, format="json")
    assert response.status_code == 400 and "cannot be changed" in response.json()["detail"]
    response = api.patch(f"/api/v1/work-logs/{bobs_log.pk}/", {"team": "payments", "user": "alice"}, format="json")
    assert response.status_code == 400
    assert api.delete(f"/api/v1/work-logs/{page_span.pk}/").status_code == 400
    assert api.delete(f"/api/v1/work-logs/{bobs_log.pk}/").status_code == 204
    assert list(WorkLog.objects.all()) == [page_span]


def test_members_see_only_their_own_work_logs(api, team_a, alice, bob, bobs_log):
    span(alice, team_a, after(TUESDAY, 3), after(TUESDAY, 4))
    api.force_authenticate(bob)
    assert [r["user"] for r in api.get("/api/v1/work-logs/").json()["results"]] == ["bob"]
    api.force_authenticate(alice)
    assert len(api.get("/api/v1/work-logs/", {"team__slug": "payments"}).json()["results"]) == 2


# --- policy, holidays, time taken ----------------------------------------------------------


def test_the_policy_reads_its_defaults_and_managers_change_it(api, alice, bob):
    api.force_authenticate(bob)
    policy = api.get("/api/v1/comp-time-policies/payments/").json()
    assert (policy["night_start"], policy["night_end"], policy["threshold_minutes"]) == ("22:00:00", "07:00:00", 60)
    assert policy["time_zone"] == "America/New_York"
    response = api.patch("/api/v1/comp-time-policies/payments/", {"threshold_minutes": 30}, format="json")
    assert response.status_code == 400 and "Only managers" in response.json()["detail"]
    api.force_authenticate(alice)
    response = api.patch("/api/v1/comp-time-policies/payments/", {"threshold_minutes": 90}, format="json")
    assert response.status_code == 200 and response.json()["threshold_minutes"] == 90
    response = api.patch("/api/v1/comp-time-policies/payments/", {"night_end": "22:00"}, format="json")
    assert response.status_code == 400 and "another time" in response.json()["night_end"][0]
    response = api.patch("/api/v1/comp-time-policies/payments/", {"grant_kind": "beer"}, format="json")
    assert response.status_code == 400 and "grant_kind" in response.json()
    assert CompTimePolicy.objects.get().threshold_minutes == 90


def test_managers_add_and_remove_holidays(api, alice, bob, holiday):
    api.force_authenticate(bob)
    response = api.post("/api/v1/holidays/", {"team": "payments", "date": "2027-12-25", "name": "Christmas"})
    assert response.status_code == 400 and "Only managers" in response.json()["detail"]
    api.force_authenticate(alice)
    response = api.post("/api/v1/holidays/", {"team": "payments", "date": "2027-11-25", "name": "Twice"})
    assert response.status_code == 400 and "already a holiday" in response.json()["date"][0]
    assert (
        api.post("/api/v1/holidays/", {"team": "payments", "date": "2027-12-25", "name": "Christmas"}).status_code
        == 201
    )
    assert api.delete(f"/api/v1/holidays/{holiday.pk}/").status_code == 204
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas"]


def test_managers_record_time_taken_within_the_balance(api, alice, bob, grant):
    services.comp_time_grant_decide(grant=grant, by=alice, status="approved", now=MORNING_AFTER)
    api.force_authenticate(alice)
    data = {"team": "payments", "user": "bob", "taken_on": "2027-01-06", "hours": "5.0"}
    response = api.post("/api/v1/comp-time-uses/", data, format="json")
    assert response.status_code == 400 and "Bob has 4.0 h left" in response.json()["hours"][0]
    assert api.post("/api/v1/comp-time-uses/", {**data, "hours": "4.0"}, format="json").status_code == 201
    api.force_authenticate(bob)
    assert [u["hours"] for u in api.get("/api/v1/comp-time-uses/").json()["results"]] == ["4.0"]
    response = api.post("/api/v1/comp-time-uses/", {**data, "hours": "1.0"}, format="json")
    assert response.status_code == 400
    assert CompTimeUse.objects.count() == 1


# --- load report ---------------------------------------------------------------------------


def test_the_load_report_has_the_figures_of_the_page(api, team_a, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    api.force_authenticate(alice)
    rows = api.get("/api/v1/load-report/", {"team": "payments", "month": "2027-01"}).json()
    assert [(r["month"], r["username"]) for r in rows] == [("2027-01", "alice"), ("2027-01", "bob")]
    assert rows[1]["hours_worked_after_hours"] == 1.3
    assert len(api.get("/api/v1/load-report/", {"team": "payments", "months": "6"}).json()) == 12


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({}, 400, "team"),
        ({"team": "payments", "month": "2027-1"}, 400, "month"),
        ({"team": "payments", "months": "25"}, 400, "months"),
    ],
)
def test_bad_load_report_requests_say_why(api, alice, params, status, field):
    api.force_authenticate(alice)
    response = api.get("/api/v1/load-report/", params)
    assert response.status_code == status and field in response.json()


def test_members_get_403_on_the_load_report(api, bob):
    api.force_authenticate(bob)
    response = api.get("/api/v1/load-report/", {"team": "payments"})
    assert response.status_code == 403
    assert "Only managers of Payments" in response.json()["detail"]

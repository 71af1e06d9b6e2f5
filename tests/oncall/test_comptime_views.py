"""Comp-time pages: my balance and work, the team's grants and policy, the load report and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from oncall.models import CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, Override, WorkLog
from oncall.services import comptime as services
from oncall.services import paging
from tests.factories import CompTimeGrantFactory, MembershipFactory, UserFactory
from tests.oncall.comptime_fixtures import MORNING_AFTER, TUESDAY, after, span
from tests.oncall.paging_fixtures import make_alert, payments_schedule, three_step_policy

pytestmark = pytest.mark.django_db

# Friday 2027-01-08 10:00 in New York: the week after Tuesday's night.
NOW = dt.datetime(2027, 1, 8, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def schedule(team_a, alice, bob):
    return payments_schedule(team_a, bob, alice)


@pytest.fixture
def grant(team_a, bob):
    return CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY)


@pytest.fixture
def holiday(team_a):
    return Holiday.objects.create(team=team_a, date=dt.date(2027, 11, 25), name="Thanksgiving")


@pytest.fixture
def bobs_log(team_a, bob):
    return span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))


TEAM_PAGES = [
    ("get", "oncall:team-comp-time", lambda f: ["payments"]),
    ("get", "oncall:comp-time-policy", lambda f: ["payments"]),
    ("post", "oncall:comp-time-policy", lambda f: ["payments"]),
    ("post", "oncall:comp-time-grant-decide", lambda f: ["payments", f["grant"].pk]),
    ("post", "oncall:comp-time-use-create", lambda f: ["payments"]),
    ("post", "oncall:comp-time-work-log-create", lambda f: ["payments"]),
    ("post", "oncall:comp-time-holiday-add", lambda f: ["payments"]),
    ("post", "oncall:comp-time-holiday-remove", lambda f: ["payments", f["holiday"].pk]),
    ("post", "oncall:work-log-delete", lambda f: [f["log"].pk]),
    ("get", "oncall:team-load", lambda f: ["payments"]),
]


@pytest.fixture
def things(grant, holiday, bobs_log):
    return {"grant": grant, "holiday": holiday, "log": bobs_log}


@pytest.mark.parametrize(("method", "name", "args"), TEAM_PAGES)
def test_another_teams_member_gets_404(client, charlie, alice, things, method, name, args):
    client.force_login(charlie)
    response = getattr(client, method)(
        reverse(name, args=args(things)), {"status": "approved", "g1-status": "approved"}
    )
    assert response.status_code == 404
    things["grant"].refresh_from_db()
    assert things["grant"].status == "proposed"
    assert (Holiday.objects.count(), WorkLog.objects.count(), CompTimeUse.objects.count()) == (1, 1, 0)


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [*TEAM_PAGES, ("get", "oncall:my-comp-time", lambda f: []), ("post", "oncall:my-comp-time", lambda f: [])],
)
def test_signing_in_is_required(client, things, method, name, args):
    response = getattr(client, method)(reverse(name, args=args(things)))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ["oncall:team-load", "oncall:comp-time-policy"])
def test_members_get_403_on_manager_pages(client, bob, name):
    client.force_login(bob)
    response = client.get(reverse(name, args=["payments"]))
    assert response.status_code == 403


# --- my comp time --------------------------------------------------------------------------


def test_my_page_shows_balance_grants_and_my_work(client, team_a, alice, bob, bobs_log):
    approved = CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY)
    services.comp_time_grant_decide(grant=approved, by=alice, status="approved", now=MORNING_AFTER)
    services.comp_time_use_create(team=team_a, user=bob, taken_on=dt.date(2027, 1, 7), hours="1.5", by=alice)
    CompTimeGrantFactory(user=alice, team=team_a, night_of=TUESDAY)  # not bob's
    with time_machine.travel(NOW, tick=False):
        client.force_login(bob)
        response = client.get(reverse("oncall:my-comp-time"))
    assert response.status_code == 200
    [section] = response.context["sections"]
    assert (section["balance"].granted, section["balance"].taken, section["balance"].left) == (
        Decimal("4.0"),
        Decimal("1.5"),
        Decimal("2.5"),
    )
    assert [g.user for g in section["grants"]] == [bob]
    assert list(response.context["logs"]) == [bobs_log]
    assert "2.5 h" in response.content.decode()


def work(**fields):
    data = {"team": "", "start": "2027-01-07T01:10", "end": "2027-01-07T02:40", "note": "Payouts stuck"}
    data.update(fields)
    return data


def test_a_person_logs_work_in_the_teams_local_time(client, team_a, bob, at_now):
    client.force_login(bob)
    response = client.post(reverse("oncall:my-comp-time"), work(team=team_a.pk))
    assert response.status_code == 302
    log = WorkLog.objects.get()
    assert (log.user, log.source, log.note) == (bob, "manual", "Payouts stuck")
    assert log.start_at == after(dt.date(2027, 1, 6), 1, 10)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"end": "2027-01-07T01:00"}, "The end must be after the start."),
        ({"start": "2027-01-08T09:00", "end": "2027-01-08T11:00"}, "has not ended yet"),
        ({"start": "2027-01-05T01:00"}, "at most 24 hours"),
        ({"note": ""}, "This field is required."),
        ({"start": "yesterday"}, "Enter a valid date/time."),
    ],
)
def test_bad_work_is_refused_with_a_clear_message(client, team_a, bob, at_now, fields, message):
    client.force_login(bob)
    response = client.post(reverse("oncall:my-comp-time"), work(team=team_a.pk, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WorkLog.objects.exists()


def test_work_cannot_be_logged_for_another_teams_team(client, team_b, bob, at_now):
    client.force_login(bob)
    response = client.post(reverse("oncall:my-comp-time"), work(team=team_b.pk))
    assert response.status_code == 400
    assert not WorkLog.objects.exists()


def test_a_person_removes_their_own_manual_log_but_not_a_page_span(client, team_a, bob, bobs_log):
    page_span = span(bob, team_a, after(TUESDAY, 3), after(TUESDAY, 4), source="page", reference="page:3")
    client.force_login(bob)
    assert client.post(reverse("oncall:work-log-delete", args=[bobs_log.pk])).status_code == 302
    response = client.post(reverse("oncall:work-log-delete", args=[page_span.pk]), follow=True)
    assert "cannot be changed" in response.content.decode()
    assert list(WorkLog.objects.all()) == [page_span]


def test_a_member_cannot_see_or_remove_a_teammates_log(client, team_a, alice, bob):
    alices = span(alice, team_a, after(TUESDAY, 1), after(TUESDAY, 2))
    client.force_login(bob)
    assert client.post(reverse("oncall:work-log-delete", args=[alices.pk])).status_code == 404
    assert WorkLog.objects.count() == 1


# --- the team page -------------------------------------------------------------------------


def test_members_see_only_their_own_grants_managers_see_all(client, team_a, alice, bob, grant):
    CompTimeGrantFactory(user=alice, team=team_a, night_of=TUESDAY)
    url = reverse("oncall:team-comp-time", args=["payments"])
    client.force_login(bob)
    response = client.get(url)
    assert [g.user for g, form in response.context["grants"]] == [bob]
    assert response.context["grants"][0][1] is None and "use_form" not in response.context
    client.force_login(alice)
    response = client.get(url)
    assert {g.user for g, _form in response.context["grants"]} == {alice, bob}
    assert "Approve" in response.content.decode()


def test_the_team_page_costs_the_same_queries_for_more_grants(
    client, team_a, alice, bob, grant, django_assert_num_queries
):
    url = reverse("oncall:team-comp-time", args=["payments"])
    client.force_login(alice)
    # session, user, team, manager check, grants, covers, members, two balance sums, policy,
    # work logs, uses, the two member choices of the manager's forms, holidays
    with django_assert_num_queries(15):
        client.get(url)
    for i in range(1, 6):
        CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY - dt.timedelta(days=i))
    with django_assert_num_queries(15):
        response = client.get(url)
    assert len(response.context["grants"]) == 6


def test_a_manager_approves_and_the_cover_becomes_an_override(client, team_a, schedule, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = CompTimeGrant.objects.get()
    with time_machine.travel(MORNING_AFTER, tick=False):
        client.force_login(alice)
        response = client.post(
            reverse("oncall:comp-time-grant-decide", args=["payments", grant.pk]),
            {f"g{grant.pk}-status": "approved", f"g{grant.pk}-hours": "5", f"g{grant.pk}-note": "Rest"},
        )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.status, grant.hours, grant.note) == ("approved", Decimal("5.0"), "Rest")
    assert Override.objects.get().user == alice


@pytest.mark.parametrize(
    ("who", "data", "message"),
    [
        ("alice", {"status": "approved", "hours": "99"}, "less than or equal to 24"),
        ("alice", {"status": "approved", "hours": "2.3"}, "half-hour steps"),
        ("alice", {"status": "whatever"}, "Select a valid choice"),
        ("bob", {"status": "approved"}, "Only managers of Payments can decide comp time."),
    ],
)
def test_bad_decisions_show_the_reason_and_change_nothing(client, alice, bob, grant, who, data, message):
    client.force_login({"alice": alice, "bob": bob}[who])
    response = client.post(
        reverse("oncall:comp-time-grant-decide", args=["payments", grant.pk]),
        {f"g{grant.pk}-{k}": v for k, v in data.items()},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    grant.refresh_from_db()
    assert (grant.status, grant.hours) == ("proposed", Decimal("4.0"))


def test_a_manager_records_time_taken_and_more_than_left_is_refused(client, team_a, alice, bob, grant):
    services.comp_time_grant_decide(grant=grant, by=alice, status="approved", now=MORNING_AFTER)
    client.force_login(alice)
    url = reverse("oncall:comp-time-use-create", args=["payments"])
    response = client.post(url, {"user": bob.pk, "taken_on": "2027-01-06", "hours": "5"})
    assert response.status_code == 400 and "Bob has 4.0 h left" in response.content.decode()
    assert not CompTimeUse.objects.exists()
    assert client.post(url, {"user": bob.pk, "taken_on": "2027-01-06", "hours": "3"}).status_code == 302
    assert CompTimeUse.objects.get().hours == Decimal("3.0")


def test_a_member_cannot_record_time_taken(client, bob, grant):
    client.force_login(bob)
    url = reverse("oncall:comp-time-use-create", args=["payments"])
    response = client.post(url, {"user": bob.pk, "taken_on": "2027-01-06", "hours": "1"})
    assert response.status_code == 400 and "Only managers" in response.content.decode()
    assert not CompTimeUse.objects.exists()


def test_a_manager_logs_work_for_a_member_and_a_member_cannot_for_others(client, team_a, alice, bob, at_now):
    url = reverse("oncall:comp-time-work-log-create", args=["payments"])
    data = {"user": bob.pk, "start": "2027-01-07T01:10", "end": "2027-01-07T02:40", "note": "Helped"}
    client.force_login(bob)
    response = client.post(url, {**data, "user": alice.pk})
    assert response.status_code == 400 and "Only managers" in response.content.decode()
    client.force_login(alice)
    assert client.post(url, data).status_code == 302
    log = WorkLog.objects.get()
    assert (log.user, log.created_by) == (bob, alice)


def test_holidays_are_added_and_removed_on_the_team_page(client, alice, bob, holiday):
    client.force_login(alice)
    add = reverse("oncall:comp-time-holiday-add", args=["payments"])
    assert client.post(add, {"date": "2027-12-25", "name": "Christmas"}).status_code == 302
    response = client.post(add, {"date": "2027-12-25", "name": "Again"})
    assert response.status_code == 400 and "already a holiday" in response.content.decode()
    assert client.post(add, {"date": "someday", "name": "x"}).status_code == 400
    client.force_login(bob)
    client.post(reverse("oncall:comp-time-holiday-remove", args=["payments", holiday.pk]))
    assert Holiday.objects.count() == 2
    client.force_login(alice)
    client.post(reverse("oncall:comp-time-holiday-remove", args=["payments", holiday.pk]))
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas"]


def test_a_manager_edits_the_policy_and_a_night_that_does_not_end_is_refused(client, team_a, alice):
    client.force_login(alice)
    url = reverse("oncall:comp-time-policy", args=["payments"])
    fields = {
        "night_start": "23:00",
        "night_end": "06:00",
        "count_weekends": "on",
        "threshold_minutes": "90",
        "grant_kind": "hours",
        "grant_hours": "3",
    }
    assert client.get(url).status_code == 200
    assert client.post(url, fields).status_code == 302
    policy = CompTimePolicy.objects.get(team=team_a)
    assert (policy.night_start, policy.count_holidays, policy.threshold_minutes) == (dt.time(23), False, 90)
    response = client.post(url, {**fields, "night_end": "23:00"})
    assert response.status_code == 400 and "end at another time" in response.content.decode()
    policy.refresh_from_db()
    assert policy.night_end == dt.time(6)


# --- the load report -----------------------------------------------------------------------

FEBRUARY = dt.datetime(2027, 2, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def january(team_a, schedule, service_a, alice, bob):
    """A night page for bob in January, his 80 minutes of work, 4 h approved and 2 h taken."""
    CompTimePolicy.objects.create(team=team_a, grant_kind="hours")
    service_a.escalation_policy = three_step_policy(team_a, schedule)
    service_a.save()
    paged = after(TUESDAY, 1, 30)
    page = paging.page_open(alert=make_alert(service_a, at=paged), now=paged)
    paging.page_acknowledge(page=page, by=bob, now=paged)
    paging.page_resolve(page=page, by=bob, now=after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    services.comp_time_grant_decide(grant=CompTimeGrant.objects.get(), by=alice, status="approved", now=MORNING_AFTER)
    services.comp_time_use_create(team=team_a, user=bob, taken_on=dt.date(2027, 1, 8), hours="2", by=alice)


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_has_one_row_per_person_for_the_month(client, alice, january):
    with time_machine.travel(FEBRUARY, tick=False):
        client.force_login(alice)
        response = client.get(reverse("oncall:team-load", args=["payments"]), {"month": "2027-01", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="payments-load-2027-01.csv"' in response["Content-Disposition"]
    # Both rotate weekly from Monday 4 January 09:00: two weeks primary and two secondary each,
    # the last clipped at 1 February 00:00 local: 3 x 168 + 159 hours.
    assert csv_rows(response) == [
        [
            "month",
            "team",
            "username",
            "name",
            "shifts",
            "hours_on_call",
            "pages",
            "night_pages",
            "hours_worked_after_hours",
            "comp_hours_granted",
            "comp_hours_pending",
            "comp_hours_taken",
        ],
        ["2027-01", "payments", "alice", "Alice", "4", "663.0", "0", "0", "0.0", "0.0", "0.0", "0.0"],
        ["2027-01", "payments", "bob", "Bob", "4", "663.0", "1", "1", "1.3", "4.0", "0.0", "2.0"],
    ]


def test_the_csv_can_cover_several_months(client, alice, january):
    with time_machine.travel(FEBRUARY, tick=False):
        client.force_login(alice)
        response = client.get(
            reverse("oncall:team-load", args=["payments"]), {"month": "2027-02", "format": "csv", "months": "3"}
        )
    rows = csv_rows(response)[1:]
    assert [(r[0], r[2]) for r in rows] == [
        ("2026-12", "alice"),
        ("2026-12", "bob"),
        ("2027-01", "alice"),
        ("2027-01", "bob"),
        ("2027-02", "alice"),
        ("2027-02", "bob"),
    ]
    # February so far: 00:00 to 12:00 local (now), nine hours on one layer and three on the other.
    assert [r[5] for r in rows[4:]] == ["12.0", "12.0"]


def test_a_name_that_looks_like_a_formula_is_defused_in_the_csv(client, team_a, alice):
    MembershipFactory(user=UserFactory(username="mallory", first_name="=HYPERLINK(1)"), team=team_a)
    with time_machine.travel(FEBRUARY, tick=False):
        client.force_login(alice)
        response = client.get(reverse("oncall:team-load", args=["payments"]), {"format": "csv"})
    assert [r[3] for r in csv_rows(response)[1:] if r[2] == "mallory"] == ["'=HYPERLINK(1)"]


def test_the_report_page_shows_the_month_and_six_month_charts(client, alice, january):
    with time_machine.travel(FEBRUARY, tick=False):
        client.force_login(alice)
        response = client.get(reverse("oncall:team-load", args=["payments"]), {"month": "2027-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Load report · January 2027" in html
    bob = next(p for p in response.context["people"] if p["user"].username == "bob")
    assert [r.month for r in bob["months"]] == [dt.date(2026, m, 1) for m in (8, 9, 10, 11, 12)] + [dt.date(2027, 1, 1)]
    assert (bob["current"].night_pages, bob["current"].after_hours_hours) == (1, 1.3)
    assert html.count("<svg") == 4  # two charts for each of two people
    assert "After-hours work, h per month: Aug 0, Sep 0, Oct 0, Nov 0, Dec 0, Jan 1.3" in html


@pytest.mark.parametrize(
    "params", [{"month": "2027-13"}, {"month": "January"}, {"months": "0", "format": "csv"}, {"months": "x"}]
)
def test_a_bad_month_is_a_400_with_the_reason(client, alice, params):
    client.force_login(alice)
    response = client.get(reverse("oncall:team-load", args=["payments"]), params)
    assert response.status_code == 400
    assert "YYYY-MM" in response.content.decode() or "1 to 24" in response.content.decode()


def test_the_report_costs_the_same_queries_for_more_people(
    client, team_a, alice, bob, january, django_assert_num_queries
):
    url = reverse("oncall:team-load", args=["payments"])
    with time_machine.travel(FEBRUARY, tick=False):
        client.force_login(alice)
        # session, user, team, manager check, members, policy, holidays, schedules, layers,
        # participants, overrides, page events, work logs, grants, uses
        with django_assert_num_queries(15):
            client.get(url, {"month": "2027-01"})
        for name in ("erin", "frank", "grace"):
            MembershipFactory(user=UserFactory(username=name), team=team_a)
            span(UserFactory(username=name), team_a, after(TUESDAY, 1), after(TUESDAY, 2))
        with django_assert_num_queries(15):
            response = client.get(url, {"month": "2027-01"})
    assert len(response.context["people"]) == 5

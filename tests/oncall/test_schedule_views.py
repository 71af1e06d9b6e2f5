import datetime as dt
from bisect import bisect_right

import icalendar
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from oncall.models import Layer, Override, SwapRequest
from oncall.services import schedules as services
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule, utc

DASH = "\N{EN DASH}"
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
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_team_page_shows_who_is_on_call_per_layer(client, bob, schedule, at_now):
    client.force_login(bob)
    response = client.get(reverse("oncall:team-oncall", args=["payments"]))
    assert response.status_code == 200
    now = {(row.layer.name, row.user.username) for row in response.context["on_call"]}
    assert now == {("Primary", "bob"), ("Secondary", "carol")}
    assert len(response.context["calendars"][0][1]) == 28


def test_a_layer_with_nobody_shows_a_gap(client, alice, schedule, at_now):
    schedule.layers.get(position=2).participants.all().delete()
    client.force_login(alice)
    response = client.get(reverse("oncall:schedule-detail", args=[schedule.slug]))
    assert b"Nobody on call" in response.content
    assert all(day.has_gap for day in response.context["calendar"])


SCHEDULE_PAGES = [
    ("get", "oncall:team-oncall", lambda s: ["payments"]),
    ("get", "oncall:schedule-detail", lambda s: [s.slug]),
    ("get", "oncall:layer-create", lambda s: [s.slug]),
    ("get", "oncall:layer-edit", lambda s: [s.slug, s.layers.first().pk]),
    ("post", "oncall:override-create", lambda s: [s.slug]),
    ("post", "oncall:swap-create", lambda s: [s.slug]),
    ("post", "oncall:schedule-feed-rotate", lambda s: [s.slug]),
    ("get", "oncall:schedule-create", lambda s: ["payments"]),
]


@pytest.mark.parametrize(("method", "name", "args"), SCHEDULE_PAGES)
def test_outsider_gets_404_on_every_schedule_page(client, charlie, schedule, method, name, args):
    client.force_login(charlie)
    response = getattr(client, method)(reverse(name, args=args(schedule)))
    assert response.status_code == 404


def test_outsider_gets_404_for_overrides_and_swaps(client, charlie, bob, schedule, at_now):
    primary = schedule.layers.get(position=1)
    o = services.override_create(layer=primary, user=bob, start_at=utc(2027, 1, 13), end_at=utc(2027, 1, 14), by=bob)
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20), end_at=utc(2027, 1, 21), by=bob
    )
    client.force_login(charlie)
    assert client.post(reverse("oncall:override-delete", args=[schedule.slug, o.pk])).status_code == 404
    assert client.post(reverse("oncall:swap-decide", args=[schedule.slug, swap.pk, "take"])).status_code == 404
    assert Override.objects.count() == 1
    assert SwapRequest.objects.get().status == "open"


def test_layer_preview_shows_before_and_after_without_saving(client, alice, schedule, at_now):
    layer = schedule.layers.get(position=1)
    client.force_login(alice)
    response = client.post(
        reverse("oncall:layer-edit", args=[schedule.slug, layer.pk]),
        {
            "name": "Primary",
            "participants": "carol, alice",
            "shift_length": "1",
            "shift_unit": "days",
            "rotation_start_date": "2027-01-04",
            "handoff_time": "09:00",
            "preview": "1",
        },
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert {r["user"].username for r in preview["after"]} == {"carol", "alice"}
    assert preview["before"][0]["user"].username == "bob"
    # The preview runs past the next DST change (2027-03-28 in Berlin), where a daily shift is 23 hours.
    assert preview["dst_change"] == utc(2027, 3, 28, 1, 0)
    assert 23.0 in {r["hours"] for r in preview["after"]}
    assert list(layer.participants.values_list("user__username", flat=True)) == ["alice", "bob", "carol"]


def test_saving_a_layer_with_an_outsider_shows_the_error_and_writes_nothing(client, alice, charlie, schedule):
    layer = schedule.layers.get(position=1)
    client.force_login(alice)
    response = client.post(
        reverse("oncall:layer-edit", args=[schedule.slug, layer.pk]),
        {
            "name": "Primary",
            "participants": "charlie",
            "shift_length": "1",
            "shift_unit": "weeks",
            "rotation_start_date": "2027-01-04",
            "handoff_time": "09:00",
            "save": "1",
        },
    )
    assert response.status_code == 200
    assert b"Not members of Payments: charlie" in response.content
    assert layer.participants.count() == 3


def test_member_cannot_edit_layers(client, bob, schedule):
    layer = schedule.layers.get(position=1)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:layer-edit", args=[schedule.slug, layer.pk]),
        {
            "name": "Mine",
            "participants": "bob",
            "shift_length": "1",
            "shift_unit": "weeks",
            "rotation_start_date": "2027-01-04",
            "handoff_time": "09:00",
            "save": "1",
        },
    )
    assert b"Only managers" in response.content
    assert Layer.objects.get(pk=layer.pk).name == "Primary"


def test_override_form_reads_local_time_in_the_schedule_zone(client, bob, schedule, at_now):
    layer = schedule.layers.get(position=1)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:override-create", args=[schedule.slug]),
        {"layer": layer.pk, "user": bob.pk, "start": "2027-01-13T18:00", "end": "2027-01-13T22:00"},
    )
    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.start_at, override.end_at) == (utc(2027, 1, 13, 17), utc(2027, 1, 13, 21))


def test_an_override_at_a_time_missing_in_the_readers_zone_follows_the_schedule_zone(client, bob, schedule, at_now):
    # 02:30 on 2027-03-14 does not exist in New York (bob's zone) but does in Berlin.
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    layer = schedule.layers.get(position=1)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:override-create", args=[schedule.slug]),
        {"layer": layer.pk, "user": bob.pk, "start": "2027-03-14T02:30", "end": "2027-03-14T05:00"},
    )
    assert response.status_code == 302
    assert Override.objects.get().start_at == utc(2027, 3, 14, 1, 30)


def test_override_with_the_end_before_the_start_is_refused(client, bob, schedule, at_now):
    layer = schedule.layers.get(position=1)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:override-create", args=[schedule.slug]),
        {"layer": layer.pk, "user": bob.pk, "start": "2027-01-13T22:00", "end": "2027-01-13T18:00"},
    )
    assert response.status_code == 400
    assert b"The end must be after the start" in response.content
    assert not Override.objects.exists()


def test_take_and_cancel_from_the_page(client, bob, carol, schedule, at_now):
    layer = schedule.layers.get(position=1)
    swap = services.swap_request_create(
        layer=layer, requester=bob, start_at=utc(2027, 1, 20), end_at=utc(2027, 1, 21), by=bob
    )
    client.force_login(carol)
    client.post(reverse("oncall:swap-decide", args=[schedule.slug, swap.pk, "take"]))
    swap.refresh_from_db()
    assert swap.status == "taken" and swap.taken_by == carol
    again = client.post(reverse("oncall:swap-decide", args=[schedule.slug, swap.pk, "take"]), follow=True)
    assert b"already taken" in again.content


def test_my_shifts_lists_my_coming_shifts(client, carol, schedule, at_now):
    client.force_login(carol)
    response = client.get(reverse("oncall:my-shifts"))
    layers = [s.layer.name for s, _start, _end in response.context["shifts"]]
    assert layers[0] == "Secondary"
    assert "Primary" in layers


def test_schedule_feed_needs_only_its_secret_and_names_the_schedule(client, schedule, at_now):
    response = client.get(reverse("oncall:schedule-feed", args=[schedule.feed_secret]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    assert summaries and all("Payments on-call" in s for s in summaries)


def test_rotating_a_feed_secret_retires_the_old_address(client, bob, schedule):
    old = schedule.feed_secret
    client.force_login(bob)
    client.post(reverse("oncall:schedule-feed-rotate", args=[schedule.slug]))
    client.logout()
    assert client.get(reverse("oncall:schedule-feed", args=[old])).status_code == 404
    schedule.refresh_from_db()
    assert client.get(reverse("oncall:schedule-feed", args=[schedule.feed_secret])).status_code == 200


def test_unknown_feed_secret_is_404(client, db):
    assert client.get(reverse("oncall:person-feed", args=["nope"])).status_code == 404


def _who(intervals: list[tuple[dt.datetime, dt.datetime, str | None]], instant: dt.datetime) -> str | None:
    starts = [start for start, _end, _who in intervals]
    i = bisect_right(starts, instant) - 1
    if i < 0:
        return None
    start, end, who = intervals[i]
    return who if start <= instant < end else None


def test_api_web_and_ical_agree_minute_by_minute_over_two_weeks(client, alice, bob, carol, schedule, at_now):
    """One final schedule for every reader: overrides and a taken swap show the same everywhere."""
    primary = schedule.layers.get(position=1)
    services.override_create(
        layer=primary, user=carol, start_at=utc(2027, 1, 13, 17, 30), end_at=utc(2027, 1, 14, 2, 15), by=alice
    )
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 15, 8), end_at=utc(2027, 1, 16, 20), by=bob
    )
    services.swap_request_take(swap=swap, by=alice)
    start, end = utc(2027, 1, 12, 0, 0), utc(2027, 1, 26, 0, 0)

    api = APIClient()
    api.force_authenticate(bob)
    rows = api.get(
        f"/api/v1/schedules/{schedule.slug}/shifts/", {"start": start.isoformat(), "end": end.isoformat()}
    ).json()
    from_api = sorted(
        (dt.datetime.fromisoformat(r["start"]), dt.datetime.fromisoformat(r["end"]), r["user"])
        for r in rows
        if r["layer"] == primary.pk
    )

    client.force_login(bob)
    page = client.get(reverse("oncall:schedule-detail", args=[schedule.slug]))
    from_web = sorted(
        (seg.start.astimezone(dt.UTC), seg.end.astimezone(dt.UTC), seg.user.username if seg.user else None)
        for day in page.context["calendar"]
        for seg in day.segments
        if seg.layer.pk == primary.pk
    )

    feed = icalendar.Calendar.from_ical(
        client.get(reverse("oncall:schedule-feed", args=[schedule.feed_secret])).content
    )
    names = {str(u): u.username for u in (alice, bob, carol)}
    from_ical = sorted(
        (
            e.decoded("dtstart").astimezone(dt.UTC),
            e.decoded("dtend").astimezone(dt.UTC),
            names[str(e["summary"]).split(" on call")[0]],
        )
        for e in feed.walk("VEVENT")
        if str(e["summary"]).endswith(f"({primary.name})")
    )
    checked = 0
    minute = start
    while minute < end:
        expected = _who(from_api, minute)
        assert _who(from_web, minute) == expected, minute
        assert _who(from_ical, minute) == expected, minute
        checked += 1
        minute += dt.timedelta(minutes=1)
    assert checked == 14 * 24 * 60
    assert _who(from_api, utc(2027, 1, 13, 20)) == "carol"
    assert _who(from_api, utc(2027, 1, 15, 12)) == "alice"


def test_the_calendar_shows_handoffs_in_the_schedule_time_zone(client, bob, schedule, at_now):
    # Berlin's Monday 09:00 handoff is 08:00 UTC; bob's own zone must not shift the calendar.
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    client.force_login(bob)
    content = client.get(reverse("oncall:schedule-detail", args=[schedule.slug])).content.decode()
    assert f"{DASH}09:00" in content
    assert f"{DASH}08:00" not in content and f"{DASH}03:00" not in content


def test_my_shifts_are_shown_in_my_own_time_zone(client, bob, schedule, at_now):
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    client.force_login(bob)
    content = client.get(reverse("oncall:my-shifts")).content.decode()
    # bob's primary week ends Monday 2027-01-18 09:00 Berlin = 03:00 New York.
    assert "Mon 18 Jan 03:00" in content


def _detail_queries(client, schedule) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("oncall:schedule-detail", args=[schedule.slug])).status_code == 200
    return len(queries)


def test_schedule_page_costs_the_same_queries_for_one_and_three_cover_requests(
    client, bob, alice, carol, schedule, at_now
):
    primary = schedule.layers.get(position=1)
    services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 20, 17), by=bob, now=NOW
    )
    client.force_login(bob)
    one = _detail_queries(client, schedule)
    for day in (21, 22):
        services.swap_request_create(
            layer=primary, requester=bob, start_at=utc(2027, 1, day, 9), end_at=utc(2027, 1, day, 17), by=bob, now=NOW
        )
    assert _detail_queries(client, schedule) == one

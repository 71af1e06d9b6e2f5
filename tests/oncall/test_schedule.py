"""The rule module: who is on call when, exact across DST changes."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.comptime import NightRule, load_by_user
from oncall.schedule import (
    LayerRule,
    OverrideRule,
    fairest_takers,
    final_shifts,
    handoff_at,
    local_to_utc,
    next_handoff,
    on_call_at,
    rotation_shifts,
)

ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo"]
HOUR = dt.timedelta(hours=1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def weekly(tz: str, start: dt.date, handoff: dt.time = dt.time(9), people: tuple[int, ...] = (1, 2, 3)) -> LayerRule:
    return LayerRule(1, tz, start, handoff, 1, "weeks", people)


def daily(tz: str, start: dt.date, handoff: dt.time = dt.time(9), people: tuple[int, ...] = (1, 2)) -> LayerRule:
    return LayerRule(1, tz, start, handoff, 1, "days", people)


layers = st.builds(
    LayerRule,
    layer_id=st.just(1),
    time_zone=st.sampled_from(ZONES),
    rotation_start_date=st.dates(dt.date(2026, 1, 1), dt.date(2028, 12, 31)),
    handoff_time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    shift_length=st.integers(1, 14),
    shift_unit=st.sampled_from(["hours", "days", "weeks"]),
    participants=st.lists(st.integers(1, 9), min_size=1, max_size=5).map(tuple),
)
instants = st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2029, 6, 30), timezones=st.just(dt.UTC))


@st.composite
def overrides_for(draw: st.DrawFn, around: dt.datetime) -> list[OverrideRule]:
    found = []
    for _ in range(draw(st.integers(0, 4))):
        # Starting before `around` and lasting up to twice as long, about half of them
        # cover it, so overlapping overrides are common.
        offset = draw(st.integers(-72 * 60, 0))
        length = draw(st.integers(1, 144 * 60))
        start = around + dt.timedelta(minutes=offset)
        found.append(OverrideRule(1, draw(st.integers(20, 25)), start, start + dt.timedelta(minutes=length)))
    return found


# --- local wall-clock time ----------------------------------------------------------


def test_a_handoff_time_skipped_by_spring_forward_happens_when_the_clocks_jump():
    # Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never happens.
    assert local_to_utc(dt.datetime(2027, 3, 28, 2, 30), "Europe/Berlin") == utc(2027, 3, 28, 1)
    assert local_to_utc(dt.datetime(2027, 3, 14, 2, 30), "America/New_York") == utc(2027, 3, 14, 7)


def test_a_handoff_time_that_happens_twice_uses_the_first():
    # Berlin, 2027-10-31: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    assert local_to_utc(dt.datetime(2027, 10, 31, 2, 30), "Europe/Berlin") == utc(2027, 10, 31, 0, 30)
    assert local_to_utc(dt.datetime(2027, 11, 7, 1, 30), "America/New_York") == utc(2027, 11, 7, 5, 30)


@given(st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2029, 1, 1)), st.sampled_from(ZONES))
def test_local_to_utc_reads_back_the_same_wall_clock_unless_it_did_not_exist(naive, tz):
    naive = naive.replace(microsecond=0)
    instant = local_to_utc(naive, tz)
    back = instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    if back != naive:
        # Only a time in a spring-forward gap moves, and then to the first instant after the jump.
        assert back > naive
        assert (instant - dt.timedelta(seconds=1)).astimezone(ZoneInfo(tz)).replace(tzinfo=None) < naive
    assert instant.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("tz", "monday", "hours"),
    [
        ("Europe/Berlin", dt.date(2027, 3, 22), 167),
        ("Europe/Berlin", dt.date(2027, 10, 25), 169),
        ("America/New_York", dt.date(2027, 3, 8), 167),
        ("America/New_York", dt.date(2027, 11, 1), 169),
        ("Europe/Berlin", dt.date(2027, 6, 7), 168),
    ],
)
def test_a_weekly_shift_in_a_dst_week_keeps_monday_nine_local(tz, monday, hours):
    layer = weekly(tz, dt.date(2027, 1, 4))
    shifts = rotation_shifts(layer, local_to_utc(dt.datetime.combine(monday, dt.time(9)), tz), utc(2028, 1, 1))
    week = shifts[0]
    assert week.seconds == hours * 3600
    for edge in (week.start, week.end):
        local = edge.astimezone(ZoneInfo(tz))
        assert (local.weekday(), local.time()) == (0, dt.time(9))


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Berlin", dt.date(2027, 3, 27), 23),
        ("Europe/Berlin", dt.date(2027, 10, 30), 25),
        ("America/New_York", dt.date(2027, 3, 13), 23),
        ("America/New_York", dt.date(2027, 11, 6), 25),
    ],
)
def test_a_daily_shift_over_a_dst_night_is_23_or_25_hours(tz, day, hours):
    layer = daily(tz, dt.date(2027, 1, 1))
    start = local_to_utc(dt.datetime.combine(day, dt.time(9)), tz)
    assert rotation_shifts(layer, start, start + dt.timedelta(days=3))[0].seconds == hours * 3600


def test_twelve_hour_shifts_stay_at_nine_and_twenty_one_across_dst():
    layer = LayerRule(1, "Europe/Berlin", dt.date(2027, 3, 20), dt.time(9), 12, "hours", (1, 2))
    shifts = rotation_shifts(layer, utc(2027, 3, 25), utc(2027, 4, 2))
    local_times = {s.start.astimezone(ZoneInfo("Europe/Berlin")).time() for s in shifts[1:]}
    assert local_times == {dt.time(9), dt.time(21)}


def test_a_handoff_at_a_missing_time_happens_when_the_clocks_jump_and_the_next_is_at_the_usual_time():
    layer = daily("Europe/Berlin", dt.date(2027, 3, 1), handoff=dt.time(2, 30))
    assert handoff_at(layer, 27) == utc(2027, 3, 28, 1)  # 03:00 CEST
    assert handoff_at(layer, 28) == utc(2027, 3, 29, 0, 30)  # 02:30 CEST
    assert on_call_at(layer, [], utc(2027, 3, 28, 0, 59)) != on_call_at(layer, [], utc(2027, 3, 28, 1))


# --- properties -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(layers, instants)
def test_exactly_one_participant_is_on_call_after_the_first_handoff(layer, instant):
    who = on_call_at(layer, [], instant)
    if instant >= handoff_at(layer, 0):
        assert who in layer.participants
    else:
        assert who is None


@settings(max_examples=200, deadline=None)
@given(layers, st.integers(0, 400))
def test_every_handoff_is_at_the_chosen_local_time(layer, k):
    zone = ZoneInfo(layer.time_zone)
    instant = handoff_at(layer, k)
    expected = dt.datetime.combine(layer.rotation_start_date, layer.handoff_time)
    if layer.shift_unit == "hours":
        expected += dt.timedelta(hours=k * layer.shift_length)
    else:
        expected += dt.timedelta(days=k * layer.shift_length * (7 if layer.shift_unit == "weeks" else 1))
    local = instant.astimezone(zone).replace(tzinfo=None)
    in_gap = expected.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != expected
    if in_gap:
        # The wall-clock time never happened that day: the handoff is the instant the clocks jump.
        before = (instant - dt.timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
        assert before < expected < local
    else:
        assert local == expected


@settings(max_examples=200, deadline=None)
@given(layers, instants, st.integers(1, 21 * 24), st.data())
def test_final_shifts_tile_the_interval_and_agree_with_on_call_at(layer, start, hours, data):
    end = start + dt.timedelta(hours=hours)
    overrides = data.draw(overrides_for(start))
    shifts = final_shifts(layer, overrides, start, end)
    assert shifts[0].start == start and shifts[-1].end == end
    for before, after in itertools.pairwise(shifts):
        assert before.end == after.start
        assert (before.user_id, before.is_override) != (after.user_id, after.is_override)
    for shift in shifts:
        assert shift.end > shift.start
        for probe in (shift.start, shift.start + (shift.end - shift.start) / 2, shift.end - dt.timedelta(seconds=1)):
            assert on_call_at(layer, overrides, probe) == shift.user_id


@settings(max_examples=200, deadline=None)
@given(layers, instants, st.data())
def test_the_newest_override_covering_an_instant_wins(layer, instant, data):
    overrides = data.draw(overrides_for(instant))
    covering = [o for o in overrides if o.start <= instant < o.end]
    who = on_call_at(layer, overrides, instant)
    if covering:
        assert who == covering[-1].user_id
    else:
        assert who == on_call_at(layer, [], instant)


def test_an_override_on_another_layer_changes_nothing_here():
    layer = weekly("UTC", dt.date(2027, 1, 4))
    elsewhere = OverrideRule(2, 99, utc(2027, 1, 5), utc(2027, 1, 6))
    assert on_call_at(layer, [elsewhere], utc(2027, 1, 5, 12)) == 1


def test_a_layer_without_participants_is_one_gap():
    layer = weekly("UTC", dt.date(2027, 1, 4), people=())
    [gap] = final_shifts(layer, [], utc(2027, 1, 1), utc(2027, 2, 1))
    assert gap.user_id is None
    assert next_handoff(layer, utc(2027, 1, 1)) is None


@settings(max_examples=200, deadline=None)
@given(layers, instants)
def test_next_handoff_is_the_next_change_of_rotation_shift(layer, instant):
    nxt = next_handoff(layer, instant)
    assert nxt is not None and nxt > instant
    shifts = rotation_shifts(layer, instant, nxt + HOUR)
    assert shifts[0].end == nxt


# --- fairness --------------------------------------------------------------------


def test_fairest_takers_put_the_least_loaded_first():
    layer = daily("UTC", dt.date(2027, 1, 4), people=(1, 2))
    shifts = final_shifts(
        layer, [OverrideRule(1, 2, utc(2027, 1, 9), utc(2027, 1, 11))], utc(2027, 1, 4), utc(2027, 1, 18)
    )
    load = load_by_user(shifts, NightRule(time_zone="UTC"))
    # 2 covered a weekend, so 1 and the newcomer 3 come first; 3 has no load at all.
    assert fairest_takers([2, 1, 3], load) == [3, 1, 2]

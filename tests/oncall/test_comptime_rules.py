"""The after-hours rules: windows in the team's zone, DST in real minutes, merged spans, properties."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall import comptime as rules
from oncall.comptime import NightRule, Span
from oncall.schedule import Shift

NY = NightRule(time_zone="America/New_York")
BERLIN = NightRule(time_zone="Europe/Berlin")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def hours(span: Span) -> float:
    return span.seconds / 3600


# --- windows -------------------------------------------------------------------------------


def test_a_weeknight_runs_from_22_to_07_in_the_team_zone():
    # Tuesday 2027-01-05 in New York (UTC-5).
    assert rules.night_window(NY, dt.date(2027, 1, 5)) == Span(utc(2027, 1, 6, 3), utc(2027, 1, 6, 12))


def test_a_night_across_the_fall_back_change_lasts_ten_real_hours():
    # New York falls back at 02:00 on Sunday 2027-11-07; weekends not counted, to see the bare night.
    rule = NightRule(time_zone="America/New_York", count_weekends=False)
    window = rules.night_window(rule, dt.date(2027, 11, 6))
    assert window == Span(utc(2027, 11, 7, 2), utc(2027, 11, 7, 12))
    assert hours(window) == 10


def test_a_night_across_the_spring_forward_change_lasts_eight_real_hours():
    # Berlin springs forward at 02:00 on Sunday 2027-03-28.
    rule = NightRule(time_zone="Europe/Berlin", count_weekends=False)
    window = rules.night_window(rule, dt.date(2027, 3, 27))
    assert window == Span(utc(2027, 3, 27, 21), utc(2027, 3, 28, 5))
    assert hours(window) == 8


def test_a_weekend_day_counts_from_the_end_of_the_night_before():
    saturday = rules.night_window(NY, dt.date(2027, 1, 9))
    friday = rules.night_window(NY, dt.date(2027, 1, 8))
    assert saturday.start == friday.end == utc(2027, 1, 9, 12)  # Saturday 07:00
    assert saturday.end == utc(2027, 1, 10, 12)  # Sunday 07:00


def test_weekends_do_not_count_when_the_policy_says_so():
    rule = NightRule(time_zone="America/New_York", count_weekends=False)
    assert rules.night_window(rule, dt.date(2027, 1, 9)).start == utc(2027, 1, 10, 3)  # Saturday 22:00


def test_a_holiday_counts_like_a_weekend_only_when_the_policy_counts_holidays():
    thanksgiving = dt.date(2027, 11, 25)
    counted = NightRule(time_zone="America/New_York", holidays=frozenset({thanksgiving}))
    ignored = NightRule(time_zone="America/New_York", holidays=frozenset({thanksgiving}), count_holidays=False)
    assert rules.night_window(counted, thanksgiving).start == utc(2027, 11, 25, 12)  # 07:00
    assert rules.night_window(ignored, thanksgiving).start == utc(2027, 11, 26, 3)  # 22:00


def test_a_night_that_does_not_wrap_ends_the_same_day():
    rule = NightRule(time_zone="UTC", night_start=dt.time(0, 0), night_end=dt.time(6, 0), count_weekends=False)
    assert rules.night_window(rule, dt.date(2027, 1, 5)) == Span(utc(2027, 1, 5, 0), utc(2027, 1, 5, 6))


def test_a_night_must_end_at_another_time_than_it_starts():
    with pytest.raises(ValueError, match="different times"):
        NightRule(time_zone="UTC", night_start=dt.time(22), night_end=dt.time(22))


def test_which_night_an_instant_belongs_to():
    assert rules.night_of(NY, utc(2027, 1, 6, 6, 30)) == dt.date(2027, 1, 5)  # Wed 01:30 → Tuesday's night
    assert rules.night_of(NY, utc(2027, 1, 6, 4)) == dt.date(2027, 1, 5)  # Tue 23:00
    assert rules.night_of(NY, utc(2027, 1, 6, 15)) is None  # Wed 10:00, a working day
    assert rules.night_of(NY, utc(2027, 1, 9, 17)) == dt.date(2027, 1, 9)  # Saturday noon


def test_aware_instants_only():
    with pytest.raises(ValueError, match="timezone-aware"):
        rules.night_of(NY, dt.datetime(2027, 1, 6, 6, 30))


# --- counting ------------------------------------------------------------------------------


def test_paged_0130_acknowledged_0135_resolved_0250_is_75_minutes_and_earns():
    span = Span(utc(2027, 1, 6, 6, 35), utc(2027, 1, 6, 7, 50))
    assert rules.minutes_by_night(NY, [span]) == {dt.date(2027, 1, 5): 75}
    assert rules.earns(75, 60)


def test_45_minutes_does_not_earn_and_exactly_60_does_not_either():
    assert not rules.earns(45, 60)
    assert not rules.earns(60, 60)
    assert rules.earns(61, 60)


def test_overlapping_spans_count_once():
    page = Span(utc(2027, 1, 6, 6, 35), utc(2027, 1, 6, 7, 50))
    log = Span(utc(2027, 1, 6, 7, 0), utc(2027, 1, 6, 8, 0))
    assert rules.minutes_by_night(NY, [page, log]) == {dt.date(2027, 1, 5): 85}


def test_only_the_part_before_the_night_end_counts_on_a_weekday():
    span = Span(utc(2027, 1, 6, 11), utc(2027, 1, 6, 13))  # Wed 06:00-08:00
    assert rules.minutes_by_night(NY, [span]) == {dt.date(2027, 1, 5): 60}


def test_a_whole_dst_night_counts_real_minutes():
    rule = NightRule(time_zone="America/New_York", count_weekends=False)
    window = rules.night_window(rule, dt.date(2027, 11, 6))
    assert rules.minutes_by_night(rule, [window]) == {dt.date(2027, 11, 6): 600}
    berlin = NightRule(time_zone="Europe/Berlin", count_weekends=False)
    window = rules.night_window(berlin, dt.date(2027, 3, 27))
    assert rules.minutes_by_night(berlin, [window]) == {dt.date(2027, 3, 27): 480}


def test_after_hours_seconds_clips_to_the_interval():
    span = Span(utc(2027, 1, 6, 3), utc(2027, 1, 6, 12))  # the whole Tuesday night
    assert rules.after_hours_seconds(NY, [span], utc(2027, 1, 6, 5), utc(2027, 1, 6, 6)) == 3600
    assert rules.after_hours_seconds(NY, [span], utc(2027, 2, 1), utc(2027, 3, 1)) == 0


def test_the_morning_off_runs_from_the_night_end_to_noon_or_longer():
    assert rules.morning_cover(NY, dt.date(2027, 1, 5), Decimal("4")) == Span(utc(2027, 1, 6, 12), utc(2027, 1, 6, 17))
    assert rules.morning_cover(NY, dt.date(2027, 1, 5), Decimal("8")).end == utc(2027, 1, 6, 20)  # 15:00


# --- properties ----------------------------------------------------------------------------

BASE = utc(2027, 3, 20)
spans_strategy = st.lists(
    st.tuples(st.integers(0, 14 * 24 * 60), st.integers(1, 16 * 60)).map(
        lambda t: Span(BASE + dt.timedelta(minutes=t[0]), BASE + dt.timedelta(minutes=t[0] + t[1]))
    ),
    max_size=8,
)
zones = st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"])
rules_strategy = st.builds(
    NightRule,
    time_zone=zones,
    night_start=st.sampled_from([dt.time(22), dt.time(20, 30), dt.time(0), dt.time(23)]),
    night_end=st.sampled_from([dt.time(7), dt.time(6), dt.time(8, 30)]),
    count_weekends=st.booleans(),
    count_holidays=st.booleans(),
    holidays=st.frozensets(st.dates(dt.date(2027, 3, 18), dt.date(2027, 4, 5)), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(rule=rules_strategy, spans=spans_strategy, night=st.dates(dt.date(2027, 3, 19), dt.date(2027, 4, 3)))
def test_minutes_in_a_night_never_exceed_its_window_nor_the_sum_of_spans(rule, spans, night):
    window = rules.night_window(rule, night)
    counted = rules.seconds_in(spans, window)
    assert counted <= window.seconds
    assert counted <= sum(s.seconds for s in spans)


@settings(max_examples=150, deadline=None)
@given(rule=rules_strategy, spans=spans_strategy, data=st.data())
def test_counting_does_not_depend_on_the_order_of_spans(rule, spans, data):
    shuffled = data.draw(st.permutations(spans))
    assert rules.minutes_by_night(rule, shuffled) == rules.minutes_by_night(rule, spans)


@settings(max_examples=150, deadline=None)
@given(spans=spans_strategy)
def test_merged_spans_do_not_overlap_and_keep_every_minute(spans):
    merged = rules.merge(spans)
    assert all(a.end < b.start for a, b in itertools.pairwise(merged))
    union = sum(s.seconds for s in merged)
    assert union <= sum(s.seconds for s in spans)
    for span in spans:
        assert any(m.start <= span.start and span.end <= m.end for m in merged)


@settings(max_examples=150, deadline=None)
@given(rule=rules_strategy, night=st.dates(dt.date(2027, 3, 19), dt.date(2027, 4, 3)))
def test_windows_of_consecutive_nights_never_overlap(rule, night):
    today, tomorrow = rules.night_window(rule, night), rules.night_window(rule, night + dt.timedelta(days=1))
    assert today.start < today.end <= tomorrow.start
    # A day off's daytime joins it to its neighbour: the one after a wrapping night, the one before otherwise.
    day_off = night + dt.timedelta(days=1) if rule.wraps else night
    if rules.is_day_off(rule, day_off):
        assert today.end == tomorrow.start


@settings(max_examples=100, deadline=None)
@given(rule=rules_strategy, spans=spans_strategy)
def test_minutes_by_night_sum_to_the_after_hours_time(rule, spans):
    merged = rules.merge(spans)
    if not merged:
        return
    total = rules.after_hours_seconds(rule, spans, merged[0].start, merged[-1].end)
    by_night = rules.minutes_by_night(rule, spans)
    # Rounding down loses under a minute per night.
    assert sum(by_night.values()) * 60 <= total < (sum(by_night.values()) + len(by_night) + 1) * 60


# --- the fairness load of cover takers ------------------------------------------------------


def test_the_fairness_load_reads_nights_by_the_teams_rule():
    # Wednesday 2027-01-06 18:00 to Thursday 09:00 in New York.
    shift = Shift(layer_id=1, user_id=7, start=utc(2027, 1, 6, 23), end=utc(2027, 1, 7, 14))
    default = rules.load_by_user([shift], NY)
    early = rules.load_by_user([shift], NightRule(time_zone="America/New_York", night_start=dt.time(20)))
    assert default == {7: (15 * 3600, 9 * 3600)}  # 22:00-07:00
    assert early == {7: (15 * 3600, 11 * 3600)}  # 20:00-07:00


def test_the_fairness_load_counts_weekends_and_holidays_only_when_the_team_does():
    saturday = Shift(
        layer_id=1, user_id=7, start=utc(2027, 1, 9, 5), end=utc(2027, 1, 10, 5)
    )  # all of Saturday in New York
    assert rules.load_by_user([saturday], NY)[7][1] == 24 * 3600
    weekdays_only = NightRule(time_zone="America/New_York", count_weekends=False)
    assert rules.load_by_user([saturday], weekdays_only)[7][1] == 9 * 3600  # only the night 22:00-07:00
    holiday = Shift(layer_id=1, user_id=7, start=utc(2027, 1, 18, 14), end=utc(2027, 1, 18, 22))  # Monday 09:00-17:00
    with_holiday = NightRule(time_zone="America/New_York", holidays=frozenset({dt.date(2027, 1, 18)}))
    assert rules.load_by_user([holiday], NY)[7][1] == 0
    assert rules.load_by_user([holiday], with_holiday)[7][1] == 8 * 3600


@given(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2028, 1, 1)), st.integers(1, 24 * 30))
def test_the_fairness_load_never_counts_more_after_hours_than_on_call(start, hours):
    start = start.replace(tzinfo=UTC)
    shift = Shift(layer_id=1, user_id=1, start=start, end=start + dt.timedelta(hours=hours))
    on_call, after_hours = rules.load_by_user([shift], NY)[1]
    assert 0 <= after_hours <= on_call == hours * 3600

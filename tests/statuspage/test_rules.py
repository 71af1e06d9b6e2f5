"""Pure rules: the page indicator, notice transitions and daily uptime."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statuspage import rules

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("statuses", "impacts", "expected"),
    [
        ([], [], ("none", "All Systems Operational")),
        (["operational", "operational"], [], ("none", "All Systems Operational")),
        (["operational", "under_maintenance"], [], ("none", "Service Under Maintenance")),
        (["degraded_performance"], [], ("minor", "Partially Degraded Service")),
        (["operational"], ["minor"], ("minor", "Minor Service Outage")),
        (["partial_outage", "degraded_performance"], [], ("major", "Partial System Outage")),
        (["major_outage", "partial_outage"], ["minor"], ("critical", "Major Service Outage")),
        (["operational"], ["critical"], ("critical", "Major Service Outage")),
        (["operational"], ["none"], ("none", "All Systems Operational")),
    ],
)
def test_the_indicator_is_the_worst_of_components_and_open_incidents(statuses, impacts, expected):
    assert rules.page_indicator(statuses, impacts) == expected


@pytest.mark.parametrize(
    ("kind", "current", "new", "allowed"),
    [
        ("incident", None, "investigating", True),
        ("incident", None, "resolved", False),
        ("incident", "investigating", "monitoring", True),
        ("incident", "resolved", "investigating", True),
        ("incident", "resolved", "postmortem", True),
        ("incident", "postmortem", "investigating", False),
        ("incident", "investigating", "in_progress", False),
        ("maintenance", "scheduled", "in_progress", True),
        ("maintenance", "in_progress", "completed", True),
        ("maintenance", "completed", "in_progress", False),
        ("maintenance", "scheduled", "resolved", False),
    ],
)
def test_notice_transitions(kind, current, new, allowed):
    assert (rules.transition_error(kind=kind, current=current, new=new) == "") is allowed


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_a_partial_outage_counts_in_part_and_a_major_one_in_full():
    intervals = [
        rules.Interval("operational", _at(1, 0), _at(2, 0)),
        rules.Interval("major_outage", _at(2, 0), _at(2, 1)),
        rules.Interval("partial_outage", _at(2, 1), _at(2, 11)),
        rules.Interval("operational", _at(2, 11), None),
    ]
    days = rules.uptime_days(intervals, last_day=dt.date(2026, 11, 2), days=2, zone=ZoneInfo("UTC"), now=_at(3, 0))
    assert days[0].uptime == 1.0 and days[0].worst == "operational"
    # 1 h down + 10 h at 30 % = 4 h of 24.
    assert days[1].uptime == pytest.approx(1 - 4 / 24)
    assert days[1].worst == "major_outage"


def test_days_before_the_component_existed_have_no_data():
    intervals = [rules.Interval("operational", _at(2, 12), None)]
    days = rules.uptime_days(intervals, last_day=dt.date(2026, 11, 2), days=3, zone=ZoneInfo("UTC"), now=_at(2, 18))
    assert [d.has_data for d in days] == [False, False, True]
    assert rules.uptime_share(days) == 1.0


def test_today_counts_only_up_to_now():
    intervals = [rules.Interval("major_outage", _at(2, 0), _at(2, 6)), rules.Interval("operational", _at(2, 6), None)]
    (today,) = rules.uptime_days(intervals, last_day=dt.date(2026, 11, 2), days=1, zone=ZoneInfo("UTC"), now=_at(2, 12))
    assert today.uptime == pytest.approx(0.5)


def test_days_follow_the_page_zone_across_the_clock_change():
    # Europe/London falls back on 25 Oct 2026: that day has 25 hours.
    start, end = rules.day_bounds(dt.date(2026, 10, 25), LONDON)
    assert end - start == dt.timedelta(hours=25)
    intervals = [rules.Interval("major_outage", dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC), None)]
    days = rules.uptime_days(
        intervals, last_day=dt.date(2026, 10, 25), days=2, zone=LONDON, now=dt.datetime(2026, 10, 26, tzinfo=UTC)
    )
    # 23:30 UTC on the 24th is 00:30 BST on the 25th: the 24th (local) has no data.
    assert days[0].has_data is False
    assert days[1].seconds == {"major_outage": 25 * 3600 - 1800}


statuses = st.sampled_from(
    ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
)


@given(st.lists(st.tuples(statuses, st.integers(min_value=1, max_value=3000)), min_size=1, max_size=30))
def test_uptime_stays_between_zero_and_one_and_covers_contiguous_time(spells):
    start = _at(1, 0)
    intervals, at = [], start
    for status, minutes in spells:
        intervals.append(rules.Interval(status, at, at + dt.timedelta(minutes=minutes)))
        at += dt.timedelta(minutes=minutes)
    days = rules.uptime_days(intervals, last_day=at.date(), days=(at.date() - start.date()).days + 1, zone=UTC, now=at)
    covered = sum(sum(d.seconds.values()) for d in days)
    assert covered == pytest.approx((at - start).total_seconds())
    for day in days:
        assert day.uptime is None or 0.0 <= day.uptime <= 1.0
    share = rules.uptime_share(days)
    assert share is not None and 0.0 <= share <= 1.0
    if all(s in ("operational", "degraded_performance", "under_maintenance") for s, _ in spells):
        assert share == 1.0

"""Postmortem due dates across weekends, holidays and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from postmortems.deadlines import add_business_days, is_business_day, postmortem_due_at, public_holidays

NY = "America/New_York"


def local(tz: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(tz))


def test_friday_evening_with_three_business_days_is_due_wednesday_same_time():
    resolved = local(NY, 2027, 1, 15, 17)  # a Friday
    due = postmortem_due_at(resolved, time_zone=NY, kind="business_days", hours=48, business_days=3)
    assert due.astimezone(ZoneInfo(NY)) == local(NY, 2027, 1, 20, 17)


def test_public_holidays_are_skipped():
    holidays = public_holidays("US", "", range(2027, 2028))
    assert dt.date(2027, 1, 18) in holidays  # Martin Luther King Jr. Day, a Monday
    resolved = local(NY, 2027, 1, 15, 17)
    due = postmortem_due_at(resolved, time_zone=NY, kind="business_days", hours=48, business_days=3, holidays=holidays)
    assert due.astimezone(ZoneInfo(NY)) == local(NY, 2027, 1, 21, 17)


def test_a_due_date_after_the_clocks_change_keeps_the_local_time():
    resolved = local(NY, 2027, 3, 12, 10)  # Friday before the spring change on Sunday 14 March
    due = postmortem_due_at(resolved, time_zone=NY, kind="business_days", hours=48, business_days=1)
    assert due.astimezone(ZoneInfo(NY)) == local(NY, 2027, 3, 15, 10)
    assert due - resolved == dt.timedelta(hours=71)


def test_hours_are_real_hours():
    resolved = local(NY, 2027, 3, 13, 12)
    due = postmortem_due_at(resolved, time_zone=NY, kind="hours", hours=48, business_days=3)
    assert due - resolved == dt.timedelta(hours=48)


@given(
    st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2029, 1, 1), timezones=st.just(dt.UTC)),
    st.integers(1, 10),
    st.sampled_from([NY, "Europe/Berlin", "Asia/Tokyo"]),
    st.sets(st.dates(dt.date(2026, 1, 1), dt.date(2029, 3, 1)), max_size=20),
)
def test_business_day_due_dates_land_on_business_days_after_the_right_count(resolved, days, tz, holidays):
    due = postmortem_due_at(
        resolved, time_zone=tz, kind="business_days", hours=0, business_days=days, holidays=holidays
    )
    start, end = resolved.astimezone(ZoneInfo(tz)).date(), due.astimezone(ZoneInfo(tz)).date()
    assert is_business_day(end, holidays)
    counted = sum(
        1 for n in range(1, (end - start).days + 1) if is_business_day(start + dt.timedelta(days=n), holidays)
    )
    assert counted == days
    assert due > resolved


@given(st.dates(dt.date(2026, 1, 1), dt.date(2028, 1, 1)), st.integers(0, 30))
def test_adding_business_days_never_moves_backwards(start, days):
    assert add_business_days(start, days, frozenset()) >= start

"""When a postmortem is due: pure rules of plain values.

- "hours": that many real hours after the incident was resolved.
- "business days": the same local time of day, that many business days later, in the
  team's zone. Saturdays, Sundays and the team's holidays are not business days; counting
  starts the day after resolution, so a Friday 17:00 resolution with three business days
  is due Wednesday 17:00. A local time that does not exist on the due day (spring
  forward) moves to when the clocks jump, by the rule of oncall.schedule.local_to_utc.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from oncall.schedule import local_to_utc

WEEKEND = {5, 6}


def is_business_day(day: dt.date, holidays: Container[dt.date]) -> bool:
    return day.weekday() not in WEEKEND and day not in holidays


def add_business_days(start: dt.date, count: int, holidays: Container[dt.date]) -> dt.date:
    day, added = start, 0
    while added < count:
        day += dt.timedelta(days=1)
        if is_business_day(day, holidays):
            added += 1
    return day


def postmortem_due_at(
    resolved_at: dt.datetime,
    *,
    time_zone: str,
    kind: str,
    hours: int,
    business_days: int,
    holidays: Container[dt.date] = frozenset(),
) -> dt.datetime:
    if resolved_at.tzinfo is None:
        raise ValueError("resolved_at must be timezone-aware")
    if kind == "hours":
        return resolved_at + dt.timedelta(hours=hours)
    local = resolved_at.astimezone(ZoneInfo(time_zone))
    day = add_business_days(local.date(), business_days, holidays)
    return local_to_utc(dt.datetime.combine(day, local.time().replace(tzinfo=None)), time_zone)


def public_holidays(country: str, subdivision: str, years: range) -> frozenset[dt.date]:
    """The country's public holidays from the `holidays` package; empty without a country."""
    if not country:
        return frozenset()
    calendar = holiday_calendars.country_holidays(country, subdiv=subdivision or None, years=list(years))
    return frozenset(calendar.keys())


def team_today(time_zone: str, now: dt.datetime) -> dt.date:
    """The date at `now` where the team works: an action item's due date is a day there."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def item_is_overdue(*, due_date: dt.date | None, is_open: bool, time_zone: str, now: dt.datetime) -> bool:
    """Overdue: still open, and its due date has passed in the team's time zone. The lists, the
    API, the manager's view and digest, and the sweeper's overdue mark all go by this."""
    return is_open and due_date is not None and due_date < team_today(time_zone, now)

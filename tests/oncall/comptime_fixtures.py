"""Builders for comp-time tests: New York nights, spans at local wall-clock times, the job's clock.

Team A (Payments) counts nights in America/New_York, 22:00-07:00 by default. The
Payments schedule (tests/oncall/paging_fixtures.py) has bob primary and alice
secondary in the week from Monday 2027-01-04 09:00.
"""

from __future__ import annotations

import datetime as dt

from oncall.models import Team, User, WorkLog
from oncall.schedule import local_to_utc
from tests.factories import WorkLogFactory

NY = "America/New_York"
# Tuesday 2027-01-05: a working day; its night ends Wednesday 07:00 New York (12:00 UTC).
TUESDAY = dt.date(2027, 1, 5)
# The job's clock the morning after: Wednesday 07:45 New York, past the night's end and grace.
MORNING_AFTER = dt.datetime(2027, 1, 6, 12, 45, tzinfo=dt.UTC)


def local(day: dt.date, hour: int, minute: int = 0, tz: str = NY) -> dt.datetime:
    return local_to_utc(dt.datetime(day.year, day.month, day.day, hour, minute), tz)


def after(day: dt.date, hour: int, minute: int = 0, tz: str = NY) -> dt.datetime:
    """A local time in the small hours after `day`'s evening."""
    return local(day + dt.timedelta(days=1), hour, minute, tz)


def span(user: User, team: Team, start: dt.datetime, end: dt.datetime, **kw: object) -> WorkLog:
    return WorkLogFactory(user=user, team=team, start_at=start, end_at=end, **kw)

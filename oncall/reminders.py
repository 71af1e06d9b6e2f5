"""When to remind the person coming on call: pure rules of plain values.

- the day before: 24 hours before the shift starts;
- the evening before, at 18:00 local, when the shift starts before 08:00 local
  (nobody should learn at 06:00 that they are on call from 07:00);
- at the handoff itself.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

EARLY_START = dt.time(8, 0)
EVENING = dt.time(18, 0)
DAY_BEFORE = dt.timedelta(hours=24)


def reminder_instants(shift_start: dt.datetime, time_zone: str) -> dict[str, dt.datetime]:
    """Kind → instant (UTC) of each reminder for a shift starting at `shift_start`."""
    if shift_start.tzinfo is None:
        raise ValueError("shift_start must be an aware datetime")
    zone = ZoneInfo(time_zone)
    local = shift_start.astimezone(zone)
    instants = {"day_before": shift_start - DAY_BEFORE, "start": shift_start}
    if local.time() < EARLY_START:
        evening = dt.datetime.combine(local.date() - dt.timedelta(days=1), EVENING, tzinfo=zone)
        instants["evening_before"] = evening.astimezone(dt.UTC)
    return {kind: instant.astimezone(dt.UTC) for kind, instant in instants.items()}

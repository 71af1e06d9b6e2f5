"""Pure rules of the status page: the overall indicator, notice statuses, and uptime per day.

Plain values in, plain values out; no database. Statuses and impacts are the API strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
INCIDENT_OPEN = {"investigating", "identified", "monitoring"}
MAINTENANCE_ACTIVE = {"in_progress", "verifying"}
FINISHED = {"resolved", "postmortem", "completed"}

# Which indicator a component status raises the page to.
COMPONENT_INDICATOR = {OPERATIONAL: "none", MAINTENANCE: "none", DEGRADED: "minor", PARTIAL: "major", MAJOR: "critical"}
INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
IMPACT_INDICATOR = {"none": "none", "maintenance": "none", "minor": "minor", "major": "major", "critical": "critical"}
# Status ranks for "the worst status of the day" on the uptime bars.
STATUS_RANK = {OPERATIONAL: 0, MAINTENANCE: 1, DEGRADED: 2, PARTIAL: 3, MAJOR: 4}
# Share of a period that counts as downtime. A partial outage counts in part because most
# customers still got through; degraded performance and maintenance are not downtime.
DOWNTIME_WEIGHT = {OPERATIONAL: 0.0, MAINTENANCE: 0.0, DEGRADED: 0.0, PARTIAL: 0.3, MAJOR: 1.0}

DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}


def page_indicator(component_statuses: Iterable[str], open_impacts: Iterable[str]) -> tuple[str, str]:
    """The page's (indicator, description) from its components and its unresolved incidents."""
    statuses = list(component_statuses)
    candidates = [COMPONENT_INDICATOR[s] for s in statuses] + [IMPACT_INDICATOR[i] for i in open_impacts]
    indicator = max(candidates, key=INDICATOR_RANK.__getitem__, default="none")
    if indicator == "none" and MAINTENANCE in statuses:
        return indicator, "Service Under Maintenance"
    if indicator == "minor" and not any(COMPONENT_INDICATOR[s] != "none" for s in statuses):
        return indicator, "Minor Service Outage"
    if indicator == "minor":
        return indicator, "Partially Degraded Service"
    return indicator, DESCRIPTIONS[indicator]


def allowed_statuses(kind: str) -> tuple[str, ...]:
    return MAINTENANCE_STATUSES if kind == "maintenance" else INCIDENT_STATUSES


def transition_error(*, kind: str, current: str | None, new: str) -> str:
    """Why a notice may not move from `current` to `new` (empty when it may)."""
    if new not in allowed_statuses(kind):
        return f"“{new}” is not a status of {'maintenance' if kind == 'maintenance' else 'an incident'}."
    if current in {"postmortem", "completed"}:
        return "This notice is closed; publish a new one instead."
    if current == "resolved" and new not in {"resolved", "postmortem", *INCIDENT_OPEN}:
        return "A resolved notice can only be reopened or marked as having a postmortem."
    if current is None and kind == "incident" and new in FINISHED:
        return "A new notice starts open; resolve it with a later update."
    return ""


@dataclass(frozen=True)
class Interval:
    status: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Day:
    day: date
    has_data: bool
    uptime: float | None  # 0..1, None before the component existed
    worst: str
    seconds: dict[str, float]


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A calendar day in the page's zone as UTC instants (23 or 25 hours across DST).

    In UTC because Python subtracts two datetimes of the same zone by wall clock, which
    would make every day 24 hours long.
    """
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def uptime_days(
    intervals: Sequence[Interval], *, last_day: date, days: int, zone: ZoneInfo, now: datetime
) -> list[Day]:
    """One entry per calendar day, oldest first, ending on `last_day` (which may still be running)."""
    ordered = sorted(intervals, key=lambda i: i.started_at)
    result = []
    for offset in range(days - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        start, end = day_bounds(day, zone)
        result.append(_one_day(ordered, day=day, start=start, end=min(end, now)))
    return result


def _one_day(intervals: Sequence[Interval], *, day: date, start: datetime, end: datetime) -> Day:
    seconds: dict[str, float] = {}
    for interval in intervals:
        lo = max(interval.started_at, start)
        hi = min(interval.ended_at or end, end)
        if hi > lo:
            seconds[interval.status] = seconds.get(interval.status, 0.0) + (hi - lo).total_seconds()
    covered = sum(seconds.values())
    if covered <= 0:
        return Day(day=day, has_data=False, uptime=None, worst=OPERATIONAL, seconds={})
    down = sum(DOWNTIME_WEIGHT[s] * secs for s, secs in seconds.items())
    worst = max(seconds, key=STATUS_RANK.__getitem__)
    return Day(day=day, has_data=True, uptime=1 - down / covered, worst=worst, seconds=seconds)


def uptime_share(days: Sequence[Day]) -> float | None:
    """Uptime over the days that have data, weighted by how much of each day was covered."""
    covered = sum(sum(d.seconds.values()) for d in days)
    if covered <= 0:
        return None
    down = sum(DOWNTIME_WEIGHT[s] * secs for d in days for s, secs in d.seconds.items())
    return 1 - down / covered

"""After-hours comp time: pure rules of plain values, no database.

The playbook's rule: paged at night and worked more than an hour → the next morning
off. These functions say which minutes are "after hours", which night they belong
to, how many real minutes someone worked in it, and what the morning off covers.

Rules:
- The *night of* local date D (in the team's zone) runs from `night_start` on D to
  `night_end` on D + 1 (default 22:00-07:00). A night that does not wrap past
  midnight (e.g. 00:00-06:00) runs from `night_start` to `night_end` on D itself.
- A *day off* is a Saturday or Sunday when the policy counts weekends, or one of the
  team's holidays when it counts holidays. On a day off the daytime counts too: the
  window of D then starts where the night before ended (07:00 on a Saturday, with the
  defaults), so Saturday's day and Saturday night belong to "the night of Saturday".
  (A night inside the date, such as 00:00-06:00, is followed by its day off instead:
  the window runs until the next night starts.) Windows of different dates never
  overlap: no minute is counted twice.
- Wall-clock times become instants with `oncall.schedule.local_to_utc`, the rule the
  schedules use: a time inside a spring-forward gap maps to the instant the clocks
  jump, a time that exists twice maps to its first occurrence. Minutes are real
  elapsed minutes, so 22:00-07:00 across a DST change is 8 or 10 hours, not 9.
- Spans that overlap or touch are merged before counting, so a page and a work log
  covering the same minutes count once, in whatever order they arrive.
- Worked minutes are whole minutes, rounded down. A night earns comp time when the
  worked minutes are more than the threshold (the playbook's "more than an hour").
- A morning off covers the person's on-call time from the end of the night until
  local noon, or until the night's end plus the granted hours when that is later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from oncall.schedule import Shift, local_to_utc

UTC = dt.UTC
WEEKEND = frozenset({5, 6})
NOON = dt.time(12, 0)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class NightRule:
    """A team's after-hours policy as plain values."""

    time_zone: str
    night_start: dt.time = dt.time(22, 0)
    night_end: dt.time = dt.time(7, 0)
    count_weekends: bool = True
    count_holidays: bool = True
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.night_start == self.night_end:
            raise ValueError("A night must start and end at different times.")

    @property
    def wraps(self) -> bool:
        """Whether the night runs past midnight into the next day."""
        return self.night_end < self.night_start


@dataclass(frozen=True, order=True)
class Span:
    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0)


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _local(day: dt.date, time: dt.time, rule: NightRule) -> dt.datetime:
    return local_to_utc(dt.datetime.combine(day, time), rule.time_zone)


def is_day_off(rule: NightRule, day: dt.date) -> bool:
    if rule.count_weekends and day.weekday() in WEEKEND:
        return True
    return rule.count_holidays and day in rule.holidays


def morning_of(rule: NightRule, night_of: dt.date) -> dt.date:
    """The local date on which the night of `night_of` ends."""
    return night_of + DAY if rule.wraps else night_of


def _night_close(rule: NightRule, night_of: dt.date) -> dt.datetime:
    return _local(morning_of(rule, night_of), rule.night_end, rule)


def night_window(rule: NightRule, night_of: dt.date) -> Span:
    """The after-hours window that belongs to `night_of`, as UTC instants."""
    opening = _local(night_of, rule.night_start, rule)
    if not is_day_off(rule, night_of):
        return Span(opening, _night_close(rule, night_of))
    if rule.wraps:
        # The day off's daytime runs from the end of the night before.
        return Span(_night_close(rule, night_of - DAY), _night_close(rule, night_of))
    # A night inside the date (00:00-06:00) is followed by the day off: both until the next night.
    return Span(opening, _local(night_of + DAY, rule.night_start, rule))


def nights_touching(rule: NightRule, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """The nights whose windows share time with [start, end), oldest first."""
    start, end = _aware(start), _aware(end)
    zone = ZoneInfo(rule.time_zone)
    # A window opens at most a day before its date's close, so two days back is enough.
    day = start.astimezone(zone).date() - 2 * DAY
    last = end.astimezone(zone).date()
    found = []
    while day <= last:
        window = night_window(rule, day)
        if window.start < end and window.end > start:
            found.append(day)
        day += DAY
    return found


def night_of(rule: NightRule, instant: dt.datetime) -> dt.date | None:
    """The night whose window holds `instant`; None during a working day's daytime."""
    nights = nights_touching(rule, instant, instant + dt.timedelta(microseconds=1))
    return nights[0] if nights else None


def is_after_hours(rule: NightRule, instant: dt.datetime) -> bool:
    return night_of(rule, instant) is not None


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, empty ones dropped, in time order."""
    merged: list[Span] = []
    for span in sorted(Span(_aware(s.start), _aware(s.end)) for s in spans):
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def intersect(spans: Iterable[Span], window: Span) -> list[Span]:
    """The parts of the (merged) spans inside the window."""
    pieces = [Span(max(s.start, window.start), min(s.end, window.end)) for s in merge(spans)]
    return [p for p in pieces if p.end > p.start]


def seconds_in(spans: Iterable[Span], window: Span) -> float:
    return sum(piece.seconds for piece in intersect(spans, window))


def whole_minutes(seconds: float) -> int:
    return math.floor(seconds / 60)


def minutes_by_night(rule: NightRule, spans: Iterable[Span]) -> dict[dt.date, int]:
    """Real minutes worked in each night the spans touch (nights with none left out)."""
    merged = merge(spans)
    if not merged:
        return {}
    result = {}
    for night in nights_touching(rule, merged[0].start, merged[-1].end):
        minutes = whole_minutes(seconds_in(merged, night_window(rule, night)))
        if minutes:
            result[night] = minutes
    return result


def after_hours_seconds(rule: NightRule, spans: Iterable[Span], start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of the spans that are after hours and inside [start, end) (e.g. one month)."""
    merged = merge(spans)
    if not merged:
        return 0.0
    start, end = max(_aware(start), merged[0].start), min(_aware(end), merged[-1].end)
    if end <= start:
        return 0.0
    total = 0.0
    for night in nights_touching(rule, start, end):
        window = night_window(rule, night)
        total += seconds_in(merged, Span(max(window.start, start), min(window.end, end)))
    return total


def load_by_user(shifts: Iterable[Shift], rule: NightRule) -> dict[int, tuple[float, float]]:
    """Person → (on-call seconds, after-hours seconds) over the given shifts, nights by the team's rule.

    The fairness ranking of cover takers and comp time read after hours the same way.
    """
    load: dict[int, tuple[float, float]] = {}
    for shift in shifts:
        if shift.user_id is None:
            continue
        on_call, after_hours = load.get(shift.user_id, (0.0, 0.0))
        night = after_hours_seconds(rule, [Span(shift.start, shift.end)], shift.start, shift.end)
        load[shift.user_id] = (on_call + shift.seconds, after_hours + night)
    return load


def earns(worked_minutes: int, threshold_minutes: int) -> bool:
    return worked_minutes > threshold_minutes


def morning_cover(rule: NightRule, night_of: dt.date, hours: Decimal | float) -> Span:
    """What a morning off covers: from the night's end to noon, or for `hours` if that is longer."""
    morning = morning_of(rule, night_of)
    close_local = dt.datetime.combine(morning, rule.night_end)
    until_local = max(dt.datetime.combine(morning, NOON), close_local + dt.timedelta(hours=float(hours)))
    return Span(local_to_utc(close_local, rule.time_zone), local_to_utc(until_local, rule.time_zone))

"""Who is on call when: pure rules of plain values, no database.

Every reader (web pages, API, iCal feeds, reminders, the pager) gets its answer
from `final_shifts` / `on_call_at` here, so they cannot disagree.

Time rules:
- A layer's k-th handoff is its first handoff (`rotation_start_date` at
  `handoff_time`) plus k shift lengths of *local wall-clock* time, then mapped to
  UTC. A weekly Monday 09:00 handoff stays at Monday 09:00 through a DST change, so
  the shift of that week lasts 167 or 169 real hours; custom hour lengths follow
  the wall clock too (12-hour shifts stay at 09:00 and 21:00).
- A wall-clock time that does not exist (spring forward, e.g. 02:30 in Berlin on
  the last Sunday of March) maps to the instant the clocks jump (03:00 local).
- A wall-clock time that exists twice (fall back) maps to its first occurrence.
- Before the first handoff nobody is on call on the layer, and a layer without
  participants has nobody: both show as gaps (`user_id` None).
- Overrides are applied on top of the rotation; where overrides overlap, the one
  listed last wins (callers list them oldest first, so the newest wins).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
UNIT_DAYS = {"days": 1, "weeks": 7}


@dataclass(frozen=True)
class LayerRule:
    layer_id: int
    time_zone: str
    rotation_start_date: dt.date
    handoff_time: dt.time
    shift_length: int
    shift_unit: str  # "hours", "days" or "weeks"
    participants: tuple[int, ...]


@dataclass(frozen=True)
class OverrideRule:
    layer_id: int
    user_id: int
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Shift:
    layer_id: int
    user_id: int | None
    start: dt.datetime
    end: dt.datetime
    is_override: bool = False

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def local_to_utc(naive: dt.datetime, time_zone: str) -> dt.datetime:
    """The UTC instant of a local wall-clock time, by the rules in the module docstring."""
    zone = ZoneInfo(time_zone)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # Inside a spring-forward gap: fold=1 reads it with the later offset, fold=0 with
    # the earlier one; the jump lies between the two. Find it to the second.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    before = low.astimezone(zone).utcoffset()
    while (high - low) > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    # Zone transitions fall on whole seconds, and `high` is less than a second past it.
    return high.replace(microsecond=0)


def _period(layer: LayerRule) -> dt.timedelta:
    if layer.shift_unit == "hours":
        return dt.timedelta(hours=layer.shift_length)
    return dt.timedelta(days=layer.shift_length * UNIT_DAYS[layer.shift_unit])


def _first_local(layer: LayerRule) -> dt.datetime:
    return dt.datetime.combine(layer.rotation_start_date, layer.handoff_time)


def handoff_at(layer: LayerRule, k: int) -> dt.datetime:
    """The UTC instant of the layer's k-th handoff (k = 0 is the first)."""
    return local_to_utc(_first_local(layer) + k * _period(layer), layer.time_zone)


def shift_index(layer: LayerRule, instant: dt.datetime) -> int:
    """The k of the rotation shift holding `instant`; -1 before the first handoff."""
    instant = _aware(instant)
    local = instant.astimezone(ZoneInfo(layer.time_zone)).replace(tzinfo=None)
    k = max((local - _first_local(layer)) // _period(layer), -1)
    # The wall-clock estimate can be one off around a DST change; settle it on instants.
    while k >= 0 and handoff_at(layer, k) > instant:
        k -= 1
    while handoff_at(layer, k + 1) <= instant:
        k += 1
    return k


def rotation_user(layer: LayerRule, k: int) -> int | None:
    if k < 0 or not layer.participants:
        return None
    return layer.participants[k % len(layer.participants)]


def _layer_overrides(layer: LayerRule, overrides: Iterable[OverrideRule]) -> list[OverrideRule]:
    return [o for o in overrides if o.layer_id == layer.layer_id and o.end > o.start]


def _override_at(overrides: Sequence[OverrideRule], instant: dt.datetime) -> OverrideRule | None:
    for override in reversed(overrides):
        if override.start <= instant < override.end:
            return override
    return None


def on_call_at(layer: LayerRule, overrides: Iterable[OverrideRule], instant: dt.datetime) -> int | None:
    """Who holds the layer at `instant`, overrides included; None for nobody."""
    instant = _aware(instant)
    override = _override_at(_layer_overrides(layer, overrides), instant)
    if override is not None:
        return override.user_id
    if not layer.participants:
        return None
    return rotation_user(layer, shift_index(layer, instant))


def rotation_shifts(layer: LayerRule, start: dt.datetime, end: dt.datetime) -> list[Shift]:
    """Rotation shifts (no overrides) clipped to [start, end), gaps included."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return []
    if not layer.participants:
        return [Shift(layer.layer_id, None, start, end)]
    shifts = []
    k = shift_index(layer, start)
    cursor = start
    while cursor < end:
        boundary = min(handoff_at(layer, k + 1), end)
        if boundary > cursor:
            shifts.append(Shift(layer.layer_id, rotation_user(layer, k), cursor, boundary))
            cursor = boundary
        k += 1
    return shifts


def final_shifts(
    layer: LayerRule, overrides: Iterable[OverrideRule], start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """The layer's final shifts in [start, end): rotation with overrides on top.

    The result covers [start, end) without holes or overlaps; neighbours differ in
    person or in being an override; time with nobody on call is a shift with user None.
    """
    start, end = _aware(start), _aware(end)
    mine = _layer_overrides(layer, overrides)
    rotation = rotation_shifts(layer, start, end)
    cuts = {s.start for s in rotation} | {end}
    cuts |= {t for o in mine for t in (o.start, o.end) if start < t < end}
    points = sorted(cuts)
    pieces = []
    index = 0
    for piece_start, piece_end in itertools.pairwise(points):
        while rotation[index].end <= piece_start:
            index += 1
        override = _override_at(mine, piece_start)
        if override is not None:
            pieces.append(Shift(layer.layer_id, override.user_id, piece_start, piece_end, True))
        else:
            pieces.append(Shift(layer.layer_id, rotation[index].user_id, piece_start, piece_end))
    return _merge(pieces)


def _merge(pieces: list[Shift]) -> list[Shift]:
    merged: list[Shift] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if last and (last.user_id, last.is_override) == (piece.user_id, piece.is_override) and last.end == piece.start:
            merged[-1] = Shift(last.layer_id, last.user_id, last.start, piece.end, last.is_override)
        else:
            merged.append(piece)
    return merged


def next_handoff(layer: LayerRule, at: dt.datetime) -> dt.datetime | None:
    """The first rotation handoff after `at`; None for a layer without participants."""
    if not layer.participants:
        return None
    at = _aware(at)
    k = shift_index(layer, at) + 1
    while handoff_at(layer, k) <= at:
        k += 1
    return handoff_at(layer, k)


def gaps(shifts: Iterable[Shift]) -> list[Shift]:
    """The spans in which nobody holds the layer."""
    return [s for s in shifts if s.user_id is None]


def fairest_takers(candidates: Iterable[int], load: dict[int, tuple[float, float]]) -> list[int]:
    """Candidates ordered fairest first: least after-hours time, then least on-call time."""

    def key(user_id: int) -> tuple[float, float, int]:
        on_call, after_hours = load.get(user_id, (0.0, 0.0))
        return (after_hours, on_call, user_id)

    return sorted(candidates, key=key)

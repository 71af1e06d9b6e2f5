"""Escalation rules: pure functions of a frozen policy, an instant and a time zone.

A page carries its policy as a snapshot (`PolicySpec.to_dict()`), taken when the page
opens, so editing the policy later changes nothing already under way. The sweeper
asks `next_step` which step runs now; the answer depends only on the snapshot, the
page's cursor (step and round), the instant, and whether the alert is critical.

Rules:
- Steps run in order; after the last one the policy starts again from the first,
  `repeats` more times (round 0 is the first pass), then it is exhausted.
- A step that does not apply at the instant is skipped at once, without waiting:
  only for critical alerts while the alert is not critical; outside its local-time
  window; on a weekday it does not name. Windows and weekdays are read in the
  team's zone, so "22:00-07:00" means the team's night through DST changes.
- A window whose end is before its start wraps past midnight (22:00-07:00), and
  the weekday of its after-midnight part is the day the window opened: a Friday
  night step still applies at 02:00 on Saturday. Start equal to end means all day.
- The wait of a step counts from the instant the step ran.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

SNAPSHOT_VERSION = 1
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Where the frozen policy came from, for the page's log and the people reading it.
SOURCE_SERVICE = "service"
SOURCE_TEAM_DEFAULT = "team_default"
SOURCE_FALLBACK = "managers_fallback"


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # "layer", "user" or "managers", as StepTarget.Kind
    layer_id: int | None = None
    user_id: int | None = None
    label: str = ""


@dataclass(frozen=True)
class StepSpec:
    position: int
    wait_minutes: int
    targets: tuple[TargetSpec, ...] = ()
    only_critical: bool = False
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    weekdays: tuple[int, ...] = ()


@dataclass(frozen=True)
class PolicySpec:
    name: str
    time_zone: str
    steps: tuple[StepSpec, ...]
    repeats: int = 0
    policy_id: int | None = None
    source: str = SOURCE_SERVICE

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "policy_id": self.policy_id,
            "name": self.name,
            "source": self.source,
            "time_zone": self.time_zone,
            "repeats": self.repeats,
            "steps": [_step_to_dict(step) for step in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicySpec:
        return cls(
            name=data.get("name", ""),
            time_zone=data.get("time_zone", "UTC"),
            steps=tuple(_step_from_dict(step) for step in data.get("steps", [])),
            repeats=int(data.get("repeats", 0)),
            policy_id=data.get("policy_id"),
            source=data.get("source", SOURCE_SERVICE),
        )


def _time_str(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _time_parse(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


def _step_to_dict(step: StepSpec) -> dict[str, Any]:
    return {
        "position": step.position,
        "wait_minutes": step.wait_minutes,
        "only_critical": step.only_critical,
        "window_start": _time_str(step.window_start),
        "window_end": _time_str(step.window_end),
        "weekdays": list(step.weekdays),
        "targets": [
            {"kind": t.kind, "layer_id": t.layer_id, "user_id": t.user_id, "label": t.label} for t in step.targets
        ],
    }


def _step_from_dict(data: dict[str, Any]) -> StepSpec:
    return StepSpec(
        position=int(data["position"]),
        wait_minutes=int(data["wait_minutes"]),
        only_critical=bool(data.get("only_critical", False)),
        window_start=_time_parse(data.get("window_start")),
        window_end=_time_parse(data.get("window_end")),
        weekdays=tuple(int(d) for d in data.get("weekdays", [])),
        targets=tuple(
            TargetSpec(kind=t["kind"], layer_id=t.get("layer_id"), user_id=t.get("user_id"), label=t.get("label", ""))
            for t in data.get("targets", [])
        ),
    )


# --- does a step apply? ----------------------------------------------------------------


def _in_window(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _window_day(local: dt.datetime, step: StepSpec) -> int:
    """The weekday that decides: for the after-midnight part of a wrapping window, the day before."""
    start, end = step.window_start, step.window_end
    if start is not None and end is not None and end < start and local.time() < end:
        return (local.weekday() - 1) % 7
    return local.weekday()


def skip_reason(step: StepSpec, instant: dt.datetime, time_zone: str, *, is_critical: bool) -> str | None:
    """Why `step` does not apply at `instant` (words for the page's log), or None when it applies."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    if step.only_critical and not is_critical:
        return "only for critical alerts"
    local = instant.astimezone(ZoneInfo(time_zone))
    start, end = step.window_start, step.window_end
    if start is not None and end is not None and not _in_window(local.time(), start, end):
        return f"outside {start:%H:%M}-{end:%H:%M} {time_zone}"
    if step.weekdays and _window_day(local, step) not in step.weekdays:
        return f"not on {WEEKDAY_NAMES[_window_day(local, step)]}"
    return None


def step_applies(step: StepSpec, instant: dt.datetime, time_zone: str, *, is_critical: bool) -> bool:
    return skip_reason(step, instant, time_zone, is_critical=is_critical) is None


# --- which step runs next --------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    step_index: int
    round_index: int
    reason: str


@dataclass(frozen=True)
class NextStep:
    """The step to run now, or none (`step_index` None) when the policy is exhausted."""

    step_index: int | None
    round_index: int
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def exhausted(self) -> bool:
        return self.step_index is None


def next_step(
    policy: PolicySpec, *, step_index: int, round_index: int, instant: dt.datetime, is_critical: bool
) -> NextStep:
    """The first step at or after the cursor that applies at `instant`, with the steps skipped on the way."""
    skipped: list[Skipped] = []
    count = len(policy.steps)
    step, round_ = step_index, round_index
    if count:
        while round_ <= policy.repeats:
            while step < count:
                reason = skip_reason(policy.steps[step], instant, policy.time_zone, is_critical=is_critical)
                if reason is None:
                    return NextStep(step, round_, tuple(skipped))
                skipped.append(Skipped(step, round_, reason))
                step += 1
            step, round_ = 0, round_ + 1
    return NextStep(None, max(round_, round_index), tuple(skipped))


def cursor_after(policy: PolicySpec, *, step_index: int, round_index: int) -> tuple[int, int]:
    """The cursor once `step_index` has run: the following step, or the first of the next round."""
    if step_index + 1 < len(policy.steps):
        return step_index + 1, round_index
    return 0, round_index + 1


def next_step_at(policy: PolicySpec, *, step_index: int, ran_at: dt.datetime) -> dt.datetime:
    return ran_at + dt.timedelta(minutes=policy.steps[step_index].wait_minutes)


def describe_step(step: StepSpec) -> str:
    """One line a person reads on a phone: "On call: Primary · then wait 5 min · 22:00-07:00"."""
    who = ", ".join(t.label or t.kind for t in step.targets) or "nobody"
    parts = [who, f"then wait {step.wait_minutes} min"]
    if step.only_critical:
        parts.append("critical alerts only")
    if step.window_start is not None and step.window_end is not None:
        parts.append(f"{step.window_start:%H:%M}-{step.window_end:%H:%M}")
    if step.weekdays:
        parts.append(", ".join(WEEKDAY_NAMES[d][:3] for d in sorted(step.weekdays)))
    return " · ".join(parts)

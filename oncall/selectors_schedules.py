"""Reads of schedules: the one final schedule every reader asks for.

Web pages, the API, the iCal feeds, the reminders and (next) the pager all get
their shifts from `layer_final_shifts`, which feeds the database's facts to the
pure rules of oncall/schedule.py, so an override can never be honoured by one
reader and ignored by another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from oncall import comptime
from oncall import schedule as rules
from oncall.models import (
    ApiToken,
    CompTimePolicy,
    Layer,
    LayerParticipant,
    Override,
    Schedule,
    SwapRequest,
    Team,
    User,
)
from oncall.selectors import is_manager, is_member, team_ids_for_user  # noqa: F401  (re-exported)

# How far back an interval query looks for overrides that started earlier.
FAIRNESS_WINDOW = timedelta(days=90)


def schedule_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Schedule]:
    return (
        Schedule.objects.filter(team__in=team_ids_for_user(user=user, token=token))
        .select_related("team")
        .prefetch_related(_layers_prefetch())
    )


def schedule_get_for_user(*, user: User, slug: str, token: ApiToken | None = None) -> Schedule:
    schedule = schedule_list_for_user(user=user, token=token).filter(slug=slug).first()
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


def _layers_prefetch() -> Prefetch:
    participants = LayerParticipant.objects.select_related("user").order_by("position")
    return Prefetch(
        "layers",
        queryset=Layer.objects.order_by("position").prefetch_related(Prefetch("participants", queryset=participants)),
    )


def team_schedules(*, team: Team) -> QuerySet[Schedule]:
    return team.schedules.select_related("team").prefetch_related(_layers_prefetch()).order_by("name")


def layer_rule(layer: Layer) -> rules.LayerRule:
    """The layer as plain values. Uses prefetched participants when present."""
    return rules.LayerRule(
        layer_id=layer.pk,
        time_zone=layer.schedule.time_zone,
        rotation_start_date=layer.rotation_start_date,
        handoff_time=layer.handoff_time,
        shift_length=layer.shift_length,
        shift_unit=layer.shift_unit,
        participants=tuple(p.user_id for p in layer.participants.all()),
    )


def override_rules(layers: Iterable[Layer], start: datetime, end: datetime) -> list[rules.OverrideRule]:
    """Overrides touching [start, end), oldest first, so the newest wins where they overlap."""
    return override_rules_for_layer_ids([layer.pk for layer in layers], start, end)


def override_rules_for_layer_ids(layer_ids: Iterable[int], start: datetime, end: datetime) -> list[rules.OverrideRule]:
    rows = Override.objects.filter(layer_id__in=list(layer_ids), start_at__lt=end, end_at__gt=start).order_by(
        "created_at", "pk"
    )
    return [rules.OverrideRule(layer_id=o.layer_id, user_id=o.user_id, start=o.start_at, end=o.end_at) for o in rows]


@dataclass(frozen=True)
class LayerShifts:
    layer: Layer
    shifts: list[rules.Shift]


def schedule_final_shifts(*, schedule: Schedule, start: datetime, end: datetime) -> list[LayerShifts]:
    """Final shifts of each layer of the schedule in [start, end): rotation plus overrides."""
    return schedules_final_shifts(schedules=[schedule], start=start, end=end)[0][1]


def schedules_final_shifts(
    *, schedules: Iterable[Schedule], start: datetime, end: datetime
) -> list[tuple[Schedule, list[LayerShifts]]]:
    """`schedule_final_shifts` of several schedules, with one query for all their overrides."""
    layers = {schedule: list(schedule.layers.all()) for schedule in schedules}
    overrides = override_rules([layer for found in layers.values() for layer in found], start, end)
    return [
        (
            schedule,
            [
                LayerShifts(layer=layer, shifts=rules.final_shifts(layer_rule(layer), overrides, start, end))
                for layer in found
            ],
        )
        for schedule, found in layers.items()
    ]


def shift_end(*, layer: Layer, shift: rules.Shift, horizon: timedelta = timedelta(days=92)) -> datetime:
    """When the person holding `shift` hands over, looking past the end it was clipped to."""
    start, end = shift.start, shift.start + horizon
    shifts = rules.final_shifts(layer_rule(layer), override_rules([layer], start, end), start, end)
    return shifts[0].end


def users_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.pk: u for u in User.objects.filter(pk__in=wanted)}


@dataclass(frozen=True)
class OnCallNow:
    schedule: Schedule
    layer: Layer
    user: User | None
    shift_end: datetime | None
    next_handoff: datetime | None


def on_call_now(*, schedules: Iterable[Schedule], at: datetime) -> list[OnCallNow]:
    """Who is on call on every layer of these schedules at `at`, with when that ends."""
    result: list[tuple[Schedule, Layer, rules.Shift | None, datetime | None]] = []
    # One minute of final shifts is enough to know who holds the layer and until when, but the
    # current shift may run for weeks: ask for a window long enough to see its end.
    for schedule, layer_shifts in schedules_final_shifts(schedules=schedules, start=at, end=at + timedelta(days=60)):
        for item in layer_shifts:
            current = item.shifts[0] if item.shifts else None
            result.append((schedule, item.layer, current, rules.next_handoff(layer_rule(item.layer), at)))
    people = users_by_id(shift.user_id for _s, _l, shift, _n in result if shift)
    return [
        OnCallNow(
            schedule=schedule,
            layer=layer,
            user=people.get(shift.user_id) if shift and shift.user_id else None,
            shift_end=shift.end if shift else None,
            next_handoff=nxt,
        )
        for schedule, layer, shift, nxt in result
    ]


@dataclass(frozen=True)
class UserShift:
    schedule: Schedule
    layer: Layer
    shift: rules.Shift


def user_shifts(*, user: User, start: datetime, end: datetime) -> list[UserShift]:
    """The person's final shifts on every schedule of their teams, in time order."""
    schedules = Schedule.objects.filter(team__in=team_ids_for_user(user=user)).prefetch_related(_layers_prefetch())
    found = [
        UserShift(schedule=schedule, layer=item.layer, shift=shift)
        for schedule, layer_shifts in schedules_final_shifts(
            schedules=schedules.select_related("team"), start=start, end=end
        )
        for item in layer_shifts
        for shift in item.shifts
        if shift.user_id == user.pk
    ]
    return sorted(found, key=lambda s: (s.shift.start, s.layer.position))


def team_load(*, team: Team, now: datetime) -> dict[int, tuple[float, float]]:
    """On-call and after-hours seconds per person over the trailing 90 days, all team schedules."""
    start = now - FAIRNESS_WINDOW
    shifts = [
        shift
        for _schedule, layer_shifts in schedules_final_shifts(schedules=team_schedules(team=team), start=start, end=now)
        for item in layer_shifts
        for shift in item.shifts
    ]
    return comptime.load_by_user(shifts, CompTimePolicy.of(team).team_night_rule())


def swap_suggested_takers(*, swaps: Iterable[SwapRequest], now: datetime) -> dict[int, list[User]]:
    """Swap id → teammates who could cover, fairest first (least after-hours, then least on-call time).

    The 90-day load is computed once per team, however many requests are open.
    """
    swaps = list(swaps)
    found: dict[int, list[User]] = {}
    loads: dict[int, dict[int, tuple[float, float]]] = {}
    members: dict[int, list[User]] = {}
    for swap in swaps:
        team = swap.layer.schedule.team
        if team.pk not in loads:
            loads[team.pk] = team_load(team=team, now=now)
            members[team.pk] = list(User.objects.filter(memberships__team=team, is_active=True).order_by("pk"))
        candidates = {m.pk: m for m in members[team.pk] if m.pk != swap.requester_id}
        found[swap.pk] = [candidates[i] for i in rules.fairest_takers(list(candidates), loads[team.pk])]
    return found


def open_swap_requests(*, schedules: Iterable[Schedule], now: datetime) -> QuerySet[SwapRequest]:
    return (
        SwapRequest.objects.filter(layer__schedule__in=list(schedules), status=SwapRequest.Status.OPEN, end_at__gt=now)
        .select_related("layer__schedule__team", "requester")
        .order_by("start_at")
    )


def upcoming_overrides(*, schedule: Schedule, now: datetime) -> QuerySet[Override]:
    return (
        Override.objects.filter(layer__schedule=schedule, end_at__gt=now)
        .select_related("layer", "user", "created_by")
        .order_by("start_at")
    )

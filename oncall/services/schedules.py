"""Writes with rules for schedules, layers, overrides and swap requests.

Who may do what: a team's managers shape its schedules and layers and arrange
cover for anyone; every member may cover a shift themselves and ask for cover.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.errors import ConflictError, DomainError
from oncall.models import Layer, LayerParticipant, Membership, Override, Schedule, SwapRequest, Team, User
from oncall.models.notifications import Event
from oncall.models.teams import new_feed_secret
from oncall.selectors import is_manager, is_member
from oncall.services.notifications import notify_user

# Overrides and swaps further ahead than this are almost always a typo in the year.
HORIZON = dt.timedelta(days=400)


def _require_manager(*, team: Team, by: User) -> None:
    if not is_manager(user=by, team=team):
        raise DomainError(f"Only managers of {team.name} can change its schedules.")


def _require_member(*, team: Team, user: User, what: str) -> None:
    if not is_member(user=user, team=team):
        raise DomainError(f"{user} is not a member of {team.name}, so cannot {what}.", field="user")


def _validated(instance: Schedule | Layer) -> None:
    try:
        instance.full_clean(exclude=["schedule"] if isinstance(instance, Layer) else None)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


@transaction.atomic
def schedule_create(
    *, team: Team, name: str, slug: str, by: User, time_zone: str | None = None, description: str = ""
) -> Schedule:
    _require_manager(team=team, by=by)
    schedule = Schedule(team=team, name=name, slug=slug, time_zone=time_zone or team.time_zone, description=description)
    _validated(schedule)
    schedule.save()
    return schedule


@transaction.atomic
def schedule_update(*, schedule: Schedule, by: User, **changes: str) -> Schedule:
    _require_manager(team=schedule.team, by=by)
    unknown = set(changes) - {"name", "time_zone", "description"}
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    for field, value in changes.items():
        setattr(schedule, field, value)
    _validated(schedule)
    schedule.save(update_fields=list(changes))
    return schedule


def _check_participants(*, team: Team, participants: Sequence[User]) -> None:
    member_ids = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    outsiders = [str(p) for p in participants if p.pk not in member_ids]
    if outsiders:
        raise DomainError(f"Not members of {team.name}: {', '.join(outsiders)}.", field="participants")


def _set_participants(layer: Layer, participants: Sequence[User]) -> None:
    layer.participants.all().delete()
    LayerParticipant.objects.bulk_create(
        LayerParticipant(layer=layer, user=user, position=i) for i, user in enumerate(participants)
    )


@transaction.atomic
def layer_create(
    *,
    schedule: Schedule,
    name: str,
    rotation_start_date: dt.date,
    by: User,
    participants: Sequence[User] = (),
    position: int | None = None,
    shift_length: int = 1,
    shift_unit: str = Layer.Unit.WEEKS,
    handoff_time: dt.time = dt.time(9, 0),
) -> Layer:
    """Adds a layer with its rotation. The same person may appear more than once in the order."""
    _require_manager(team=schedule.team, by=by)
    _check_participants(team=schedule.team, participants=participants)
    if position is None:
        position = max((layer.position for layer in schedule.layers.all()), default=0) + 1
    if schedule.layers.filter(position=position).exists():
        raise DomainError(f"This schedule already has a layer at position {position}.", field="position")
    layer = Layer(
        schedule=schedule,
        name=name,
        position=position,
        shift_length=shift_length,
        shift_unit=shift_unit,
        rotation_start_date=rotation_start_date,
        handoff_time=handoff_time,
    )
    _validated(layer)
    layer.save()
    _set_participants(layer, participants)
    return layer


LAYER_FIELDS = {"name", "shift_length", "shift_unit", "rotation_start_date", "handoff_time"}


@transaction.atomic
def layer_update(*, layer: Layer, by: User, participants: Sequence[User] | None = None, **changes: object) -> Layer:
    """Changes a layer's rotation and/or its participants' order in one step."""
    _require_manager(team=layer.schedule.team, by=by)
    unknown = set(changes) - LAYER_FIELDS
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    layer = Layer.objects.select_for_update().get(pk=layer.pk)
    for field, value in changes.items():
        setattr(layer, field, value)
    _validated(layer)
    if changes:
        layer.save(update_fields=list(changes))
    if participants is not None:
        _check_participants(team=layer.schedule.team, participants=participants)
        _set_participants(layer, participants)
    return layer


@transaction.atomic
def layer_delete(*, layer: Layer, by: User) -> None:
    _require_manager(team=layer.schedule.team, by=by)
    layer.delete()


def _check_interval(start_at: dt.datetime, end_at: dt.datetime, now: dt.datetime) -> None:
    if timezone.is_naive(start_at) or timezone.is_naive(end_at):
        raise DomainError("Give start and end with a time zone.")
    if end_at <= start_at:
        raise DomainError("The end must be after the start.", field="end_at")
    if end_at <= now:
        raise DomainError("That interval is already over; cover can only be arranged ahead.", field="end_at")
    if end_at > now + HORIZON:
        raise DomainError("That is more than 400 days ahead; check the year.", field="end_at")


@transaction.atomic
def override_create(
    *,
    layer: Layer,
    user: User,
    start_at: dt.datetime,
    end_at: dt.datetime,
    by: User,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Override:
    """Puts `user` on call on `layer` for the interval. Members cover for themselves; managers for anyone."""
    now = now or timezone.now()
    team = layer.schedule.team
    _require_member(team=team, user=by, what="arrange cover")
    if user.pk != by.pk:
        _require_manager(team=team, by=by)
    _require_member(team=team, user=user, what="be on call for it")
    _check_interval(start_at, end_at, now)
    return Override.objects.create(
        layer=layer, user=user, start_at=start_at, end_at=end_at, reason=reason[:200], created_by=by
    )


@transaction.atomic
def override_delete(*, override: Override, by: User) -> None:
    team = override.layer.schedule.team
    if override.created_by_id != by.pk and override.user_id != by.pk:
        _require_manager(team=team, by=by)
    override.delete()


@transaction.atomic
def swap_request_create(
    *,
    layer: Layer,
    requester: User,
    start_at: dt.datetime,
    end_at: dt.datetime,
    by: User,
    note: str = "",
    now: dt.datetime | None = None,
) -> SwapRequest:
    """Asks the team to cover `requester` on `layer`; a manager may ask on someone's behalf.

    Side effects: every other member is told (SWAP_REQUESTED), in this transaction.
    """
    now = now or timezone.now()
    team = layer.schedule.team
    _require_member(team=team, user=requester, what="ask for cover")
    if requester.pk != by.pk:
        _require_manager(team=team, by=by)
    _check_interval(start_at, end_at, now)
    swap = SwapRequest.objects.create(
        layer=layer, requester=requester, start_at=start_at, end_at=end_at, note=note[:200], created_by=by
    )
    teammates = User.objects.filter(memberships__team=team, is_active=True).exclude(pk=requester.pk)
    for mate in teammates:
        notify_user(
            user=mate,
            event=Event.SWAP_REQUESTED,
            dedup_key=f"swap:{swap.pk}:requested:{mate.pk}",
            subject=f"{requester} asks for cover on {layer.schedule.name} ({layer.name})",
            body=_swap_text(swap),
            payload={"swap_request": swap.pk, "layer": layer.pk},
            now=now,
        )
    return swap


def _swap_text(swap: SwapRequest) -> str:
    tz = swap.layer.schedule.time_zone
    start = swap.start_at.astimezone(ZoneInfo(tz))
    end = swap.end_at.astimezone(ZoneInfo(tz))
    text = f"{swap.requester} needs cover on {swap.layer} from {start:%a %d %b %H:%M} to {end:%a %d %b %H:%M} ({tz})."
    return f"{text}\n{swap.note}" if swap.note else text


@transaction.atomic
def swap_request_take(*, swap: SwapRequest, by: User, now: dt.datetime | None = None) -> SwapRequest:
    """`by` covers the request: it becomes an override. Two takers at once: the first wins.

    Side effects: an Override; the requester is told (SWAP_TAKEN).
    """
    now = now or timezone.now()
    swap = SwapRequest.objects.select_for_update().select_related("layer__schedule__team").get(pk=swap.pk)
    if swap.status != SwapRequest.Status.OPEN:
        raise ConflictError(f"This request is already {swap.get_status_display().lower()}.")
    if swap.requester_id == by.pk:
        raise DomainError("You cannot cover your own request; cancel it instead.")
    if swap.end_at <= now:
        raise ConflictError("This request's interval is already over.")
    _require_member(team=swap.layer.schedule.team, user=by, what="cover it")
    swap.override = Override.objects.create(
        layer=swap.layer,
        user=by,
        start_at=max(swap.start_at, now),
        end_at=swap.end_at,
        reason=f"Covers {swap.requester} (request #{swap.pk})",
        created_by=by,
    )
    swap.status = SwapRequest.Status.TAKEN
    swap.taken_by = by
    swap.decided_at = now
    swap.save(update_fields=["override", "status", "taken_by", "decided_at"])
    notify_user(
        user=swap.requester,
        event=Event.SWAP_TAKEN,
        dedup_key=f"swap:{swap.pk}:taken",
        subject=f"{by} covers you on {swap.layer.schedule.name} ({swap.layer.name})",
        body=_swap_text(swap) + f"\n{by} takes it.",
        payload={"swap_request": swap.pk, "override": swap.override.pk},
        now=now,
    )
    return swap


@transaction.atomic
def swap_request_cancel(*, swap: SwapRequest, by: User, now: dt.datetime | None = None) -> SwapRequest:
    now = now or timezone.now()
    swap = SwapRequest.objects.select_for_update().select_related("layer__schedule__team").get(pk=swap.pk)
    if swap.requester_id != by.pk and swap.created_by_id != by.pk:
        _require_manager(team=swap.layer.schedule.team, by=by)
    if swap.status != SwapRequest.Status.OPEN:
        raise ConflictError(f"This request is already {swap.get_status_display().lower()}.")
    swap.status = SwapRequest.Status.CANCELLED
    swap.decided_at = now
    swap.save(update_fields=["status", "decided_at"])
    return swap


def feed_secret_rotate(*, target: Schedule | User, by: User) -> str:
    """New secret for a calendar feed URL; the old URL stops working at once."""
    if isinstance(target, Schedule):
        _require_member(team=target.team, user=by, what="rotate its feed")
    elif target.pk != by.pk:
        raise DomainError("You can only rotate your own calendar feed.")
    target.feed_secret = new_feed_secret()
    target.save(update_fields=["feed_secret"])
    return target.feed_secret

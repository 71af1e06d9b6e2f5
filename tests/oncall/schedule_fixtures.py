"""Builders for schedule tests: a Payments schedule with a primary and a secondary layer."""

from __future__ import annotations

import datetime as dt

from oncall.models import Layer, LayerParticipant, Schedule, Team, User


def make_schedule(
    team: Team, people: list[User], *, slug: str = "payments-oncall", tz: str = "Europe/Berlin"
) -> Schedule:
    """Weekly rotations handing off Mondays 09:00 local, from Monday 2027-01-04."""
    schedule = Schedule.objects.create(team=team, name="Payments on-call", slug=slug, time_zone=tz)
    for position, name in ((1, "Primary"), (2, "Secondary")):
        layer = Layer.objects.create(
            schedule=schedule,
            name=name,
            position=position,
            shift_length=1,
            shift_unit=Layer.Unit.WEEKS,
            rotation_start_date=dt.date(2027, 1, 4),
            handoff_time=dt.time(9, 0),
        )
        order = people if position == 1 else people[1:] + people[:1]
        for i, user in enumerate(order):
            LayerParticipant.objects.create(layer=layer, user=user, position=i)
    return schedule


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)

"""The shift-reminder sweep: tells people before and when they come on call."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from oncall import selectors_schedules as sched
from oncall.models import Layer, Schedule, User
from oncall.models.notifications import Event
from oncall.reminders import DAY_BEFORE, reminder_instants
from oncall.schedule import Shift
from oncall.services.notifications import notify_user

# A reminder whose instant passed longer ago than this (beat was down) is dropped:
# telling someone at noon that their shift started at 09:00 helps nobody.
LATE_LIMIT = dt.timedelta(minutes=30)
SUBJECTS = {
    "day_before": "Tomorrow you are on call: {schedule} ({layer})",
    "evening_before": "Early start: you are on call from {start} ({schedule}, {layer})",
    "start": "You are on call now: {schedule} ({layer})",
}


def run_shift_reminders(*, now: dt.datetime | None = None) -> int:
    """Writes the reminders due in (now - LATE_LIMIT, now]; returns the notification rows they map to.

    Idempotent: each reminder's dedup key names the layer, person, shift start and kind,
    so a second run, or two beats at once, write nothing new. Its cost grows with the
    number of layers (it asks the rule module for one day of shifts per layer), which
    stays small next to pages and notifications.
    """
    now = now or timezone.now()
    # Shifts starting up to a day ahead have their day-before reminder due now.
    window_start, window_end = now - LATE_LIMIT, now + DAY_BEFORE + dt.timedelta(minutes=1)
    created = 0
    schedules = Schedule.objects.select_related("team").prefetch_related("layers__participants")
    for schedule in schedules:
        with transaction.atomic():
            created += _remind_schedule(schedule, now, window_start, window_end)
    return created


def _remind_schedule(schedule: Schedule, now: dt.datetime, window_start: dt.datetime, window_end: dt.datetime) -> int:
    created = 0
    for item in sched.schedule_final_shifts(schedule=schedule, start=window_start, end=window_end):
        previous_user = None
        for shift in item.shifts:
            # A shift "starting" at the window's edge was clipped there, and one that follows
            # the same person (an override running into their own rotation) is no handoff.
            is_handoff = shift.start > window_start and shift.user_id != previous_user
            previous_user = shift.user_id
            if shift.user_id is None or not is_handoff:
                continue
            for kind, due in reminder_instants(shift.start, schedule.time_zone).items():
                if now - LATE_LIMIT < due <= now:
                    created += _send(schedule, item.layer, shift, kind, now)
    return created


def _send(schedule: Schedule, layer: Layer, shift: Shift, kind: str, now: dt.datetime) -> int:
    user = User.objects.filter(pk=shift.user_id, is_active=True).first()
    if user is None:
        return 0
    zone = ZoneInfo(schedule.time_zone)
    # The sweep's window clips the shift; the message names its real end.
    start, end = shift.start.astimezone(zone), sched.shift_end(layer=layer, shift=shift).astimezone(zone)
    values = {"schedule": schedule.name, "layer": layer.name, "start": f"{start:%a %H:%M}"}
    body = (
        f"You are on call on {schedule.name} ({layer.name}) from {start:%a %d %b %H:%M} "
        f"until {end:%a %d %b %H:%M} {schedule.time_zone}."
    )
    rows = notify_user(
        user=user,
        event=Event.SHIFT_START if kind == "start" else Event.SHIFT_REMINDER,
        dedup_key=f"shift:{layer.pk}:{user.pk}:{int(shift.start.timestamp())}:{kind}",
        subject=SUBJECTS[kind].format(**values),
        body=body,
        payload={"schedule": schedule.slug, "layer": layer.pk, "start": shift.start.isoformat(), "kind": kind},
        now=now,
    )
    return len(rows)

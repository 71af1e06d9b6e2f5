"""Schedule pages: who is on call, calendars, overrides, swaps and feeds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import DomainError
from oncall import schedule as rules
from oncall import selectors
from oncall import selectors_schedules as sched
from oncall.forms import LayerForm, OverrideForm, ScheduleForm, SwapRequestForm
from oncall.models import Layer, Override, Schedule, SwapRequest, User
from oncall.services import schedules as services

CALENDAR_DAYS = 28
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=180)


@dataclass(frozen=True)
class Segment:
    layer: Layer
    user: User | None
    start: dt.datetime  # local
    end: dt.datetime  # local
    is_override: bool
    starts_today: bool
    ends_today: bool


@dataclass(frozen=True)
class Day:
    date: dt.date
    segments: list[Segment]

    @property
    def has_gap(self) -> bool:
        return any(s.user is None for s in self.segments)


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return rules.local_to_utc(dt.datetime.combine(day, dt.time(0, 0)), zone.key)


def calendar_days(
    layer_shifts: list[sched.LayerShifts], people: dict[int, User], zone: ZoneInfo, first: dt.date, count: int
) -> list[Day]:
    """Cuts each layer's final shifts at local midnights, one row per local day."""
    days = []
    for offset in range(count):
        date = first + dt.timedelta(days=offset)
        start, end = _local_midnight(date, zone), _local_midnight(date + dt.timedelta(days=1), zone)
        segments = [
            Segment(
                layer=item.layer,
                user=people.get(shift.user_id) if shift.user_id else None,
                start=max(shift.start, start).astimezone(zone),
                end=min(shift.end, end).astimezone(zone),
                is_override=shift.is_override,
                starts_today=shift.start > start,
                ends_today=shift.end < end,
            )
            for item in layer_shifts
            for shift in item.shifts
            if shift.start < end and shift.end > start
        ]
        days.append(Day(date=date, segments=segments))
    return days


def _schedule_calendar(schedule: Schedule, now: dt.datetime, count: int = CALENDAR_DAYS) -> list[Day]:
    zone = ZoneInfo(schedule.time_zone)
    first = now.astimezone(zone).date()
    start, end = _local_midnight(first, zone), _local_midnight(first + dt.timedelta(days=count), zone)
    layer_shifts = sched.schedule_final_shifts(schedule=schedule, start=start, end=end)
    people = sched.users_by_id(s.user_id for item in layer_shifts for s in item.shifts)
    return calendar_days(layer_shifts, people, zone, first, count)


def team_oncall(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's on-call page: now, next handoffs, four weeks ahead, open cover requests."""
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    now = timezone.now()
    schedules = list(sched.team_schedules(team=team))
    context = {
        "team": team,
        "now": now,
        "on_call": sched.on_call_now(schedules=schedules, at=now),
        "calendars": [(s, _schedule_calendar(s, now)) for s in schedules],
        "swaps": sched.open_swap_requests(schedules=schedules, now=now),
        "is_manager": sched.is_manager(user=request.user, team=team),
    }
    return render(request, "oncall/schedules/team_oncall.html", context)


def schedule_detail(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    return _render_schedule(request, schedule)


def _render_schedule(
    request: HttpRequest,
    schedule: Schedule,
    override_form: OverrideForm | None = None,
    swap_form: SwapRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    can_choose = sched.is_manager(user=request.user, team=schedule.team)
    swaps = list(sched.open_swap_requests(schedules=[schedule], now=now))
    takers = sched.swap_suggested_takers(swaps=swaps, now=now)
    context = {
        "schedule": schedule,
        "team": schedule.team,
        "now": now,
        "is_manager": can_choose,
        "on_call": sched.on_call_now(schedules=[schedule], at=now),
        "calendar": _schedule_calendar(schedule, now),
        "overrides": sched.upcoming_overrides(schedule=schedule, now=now),
        "swaps": [(swap, takers[swap.pk][:3]) for swap in swaps],
        "override_form": override_form or OverrideForm(schedule=schedule, user=request.user, can_choose=can_choose),
        "swap_form": swap_form or SwapRequestForm(schedule=schedule, user=request.user, can_choose=can_choose),
        "feed_url": request.build_absolute_uri(reverse("oncall:schedule-feed", args=[schedule.feed_secret])),
    }
    return render(request, "oncall/schedules/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
def schedule_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    form = ScheduleForm(request.POST or None, initial={"time_zone": team.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            schedule = services.schedule_create(team=team, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Created {schedule.name}. Add its primary layer next.")
            return redirect("oncall:layer-create", slug=schedule.slug)
    return render(request, "oncall/schedules/schedule_form.html", {"form": form, "team": team})


def _preview(
    schedule: Schedule, current: rules.LayerRule | None, form: LayerForm, now: dt.datetime
) -> dict[str, object]:
    """Shifts before and after the change, over four weeks or up to a week past the next DST change."""
    data = form.cleaned_data
    proposed = rules.LayerRule(
        layer_id=current.layer_id if current else 0,
        time_zone=schedule.time_zone,
        rotation_start_date=data["rotation_start_date"],
        handoff_time=data["handoff_time"],
        shift_length=data["shift_length"],
        shift_unit=data["shift_unit"],
        participants=tuple(u.pk for u in data["participants"]),
    )
    change = next_dst_change(schedule.time_zone, now)
    end = max(now + dt.timedelta(weeks=4), (change or now) + dt.timedelta(weeks=1))
    overrides = sched.override_rules_for_layer_ids([current.layer_id], now, end) if current else []
    before = rules.final_shifts(current, overrides, now, end) if current else []
    after = rules.final_shifts(proposed, overrides, now, end)
    people = sched.users_by_id(s.user_id for s in [*before, *after])
    zone = ZoneInfo(schedule.time_zone)

    def rows(shifts: list[rules.Shift]) -> list[dict[str, object]]:
        return [
            {
                "user": people.get(s.user_id) if s.user_id else None,
                "start": s.start.astimezone(zone),
                "end": s.end.astimezone(zone),
                "hours": round((s.end - s.start).total_seconds() / 3600, 1),
                "is_override": s.is_override,
            }
            for s in shifts
        ]

    return {"before": rows(before), "after": rows(after), "dst_change": change, "gaps": rules.gaps(after)}


def next_dst_change(time_zone: str, now: dt.datetime) -> dt.datetime | None:
    """The first instant within a year at which the zone's UTC offset changes."""
    zone = ZoneInfo(time_zone)
    offset = now.astimezone(zone).utcoffset()
    for hours in range(0, 366 * 24, 24):
        probe = now + dt.timedelta(hours=hours)
        if probe.astimezone(zone).utcoffset() != offset:
            low = probe - dt.timedelta(hours=24)
            while probe - low > dt.timedelta(minutes=1):
                mid = low + (probe - low) / 2
                low, probe = (mid, probe) if mid.astimezone(zone).utcoffset() == offset else (low, mid)
            return probe.replace(second=0, microsecond=0)
    return None


@require_http_methods(["GET", "POST"])
def layer_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    """Add or change a layer. "Preview" shows the shifts before and after without saving."""
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    layer = get_object_or_404(Layer, pk=pk, schedule=schedule) if pk else None
    initial = {"rotation_start_date": timezone.localdate(timezone=ZoneInfo(schedule.time_zone))}
    # Read before validation: a valid ModelForm writes the new values onto the instance.
    current = sched.layer_rule(layer) if layer else None
    form = LayerForm(request.POST or None, instance=layer, team=schedule.team, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = _preview(schedule, current, form, timezone.now())
        else:
            response = _save_layer(request, schedule, layer, form)
            if response:
                return response
    context = {"form": form, "schedule": schedule, "layer": layer, "preview": preview}
    return render(request, "oncall/schedules/layer_form.html", context)


def _save_layer(request: HttpRequest, schedule: Schedule, layer: Layer | None, form: LayerForm) -> HttpResponse | None:
    data = dict(form.cleaned_data)
    participants = data.pop("participants")
    try:
        if layer:
            services.layer_update(layer=layer, by=request.user, participants=participants, **data)
        else:
            services.layer_create(schedule=schedule, by=request.user, participants=participants, **data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
    messages.success(request, f"Saved layer {data['name']}.")
    return redirect(schedule)


@require_POST
def override_create(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    can_choose = sched.is_manager(user=request.user, team=schedule.team)
    form = OverrideForm(request.POST, schedule=schedule, user=request.user, can_choose=can_choose)
    if form.is_valid():
        try:
            services.override_create(
                layer=form.cleaned_data["layer"],
                user=form.cleaned_data["user"],
                start_at=form.cleaned_data["start_at"],
                end_at=form.cleaned_data["end_at"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Override added.")
            return redirect(schedule)
    return _render_schedule(request, schedule, override_form=form, status=400)


@require_POST
def override_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    override = get_object_or_404(Override, pk=pk, layer__schedule=schedule)
    try:
        services.override_delete(override=override, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Override removed.")
    return redirect(schedule)


@require_POST
def swap_create(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    can_choose = sched.is_manager(user=request.user, team=schedule.team)
    form = SwapRequestForm(request.POST, schedule=schedule, user=request.user, can_choose=can_choose)
    if form.is_valid():
        try:
            services.swap_request_create(
                layer=form.cleaned_data["layer"],
                requester=form.cleaned_data["requester"],
                start_at=form.cleaned_data["start_at"],
                end_at=form.cleaned_data["end_at"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Asked the team for cover. You will hear when someone takes it.")
            return redirect(schedule)
    return _render_schedule(request, schedule, swap_form=form, status=400)


@require_POST
def swap_decide(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    swap = get_object_or_404(SwapRequest, pk=pk, layer__schedule=schedule)
    act = {"take": services.swap_request_take, "cancel": services.swap_request_cancel}.get(action)
    if act is None:
        raise Http404("No such action.")
    try:
        act(swap=swap, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "You cover this shift now." if action == "take" else "Request cancelled.")
    return redirect(schedule)


@require_POST
def schedule_feed_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = sched.schedule_get_for_user(user=request.user, slug=slug)
    services.feed_secret_rotate(target=schedule, by=request.user)
    messages.success(request, "New calendar address. Subscriptions to the old one stop updating.")
    return redirect(schedule)


def my_shifts(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    shifts = sched.user_shifts(user=request.user, start=now, end=now + dt.timedelta(weeks=8))
    zone = ZoneInfo(request.user.time_zone)
    context = {
        "shifts": [(s, s.shift.start.astimezone(zone), s.shift.end.astimezone(zone)) for s in shifts],
        "zone": zone.key,
        "feed_url": request.build_absolute_uri(reverse("oncall:person-feed", args=[request.user.feed_secret])),
    }
    return render(request, "oncall/schedules/my_shifts.html", context)


@require_POST
def my_feed_rotate(request: HttpRequest) -> HttpResponse:
    services.feed_secret_rotate(target=request.user, by=request.user)
    messages.success(request, "New calendar address. Subscriptions to the old one stop updating.")
    return redirect("oncall:my-shifts")


def _ical(name: str, events: list[tuple[str, rules.Shift, str]]) -> HttpResponse:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Fireline//On-call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    stamp = timezone.now()
    for uid, shift, summary in events:
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", summary)
        cal.add_component(event)
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _shift_uid(layer: Layer, shift: rules.Shift) -> str:
    return f"{layer.pk}-{shift.user_id}-{int(shift.start.timestamp())}@fireline"


@login_not_required
@require_GET
def schedule_feed(request: HttpRequest, secret: str) -> HttpResponse:
    schedule = Schedule.objects.filter(feed_secret=secret).select_related("team").first()
    if schedule is None:
        raise Http404("No such feed.")
    now = timezone.now()
    layer_shifts = sched.schedule_final_shifts(schedule=schedule, start=now - FEED_PAST, end=now + FEED_AHEAD)
    people = sched.users_by_id(s.user_id for item in layer_shifts for s in item.shifts)
    events = [
        (_shift_uid(item.layer, s), s, f"{people[s.user_id]} on call · {schedule.name} ({item.layer.name})")
        for item in layer_shifts
        for s in item.shifts
        if s.user_id in people
    ]
    return _ical(f"{schedule.name} on-call", events)


@login_not_required
@require_GET
def person_feed(request: HttpRequest, secret: str) -> HttpResponse:
    user = User.objects.filter(feed_secret=secret, is_active=True).first()
    if user is None:
        raise Http404("No such feed.")
    now = timezone.now()
    shifts = sched.user_shifts(user=user, start=now - FEED_PAST, end=now + FEED_AHEAD)
    events = [(_shift_uid(s.layer, s.shift), s.shift, f"On call · {s.schedule.name} ({s.layer.name})") for s in shifts]
    return _ical(f"{user} on-call shifts", events)

"""After-hours comp time: the policy, holidays, work spans, the nightly grants and their decision.

Who may do what: everybody logs their own work; a team's managers also log work for
its members, edit the team's policy and holidays, decide grants and record time taken.
Spans from pages and incident roles are recorded by those apps (`work_log_record`) and
cannot be edited here: they are facts, not claims.

The grant job (`run_comp_time`, beat task `grant_comp_time`) reads the spans of the
last days, asks the rules in `oncall/comptime.py` how many real minutes each person
worked in each night that has ended, and grants comp time at most once per person,
team and night: the unique constraint decides, so two runs at once grant once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import ConflictError, DomainError
from oncall import comptime as rules
from oncall import schedule as schedule_rules
from oncall import selectors_schedules as sched
from oncall.models import (
    CompTimeCover,
    CompTimeGrant,
    CompTimePolicy,
    CompTimeUse,
    Holiday,
    Membership,
    Page,
    Team,
    User,
    WorkLog,
)
from oncall.models.notifications import Event
from oncall.selectors_comptime import comp_time_balance
from oncall.services.notifications import notify_user
from oncall.services.schedules import override_create

# Nights that ended this long ago are looked at again on every run, so a span recorded
# late (a page resolved mid-morning, a log entered the next day) still counts.
LOOKBACK = timedelta(days=7)
# A night is judged this long after it ends, so work running past the end is recorded first.
GRACE = timedelta(minutes=30)
# The longest window a night can have: a day off plus its night, one DST hour and a margin.
LONGEST_WINDOW = timedelta(hours=26)
LONGEST_SPAN = timedelta(hours=24)
# Manual logs older than the look-back would never be counted, so they are refused.
BACKDATE_LIMIT = LOOKBACK
POLICY_FIELDS = {
    "night_start",
    "night_end",
    "count_weekends",
    "count_holidays",
    "threshold_minutes",
    "grant_kind",
    "grant_hours",
}


# --- who may -----------------------------------------------------------------------------


def _require_manager(*, team: Team, by: User, what: str) -> None:
    if not sched.is_manager(user=by, team=team):
        raise DomainError(f"Only managers of {team.name} can {what}.")


def _require_member(*, team: Team, user: User) -> None:
    if not Membership.objects.filter(team=team, user=user).exists():
        raise DomainError(f"{user} is not a member of {team.name}.", field="user")


def _validated(instance: CompTimePolicy | Holiday | CompTimeUse, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


def _hours(value: Decimal | float | str, *, field: str = "hours") -> Decimal:
    """Hours as a Decimal in half-hour steps from 0.5 to 24."""
    try:
        hours = Decimal(str(value))
    except InvalidOperation as exc:
        raise DomainError("Give the hours as a number, e.g. 4 or 2.5.", field=field) from exc
    if not Decimal("0.5") <= hours <= Decimal("24"):
        raise DomainError("Hours must be between 0.5 and 24.", field=field)
    if hours % Decimal("0.5"):
        raise DomainError("Give the hours in half-hour steps, e.g. 2.5.", field=field)
    return hours.quantize(Decimal("0.1"))


# --- policy and holidays -----------------------------------------------------------------


def comp_time_policy_for(team: Team) -> CompTimePolicy:
    """The team's policy; the playbook's defaults are written the first time anyone asks."""
    policy, _created = CompTimePolicy.objects.get_or_create(team=team)
    return policy


@transaction.atomic
def comp_time_policy_update(*, team: Team, by: User, **changes: object) -> CompTimePolicy:
    _require_manager(team=team, by=by, what="change its comp-time policy")
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    policy = CompTimePolicy.objects.select_for_update().get(pk=comp_time_policy_for(team).pk)
    for name, value in changes.items():
        setattr(policy, name, value)
    if policy.night_start == policy.night_end:
        raise DomainError("The night must end at another time than it starts.", field="night_end")
    if "grant_hours" in changes:
        policy.grant_hours = _hours(policy.grant_hours, field="grant_hours")
    _validated(policy, exclude=["team"])
    if changes:
        policy.save(update_fields=[*changes, "updated_at"])
    return policy


@transaction.atomic
def holiday_add(*, team: Team, date: date, name: str, by: User) -> Holiday:
    _require_manager(team=team, by=by, what="change its holidays")
    name = name.strip()
    if not name:
        raise DomainError("Name the holiday, e.g. Thanksgiving.", field="name")
    if Holiday.objects.filter(team=team, date=date).exists():
        raise DomainError(f"{date:%d %b %Y} is already a holiday of {team.name}.", field="date")
    holiday = Holiday(team=team, date=date, name=name)
    _validated(holiday, exclude=["team"])
    holiday.save()
    return holiday


@transaction.atomic
def holiday_remove(*, holiday: Holiday, by: User) -> None:
    _require_manager(team=holiday.team, by=by, what="change its holidays")
    holiday.delete()


# --- work spans --------------------------------------------------------------------------


def _check_span(start_at: datetime, end_at: datetime) -> None:
    if timezone.is_naive(start_at) or timezone.is_naive(end_at):
        raise DomainError("Give start and end with a time zone.")
    if end_at <= start_at:
        raise DomainError("The end must be after the start.", field="end_at")
    if end_at - start_at > LONGEST_SPAN:
        raise DomainError("A work span can be at most 24 hours; log longer work day by day.", field="end_at")


def _check_manual_span(start_at: datetime, end_at: datetime, now: datetime) -> None:
    _check_span(start_at, end_at)
    if end_at > now:
        raise DomainError("That work has not ended yet; log it once it is done.", field="end_at")
    if end_at < now - BACKDATE_LIMIT:
        raise DomainError(
            "That is more than 7 days ago, past the comp-time look-back; ask your manager.", field="start_at"
        )


def _require_logger(*, team: Team, user: User, by: User) -> None:
    """A person logs their own work; a manager may log it for a member."""
    _require_member(team=team, user=user)
    if user.pk != by.pk:
        _require_manager(team=team, by=by, what="log work for someone else")


def work_log_record(
    *,
    user: User,
    team: Team,
    start_at: datetime,
    end_at: datetime,
    source: str,
    reference: str,
    note: str = "",
    page: Page | None = None,
) -> WorkLog:
    """Records a span worked elsewhere (a page, an incident role), once per (user, reference).

    For the apps that know when someone worked: a retried call returns the first row.
    """
    if source not in WorkLog.Source.values or source == WorkLog.Source.MANUAL:
        raise DomainError("Recorded spans come from a page or an incident; people log manual work.", field="source")
    if not reference:
        raise DomainError("A recorded span needs its reference, e.g. page:42.", field="reference")
    _check_span(start_at, end_at)
    with transaction.atomic():
        log, _created = WorkLog.objects.get_or_create(
            user=user,
            reference=reference[:100],
            defaults={
                "team": team,
                "start_at": start_at,
                "end_at": end_at,
                "source": source,
                "page": page,
                "note": note[:300],
            },
        )
    return log


@transaction.atomic
def work_log_create(
    *,
    user: User,
    team: Team,
    start_at: datetime,
    end_at: datetime,
    note: str,
    by: User,
    now: datetime | None = None,
) -> WorkLog:
    """Logs after-hours work entered by hand (the person, or a manager for a member)."""
    now = now or timezone.now()
    _require_logger(team=team, user=user, by=by)
    _check_manual_span(start_at, end_at, now)
    if not note.strip():
        raise DomainError("Say briefly what the work was, e.g. “restarted the payouts worker”.", field="note")
    return WorkLog.objects.create(
        user=user,
        team=team,
        start_at=start_at,
        end_at=end_at,
        source=WorkLog.Source.MANUAL,
        note=note.strip()[:300],
        created_by=by,
    )


def _require_editable(log: WorkLog, by: User) -> None:
    if log.source != WorkLog.Source.MANUAL:
        raise DomainError(f"This span was recorded from {log.get_source_display().lower()}; it cannot be changed.")
    _require_logger(team=log.team, user=log.user, by=by)


@transaction.atomic
def work_log_update(
    *,
    log: WorkLog,
    by: User,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> WorkLog:
    now = now or timezone.now()
    log = WorkLog.objects.select_for_update().select_related("team", "user").get(pk=log.pk)
    _require_editable(log, by)
    start_at, end_at = start_at or log.start_at, end_at or log.end_at
    _check_manual_span(start_at, end_at, now)
    if note is not None and not note.strip():
        raise DomainError("Say briefly what the work was.", field="note")
    log.start_at, log.end_at = start_at, end_at
    if note is not None:
        log.note = note.strip()[:300]
    log.save(update_fields=["start_at", "end_at", "note"])
    return log


@transaction.atomic
def work_log_delete(*, log: WorkLog, by: User) -> None:
    _require_editable(log, by)
    log.delete()


# --- the grant job -----------------------------------------------------------------------


@dataclass(frozen=True)
class _TeamFacts:
    team: Team
    policy: CompTimePolicy
    rule: rules.NightRule


def _team_facts(team_ids: set[int]) -> dict[int, _TeamFacts]:
    """Teams, policies and holidays in three queries (defaults written for teams without a policy)."""
    teams = {t.pk: t for t in Team.objects.filter(pk__in=team_ids)}
    policies = {p.team_id: p for p in CompTimePolicy.objects.filter(team_id__in=team_ids)}
    for team_id in teams.keys() - policies.keys():
        policies[team_id] = comp_time_policy_for(teams[team_id])
    holidays: dict[int, list[date]] = defaultdict(list)
    for team_id, day in Holiday.objects.filter(team_id__in=team_ids).values_list("team_id", "date"):
        holidays[team_id].append(day)
    return {
        team_id: _TeamFacts(
            team, policies[team_id], policies[team_id].night_rule(holidays=holidays[team_id], time_zone=team.time_zone)
        )
        for team_id, team in teams.items()
    }


@dataclass(frozen=True)
class Earned:
    user_id: int
    team_id: int
    night_of: date
    worked_minutes: int


def nights_earned(*, now: datetime) -> list[Earned]:
    """Every (person, team, night) of the look-back that earned comp time, granted or not."""
    since = now - LOOKBACK - LONGEST_WINDOW
    spans: dict[tuple[int, int], list[rules.Span]] = defaultdict(list)
    rows = WorkLog.objects.filter(end_at__gt=since, start_at__lt=now).values_list(
        "team_id", "user_id", "start_at", "end_at"
    )
    for team_id, user_id, start_at, end_at in rows:
        spans[(team_id, user_id)].append(rules.Span(start_at, end_at))
    facts = _team_facts({team_id for team_id, _user in spans})
    earned = []
    for (team_id, user_id), worked in sorted(spans.items()):
        team = facts[team_id]
        for night, minutes in rules.minutes_by_night(team.rule, worked).items():
            close = rules.night_window(team.rule, night).end
            judged = now - LOOKBACK < close <= now - GRACE
            if judged and rules.earns(minutes, team.policy.threshold_minutes):
                earned.append(Earned(user_id, team_id, night, minutes))
    return earned


def run_comp_time(*, now: datetime) -> int:
    """Grants comp time for the nights of the look-back; returns how many grants are new.

    Nights already granted are skipped in one query; the rest are created one
    transaction each, so one failing grant does not hold back the others.
    """
    earned = nights_earned(now=now)
    if not earned:
        return 0
    granted = set(
        CompTimeGrant.objects.filter(
            team_id__in={e.team_id for e in earned}, night_of__gte=min(e.night_of for e in earned)
        ).values_list("user_id", "team_id", "night_of")
    )
    created = 0
    for item in earned:
        if (item.user_id, item.team_id, item.night_of) not in granted:
            created += comp_time_grant_create(earned=item, now=now) is not None
    return created


@transaction.atomic
def comp_time_grant_create(*, earned: Earned, now: datetime) -> CompTimeGrant | None:
    """Grants one night, unless it is granted already (then None).

    Side effects: for a morning off, proposed covers of the person's shifts the next
    morning (the fairest teammate each); COMP_TIME notifications to the person and the
    team's managers, deduplicated per grant.
    """
    team = Team.objects.get(pk=earned.team_id)
    policy = comp_time_policy_for(team)
    grant, created = CompTimeGrant.objects.get_or_create(
        user_id=earned.user_id,
        team=team,
        night_of=earned.night_of,
        defaults={
            "worked_minutes": earned.worked_minutes,
            "hours": policy.grant_hours,
            "kind": policy.grant_kind,
            "created_at": now,
        },
    )
    if not created:
        return None
    if grant.kind == CompTimePolicy.Grant.MORNING_OFF:
        _propose_covers(grant, policy.team_night_rule(), now)
    _notify_granted(grant, now)
    return grant


def _propose_covers(grant: CompTimeGrant, rule: rules.NightRule, now: datetime) -> list[CompTimeCover]:
    """Covers for the person's own final shifts in the morning off, from the one final schedule."""
    morning = rules.morning_cover(rule, grant.night_of, grant.hours)
    if morning.end <= now:
        return []
    mine = [
        (item.layer, shift)
        for schedule in sched.team_schedules(team=grant.team)
        for item in sched.schedule_final_shifts(schedule=schedule, start=morning.start, end=morning.end)
        for shift in item.shifts
        if shift.user_id == grant.user_id
    ]
    if not mine:
        return []
    taker = _fairest_taker(grant, now)
    return CompTimeCover.objects.bulk_create(
        CompTimeCover(grant=grant, layer=layer, start_at=shift.start, end_at=shift.end, proposed_user_id=taker)
        for layer, shift in mine
    )


def _fairest_taker(grant: CompTimeGrant, now: datetime) -> int | None:
    """The teammate with the least after-hours load, leaving out whoever was up that night too."""
    tired = CompTimeGrant.objects.filter(team=grant.team, night_of=grant.night_of).values_list("user_id", flat=True)
    candidates = (
        User.objects.filter(memberships__team=grant.team, is_active=True)
        .exclude(pk__in=tired)
        .values_list("pk", flat=True)
    )
    order = schedule_rules.fairest_takers(list(candidates), sched.team_load(team=grant.team, now=now))
    return order[0] if order else None


def grants_url(team: Team) -> str:
    return settings.SITE_URL + reverse("oncall:team-comp-time", kwargs={"slug": team.slug})


def my_url() -> str:
    return settings.SITE_URL + reverse("oncall:my-comp-time")


def _describe(grant: CompTimeGrant) -> str:
    zone = ZoneInfo(grant.team.time_zone)
    lines = [
        f"{grant.user} worked {grant.worked_minutes} minutes after hours in the night of "
        f"{grant.night_of:%a %d %b %Y} ({grant.team.name}): {grant.hours} h of comp time, "
        f"{grant.get_kind_display().lower()}."
    ]
    for cover in grant.covers.select_related("layer__schedule", "proposed_user"):
        who = cover.proposed_user or "nobody (no teammate is free)"
        lines.append(
            f"Proposed cover on {cover.layer}: {who}, "
            f"{cover.start_at.astimezone(zone):%a %H:%M} to {cover.end_at.astimezone(zone):%H:%M} ({zone.key})."
        )
    return "\n".join(lines)


def _team_managers(team: Team) -> list[User]:
    return list(
        User.objects.filter(memberships__team=team, memberships__role=Membership.Role.MANAGER, is_active=True).order_by(
            "pk"
        )
    )


def _notify_granted(grant: CompTimeGrant, now: datetime) -> None:
    text = _describe(grant)
    person = grant.user
    notify_user(
        user=person,
        event=Event.COMP_TIME,
        dedup_key=f"comptime:{grant.pk}:granted:{person.pk}",
        subject=f"Comp time: {grant.hours} h for the night of {grant.night_of:%d %b}",
        body=f"{text}\nYour manager approves it; see {my_url()}",
        payload={"grant": grant.pk, "status": grant.status},
        now=now,
    )
    for manager in _team_managers(grant.team):
        if manager.pk == person.pk:
            continue
        notify_user(
            user=manager,
            event=Event.COMP_TIME,
            dedup_key=f"comptime:{grant.pk}:granted:{manager.pk}",
            subject=f"Comp time to approve: {person}, night of {grant.night_of:%d %b}",
            body=f"{text}\nApprove, adjust or decline: {grants_url(grant.team)}",
            payload={"grant": grant.pk, "status": grant.status},
            now=now,
        )


# --- the manager's decision --------------------------------------------------------------


@transaction.atomic
def comp_time_grant_decide(
    *,
    grant: CompTimeGrant,
    by: User,
    status: str,
    hours: Decimal | float | str | None = None,
    note: str = "",
    cover_user: User | None = None,
    now: datetime | None = None,
) -> CompTimeGrant:
    """Approves (optionally with other hours or another cover) or declines a proposed grant.

    Side effects: on approval, one Override per proposed cover still ahead, for the
    proposed teammate or `cover_user`; COMP_TIME notifications to the person and to
    each person now covering.
    """
    now = now or timezone.now()
    grant = CompTimeGrant.objects.select_for_update().select_related("team", "user").get(pk=grant.pk)
    _require_manager(team=grant.team, by=by, what="decide comp time")
    if status not in (CompTimeGrant.Status.APPROVED, CompTimeGrant.Status.DECLINED):
        raise DomainError("Decide with approved or declined.", field="status")
    if grant.status != CompTimeGrant.Status.PROPOSED:
        raise ConflictError(f"This grant is already {grant.get_status_display().lower()}.")
    if cover_user is not None and cover_user.pk == grant.user_id:
        raise DomainError(f"{cover_user} is the one taking the morning off; choose a teammate.", field="cover_user")
    covered: list[CompTimeCover] = []
    if status == CompTimeGrant.Status.APPROVED:
        grant.hours = _hours(hours) if hours is not None else grant.hours
        covered = _create_overrides(grant, by=by, cover_user=cover_user, now=now)
    grant.status, grant.decided_by, grant.decided_at, grant.note = status, by, now, note.strip()[:300]
    grant.save(update_fields=["status", "hours", "decided_by", "decided_at", "note"])
    _notify_decided(grant, covered, now)
    return grant


def _create_overrides(grant: CompTimeGrant, *, by: User, cover_user: User | None, now: datetime) -> list[CompTimeCover]:
    covered = []
    for cover in grant.covers.select_related("layer__schedule__team", "proposed_user"):
        taker = cover_user or cover.proposed_user
        if taker is None or cover.end_at <= now:
            continue
        cover.override = override_create(
            layer=cover.layer,
            user=taker,
            start_at=max(cover.start_at, now),
            end_at=cover.end_at,
            by=by,
            reason=f"Comp time: covers {grant.user}'s morning off after the night of {grant.night_of:%d %b}",
            now=now,
        )
        cover.save(update_fields=["override"])
        covered.append(cover)
    return covered


def _notify_decided(grant: CompTimeGrant, covered: list[CompTimeCover], now: datetime) -> None:
    decision = grant.get_status_display().lower()
    body = f"{grant.decided_by} {decision} {grant.hours} h of comp time for the night of {grant.night_of:%a %d %b}."
    if grant.note:
        body += f"\n{grant.note}"
    zone = ZoneInfo(grant.team.time_zone)
    for cover in covered:
        body += f"\n{cover.override.user} covers you on {cover.layer} until {cover.end_at.astimezone(zone):%H:%M}."
    notify_user(
        user=grant.user,
        event=Event.COMP_TIME,
        dedup_key=f"comptime:{grant.pk}:decided",
        subject=f"Comp time {decision}: night of {grant.night_of:%d %b}",
        body=f"{body}\n{my_url()}",
        payload={"grant": grant.pk, "status": grant.status, "hours": str(grant.hours)},
        now=now,
    )
    for cover in covered:
        override = cover.override
        notify_user(
            user=override.user,
            event=Event.COMP_TIME,
            dedup_key=f"comptime:{grant.pk}:cover:{override.pk}",
            subject=f"You cover {grant.user} on {cover.layer.schedule.name} ({cover.layer.name})",
            body=(
                f"{grant.user} has the morning off after a night of work. You are on call on {cover.layer} from "
                f"{override.start_at.astimezone(zone):%a %d %b %H:%M} to "
                f"{override.end_at.astimezone(zone):%H:%M} ({zone.key})."
            ),
            payload={"grant": grant.pk, "override": override.pk},
            now=now,
        )


# --- time taken --------------------------------------------------------------------------


@transaction.atomic
def comp_time_use_create(
    *, team: Team, user: User, taken_on: date, hours: Decimal | float | str, by: User, note: str = ""
) -> CompTimeUse:
    """Records comp time taken; never more than the person has left."""
    _require_manager(team=team, by=by, what="record comp time taken")
    # The membership row is the lock: two uses recorded at once cannot both spend the same hours.
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if membership is None:
        raise DomainError(f"{user} is not a member of {team.name}.", field="user")
    hours = _hours(hours)
    left = comp_time_balance(team=team, user=user).left
    if hours > left:
        raise DomainError(f"{user} has {left} h left; that is less than {hours} h.", field="hours")
    return CompTimeUse.objects.create(
        team=team, user=user, taken_on=taken_on, hours=hours, note=note.strip()[:300], created_by=by
    )
